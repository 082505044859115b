"""Malformed intents on the bus are dead-lettered with a clear reason; trading carries on."""

from __future__ import annotations

import math
from typing import Any

from quantum_trader.bus.messages import Topic
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed
from quantum_trader.pipeline import build_pipeline
from quantum_trader.settings import Settings

GOOD: dict[str, Any] = {
    "intent_id": "ext-1", "ts": 1_704_067_200_000, "symbol": "BTCUSDT", "side": "BUY",
    "confidence": 0.8, "entry_price": 30_000, "stop_loss": 29_700, "take_profit": 30_400,
    "margin_usd": 200, "leverage": 10,
}  # fmt: skip

MALFORMED: list[tuple[Any, str]] = [
    ({k: v for k, v in GOOD.items() if k != "entry_price"}, "entry_price: missing field"),
    ({**GOOD, "entry_price": math.nan}, "entry_price: must be finite"),
    ({**GOOD, "confidence": 1.7}, "confidence: must be in [0, 1]"),
    ({**GOOD, "symbol": "DOGEUSDT"}, "unknown symbol 'DOGE/USDT:USDT'"),
    ({**GOOD, "leverage": "ten"}, "leverage: expected a number"),
    ({**GOOD, "margin_usd": [200]}, "margin_usd: expected a number"),
    ("BUY BTC NOW", "expected TradeIntent, got str"),
]


async def test_malformed_intents_are_dead_lettered_and_trading_continues() -> None:
    settings = Settings()
    feed = SyntheticFeed(
        settings.signals.symbols, seed=7, speed=None, warmup=300, limit=1_500, drift=TREND_DRIFT
    )
    p = build_pipeline(settings, feed)
    p.bus.start()
    for raw, _ in MALFORMED:
        assert not await p.bus.publish(Topic.INTENT, raw)
    await p.feed.run()
    await p.bus.drain()
    await p.bus.stop()
    letters = list(p.bus.dead_letters)[: len(MALFORMED)]
    for letter, (_, reason) in zip(letters, MALFORMED, strict=True):
        assert letter.topic == "trade.intent" and letter.where == "publish"
        assert reason in letter.error, letter.error
    assert p.bus.counters["trade.intent"].dead_lettered == len(MALFORMED)
    # the daemon kept trading after the garbage
    assert p.book.closed_count > 0
    assert p.paper is not None and p.paper.engine.liquidations == 0
    for mp in p.book.positions.values():
        assert mp.stop_order_id in {o.id for o in p.paper.engine.open_orders(mp.symbol)}


async def test_a_valid_external_intent_trades() -> None:
    settings = Settings(signals={"min_confidence": 1.0})  # only the external intent trades
    feed = SyntheticFeed(
        ("BTC/USDT:USDT",), seed=3, speed=None, warmup=5, limit=10, drift=TREND_DRIFT
    )
    p = build_pipeline(settings, feed)
    p.bus.start()
    await p.feed.run()  # prices and the clock
    assert p.paper is not None
    price = p.paper.engine.last["BTC/USDT:USDT"]
    assert await p.bus.publish(
        Topic.INTENT,
        {**GOOD, "entry_price": price, "stop_loss": price * 0.99, "take_profit": price * 1.01},
    )
    await p.bus.drain()
    await p.bus.stop()
    mp = p.book.positions["BTC/USDT:USDT"]
    assert mp.stop_order_id in {o.id for o in p.paper.engine.open_orders("BTC/USDT:USDT")}


class _BrokenClock:
    """A clock that fails once the entry has filled: the worst moment."""

    def __init__(self) -> None:
        self.calls = 0

    def now_ms(self) -> int:
        raise RuntimeError("clock exploded")


async def test_a_failure_right_after_the_fill_closes_the_position() -> None:
    settings = Settings(signals={"min_confidence": 1.0})
    feed = SyntheticFeed(
        ("BTC/USDT:USDT",), seed=3, speed=None, warmup=5, limit=10, drift=TREND_DRIFT
    )
    p = build_pipeline(settings, feed)
    p.bus.start()
    await p.feed.run()
    assert p.paper is not None
    price = p.paper.engine.last["BTC/USDT:USDT"]
    p.execution.planner.clock = _BrokenClock()  # fails while the plan is built, after the fill
    await p.bus.publish(
        Topic.INTENT,
        {**GOOD, "entry_price": price, "stop_loss": price * 0.99, "take_profit": price * 1.01},
    )
    await p.bus.drain()
    await p.bus.stop()
    assert p.paper.engine.positions == {}, "no position may stay open without a stop"
    assert p.execution.emergency_closes == 1
    assert "clock exploded" in p.bus.dead_letters[-1].error
