"""What is decided is what is placed (issue 27, item 1): Phase 3C's exit adaptation scales the
levels, and the resting TP limits and the exchange stop carry exactly the scaled levels — with
execution on, on both bus modes, the paper exchange answering slowly as live. The decision the
strategy journals and publishes is the plan execution placed (leverage, quantity, levels)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from quantum_trader.bus.messages import (
    CandleEvent,
    Features,
    PositionClosed,
    PositionOpened,
    SignalEvent,
    Topic,
)
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.levels import level_prices
from quantum_trader.core.types import Candle, Consensus, Regime, Side, Signal
from quantum_trader.exchange.base import OrderType
from quantum_trader.pipeline import Pipeline, build_pipeline
from quantum_trader.settings import Settings
from tests.component.fakes import ScriptedFeed, SlowExchange, scripted_paper

SYM, M = "BTC/USDT:USDT", 60_000
pytestmark = pytest.mark.usefixtures("clean_qt_env")


def _closed(k: int, ts: int) -> PositionClosed:
    """A closed trade that never reached TP1 (the TP1 hit rate < 0.5 → TPs × 0.8)."""
    return PositionClosed(f"old-{k}", "ETH/USDT:USDT", Side.LONG, 1.0, 100.0, 99.0, 10, 10.0,
                          -1.0, 0.1, 0.0, -1.1, -0.11, "stop_loss", 0, ts, ts)  # fmt: skip


@pytest.mark.parametrize("bus_mode", ["inline", "queued"])
async def test_the_scaled_levels_are_the_placed_orders(bus_mode: str) -> None:
    t = int(time.time() * 1000) // M * M - M
    feed = ScriptedFeed(SYM, [], t)
    feed.simulated = bus_mode == "inline"
    paper = scripted_paper()
    settings = Settings(signals={"symbols": (SYM,)}, edge={"mode": "off"})
    ex: Any = paper if bus_mode == "inline" else SlowExchange(paper, 0.02)
    p: Pipeline = build_pipeline(settings, feed, exchange=ex)
    seen: dict[str, list[Any]] = {"intent": [], "opened": []}
    p.bus.add_tap(lambda topic, m: seen["intent"].append(m) if topic == Topic.INTENT else None)
    p.bus.add_tap(
        lambda topic, m: seen["opened"].append(m) if topic == Topic.POSITION_OPENED else None
    )
    p.bus.start()
    try:
        for k in range(20):  # 20 closed trades, none reached TP1
            await p.bus.publish(Topic.POSITION_CLOSED, _closed(k, t - M))
        await p.bus.drain()
        for module in ("market_data", "signals", "exchange"):
            p.health.ok(module)
        candle = Candle(t, 100.0, 100.1, 99.9, 100.0, 1.0)
        if bus_mode == "queued":  # the wrapped exchange is not the feed's to drive
            paper.on_candle(SYM, candle)
        await p.feed._deliver(CandleEvent(SYM, candle, M))
        await p.bus.drain()
        p.clock.set(t + M)
        sig = Signal(SYM, Side.LONG, 0.8, Consensus.UNANIMOUS, t + M)
        features = Features(100.0, 0.2, 0.002, 1.0, Regime.RANGE)
        await p.bus.publish(Topic.SIGNAL, SignalEvent(sig, features))
        await p.bus.drain()
    finally:
        await p.bus.stop()

    [intent] = seen["intent"]
    assert isinstance(intent, TradeIntent) and intent.plan is not None
    plan = intent.plan
    assert plan.levels is not None and plan.sizing is not None
    assert plan.levels.tp_scale == 0.8  # the benchmarker's exit adaptation, in the plan
    [opened] = seen["opened"]
    assert isinstance(opened, PositionOpened)
    fill = opened.plan.entry_price
    assert opened.plan.leverage == plan.leverage
    assert opened.plan.qty == plan.sizing.qty
    want = level_prices(fill, Side.LONG, plan.levels, 0.01)  # the scripted exchange's tick
    orders = paper.engine.open_orders(SYM)
    tps = sorted(o.price for o in orders if o.type is OrderType.LIMIT)
    [stop] = [o.stop_price for o in orders if o.type is OrderType.STOP_MARKET]
    assert tps == [want.tp1, want.tp2, want.tp3]
    assert stop == want.sl
