"""Hand-written fakes for component tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from quantum_trader.bus.messages import CandleEvent
from quantum_trader.core.sizing import MarketRules
from quantum_trader.core.types import Candle
from quantum_trader.exchange.paper import PaperExchange
from quantum_trader.exchange.paper_rules import PaperConfig

Hook = Callable[[], Awaitable[None]]


class ScriptedFeed:
    """Yields the given candles in order; ``hooks[k]`` runs (and may assert or inject) before the
    k-th candle is yielded."""

    name = "scripted"
    simulated = True

    def __init__(
        self,
        symbol: str,
        ohlc: list[tuple[float, float, float, float]],
        start_ts: int,
        hooks: dict[int, Hook] | None = None,
        timeframe_ms: int = 60_000,
        funding_rate: float | None = None,
    ) -> None:
        self.symbols = (symbol,)
        self.symbol = symbol
        self.ohlc = ohlc
        self.start_ts = start_ts
        self.hooks = hooks or {}
        self.timeframe_ms = timeframe_ms
        self.funding_rate = funding_rate

    async def events(self) -> AsyncIterator[CandleEvent]:
        for k, (o, h, lo, c) in enumerate(self.ohlc):
            hook = self.hooks.get(k)
            if hook is not None:
                await hook()
            candle = Candle(self.start_ts + k * self.timeframe_ms, o, h, lo, c, 1.0)
            yield CandleEvent(self.symbol, candle, self.timeframe_ms, self.funding_rate)


def scripted_paper() -> PaperExchange:
    """The scripted scenarios' exchange: taker 0.05 %, maker 0.02 %, slippage 0.05 %, tick 0.01,
    step 0.001, minimum notional 5 (the hand computations in the tests use these)."""
    rules = MarketRules(qty_step=0.001, min_qty=0.001, min_notional=5, price_tick=0.01)
    return PaperExchange(
        PaperConfig(
            taker_fee=0.0005, maker_fee=0.0002, slippage=0.0005, auto_rules=False,
            default_rules=rules,
        )
    )  # fmt: skip


async def run_through(p: Any) -> None:
    """Drive a pipeline's feed to its end on the bus and let every reaction settle."""
    p.bus.start()
    await p.feed.run()
    await p.bus.drain()
    await p.bus.stop()


class SlowExchange:
    """The paper exchange with a delay on every call (a REST round trip), or only on the calls
    named in ``only``."""

    def __init__(self, paper: PaperExchange, delay: float, only: frozenset[str] = frozenset()):
        self.paper, self.delay, self.only = paper, delay, only
        self.name, self.order_expiry_ms = "slow-paper", 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.paper, name)
        if not asyncio.iscoroutinefunction(target) or (self.only and name not in self.only):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(self.delay)
            return await target(*args, **kwargs)

        return call
