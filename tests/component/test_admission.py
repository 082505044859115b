"""Issue 10, item 2: position limits hold on the live (queued) bus with a slow exchange.

Eight intents for eight symbols arrive at once (one candle close, a strategy — or an external engine
— that read the book before any of them filled); every exchange call takes 40 ms. Execution admits
each intent itself, reserving the slot and the margin before its first exchange call: exactly
``max_positions`` open, the rest rejected with the reason, and two intents on one symbol never make
two positions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from quantum_trader.bus.messages import CandleEvent, OrderEvent, Topic
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.types import Candle, Side
from quantum_trader.exchange.paper import PaperExchange
from quantum_trader.pipeline import build_pipeline
from quantum_trader.settings import Settings
from tests.component.fakes import SlowExchange
from tests.component.test_trade_lifecycle import T0, _intent

SYMBOLS = [f"{c}/USDT:USDT" for c in ("BTC", "ETH", "BNB", "SOL", "XRP", "ADA", "DOGE", "TRX")]


class LiveLikeFeed:
    """A feed that is not simulated: the pipeline gets the queued bus, as live does."""

    name = "live-like"
    simulated = False
    symbols = tuple(SYMBOLS)
    timeframe_ms = 60_000

    async def events(self) -> AsyncIterator[CandleEvent]:
        await asyncio.sleep(3600)
        yield CandleEvent(SYMBOLS[0], Candle(T0, 1, 1, 1, 1, 1), 60_000)


def _intent_for(symbol: str, k: int) -> TradeIntent:
    return replace(_intent(Side.LONG), intent_id=f"A-{k}-{symbol}", symbol=symbol)


async def _run(
    intents: list[TradeIntent], max_positions: int = 3, max_risk: float = 0.01
) -> tuple[Any, list[str]]:
    paper = PaperExchange()
    for s in SYMBOLS:
        paper.on_candle(s, Candle(T0, 100.0, 100.0, 100.0, 100.0, 1.0))
    settings = Settings(
        risk={"max_positions": max_positions}, sizing={"max_risk_per_trade": max_risk}
    )
    p = build_pipeline(settings, LiveLikeFeed(), exchange=SlowExchange(paper, 0.04))  # type: ignore[arg-type]
    assert not p.bus.inline
    rejected: list[str] = []

    async def on_rejected(e: OrderEvent) -> None:
        rejected.append(e.reason)

    p.bus.subscribe("test", Topic.ORDER_REJECTED, on_rejected)
    p.bus.start()
    for intent in intents:
        assert await p.bus.publish(Topic.INTENT, intent)
    await p.bus.drain()
    await p.bus.stop()
    return paper, rejected


async def test_eight_intents_at_once_open_exactly_max_positions() -> None:
    paper, rejected = await _run([_intent_for(s, k) for k, s in enumerate(SYMBOLS)])
    assert len(paper.engine.positions) == 3
    assert len(rejected) == 5
    assert all("max_positions" in r for r in rejected), rejected


async def test_two_intents_on_one_symbol_make_one_position() -> None:
    paper, rejected = await _run([_intent_for(SYMBOLS[0], 1), _intent_for(SYMBOLS[0], 2)])
    assert len(paper.engine.positions) == 1
    assert len(rejected) == 1 and "already" in rejected[0]


async def test_margin_reserved_before_the_exchange_is_asked() -> None:
    """Four intents of 2,500 USDT margin (the risk cap lifted): under the 60 % cap on 10,000 USDT of
    equity two fit; the others are refused before the exchange is asked."""
    big = [replace(_intent_for(s, k), margin_usd=2_500.0) for k, s in enumerate(SYMBOLS[:4])]
    paper, rejected = await _run(big, max_positions=8, max_risk=1.0)
    assert len(paper.engine.positions) == 2
    assert all("margin" in r for r in rejected) and len(rejected) == 2, rejected
