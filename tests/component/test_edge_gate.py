"""The edge gate changes decisions, on both bus modes: with nothing measured a decision trades the
exchange's minimum (a probe) and is followed as a shadow; once the probes are used and the shadows
say no edge, a decision is not traded (counted, logged, /health says why); with a measured
positive edge it trades full size. Candles reach the paper exchange and the shadows through the
feed's own delivery path."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from quantum_trader.bus.messages import (
    CandleEvent,
    Features,
    PositionOpened,
    SignalEvent,
    Topic,
)
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.shadow import ShadowOutcome
from quantum_trader.core.types import Candle, Consensus, Regime, Side, Signal
from quantum_trader.pipeline import Pipeline, build_pipeline
from quantum_trader.settings import Settings
from quantum_trader.sizing.factory import make_sizer
from tests.component.fakes import ScriptedFeed, scripted_paper

SYM, M = "BTC/USDT:USDT", 60_000
pytestmark = pytest.mark.usefixtures("clean_qt_env")


class Desk:
    def __init__(self, bus_mode: str, rl_dir: Path) -> None:
        # live-like signal ages are checked against the wall clock: start a minute ago
        self.t = int(time.time() * 1000) // M * M - M
        feed = ScriptedFeed(SYM, [], self.t)
        feed.simulated = bus_mode == "inline"  # not simulated: the queued bus, as live
        settings = Settings(
            signals={"symbols": (SYM,)}, edge={"mode": "gate", "min_trades": 30, "probe_trades": 1}
        )
        sizer = make_sizer(settings, rl_dir)  # the RL policy: it draws its multiplier
        self.p: Pipeline = build_pipeline(settings, feed, exchange=scripted_paper(), sizer=sizer)
        assert self.p.bus.inline == (bus_mode == "inline")
        self.intents: list[TradeIntent] = []
        self.opened: list[PositionOpened] = []
        self.p.bus.add_tap(
            lambda topic, m: self.intents.append(m) if topic == Topic.INTENT else None
        )
        self.p.bus.add_tap(
            lambda topic, m: self.opened.append(m) if topic == Topic.POSITION_OPENED else None
        )
        self.k = 0

    async def candle(self, o: float, h: float, lo: float, c: float) -> None:
        candle = Candle(self.t + self.k * M, o, h, lo, c, 1.0)
        self.k += 1
        for module in ("market_data", "signals", "exchange"):
            self.p.health.ok(module)
        await self.p.feed._deliver(CandleEvent(SYM, candle, M))
        await self.p.bus.drain()

    async def signal(self, price: float) -> None:
        ts = self.t + self.k * M  # the last candle's close
        self.p.clock.set(ts)
        sig = Signal(SYM, Side.LONG, 0.8, Consensus.UNANIMOUS, ts)
        features = Features(price, price * 0.002, 0.002, 1.0, Regime.RANGE)
        await self.p.bus.publish(Topic.SIGNAL, SignalEvent(sig, features))
        await self.p.bus.drain()


def outcome(k: int, r: float) -> ShadowOutcome:
    return ShadowOutcome(f"old-{k}", SYM, Side.LONG, 0, M, r, "tp3")


@pytest.mark.parametrize("bus_mode", ["inline", "queued"])
async def test_probe_then_shadow_then_full_size(bus_mode: str, tmp_path: Path) -> None:
    desk = Desk(bus_mode, tmp_path)
    p = desk.p
    p.bus.start()
    try:
        await desk.candle(100.0, 100.1, 99.9, 100.0)
        await desk.signal(100.0)  # nothing measured: a probe at the exchange's minimum
        [probe] = desk.intents
        assert probe.margin_usd * probe.leverage == pytest.approx(5.0, rel=0.01)
        gate = p.strategy.edge
        assert gate is not None and gate.has_open(SYM)
        await desk.candle(100.0, 100.05, 90.0, 91.0)  # through the stop: probe and shadow out
        assert not gate.has_open(SYM) and not p.book.positions
        [loss] = gate.returns[SYM]
        assert loss < -0.005  # the stop distance and the fees, per unit of notional

        await desk.signal(91.0)  # the probe is used, 1 outcome of 30: not traded
        assert len(desk.intents) == 1
        assert p.strategy.rejections["edge"] == 1
        status = gate.status()[SYM]
        assert status["action"] == "shadow" and "30 needed" in str(status["reason"])
        assert gate.has_open(SYM)  # but followed
        await desk.candle(91.0, 91.05, 80.0, 81.0)  # the shadow is stopped too

        gate.load(outcome(k, 0.004 + 0.0005 * (k % 3)) for k in range(40))  # an edge measured
        await desk.signal(81.0)
        full = desk.intents[-1]
        assert len(desk.intents) == 2
        assert full.margin_usd > 20 * probe.margin_usd  # the base margin, not the minimum
        assert gate.status()[SYM]["action"] == "trade"
        # a probe's size is not the sizer's doing: no behaviour probability, no policy update;
        # the full-size trade's multiplier was drawn, and its probability kept
        await desk.candle(81.0, 81.05, 80.95, 81.0)
        probe_opened, full_opened = desk.opened[0], desk.opened[-1]
        assert probe_opened.intent_id == probe.intent_id and probe_opened.logp is None
        assert full_opened.intent_id == full.intent_id and full_opened.logp is not None
    finally:
        await p.bus.stop()


async def test_the_gate_off_trades_full_size_at_once() -> None:
    feed = ScriptedFeed(SYM, [], 1_767_225_600_000)
    p = build_pipeline(Settings(edge={"mode": "off"}), feed, exchange=scripted_paper())
    seen: list[Any] = []
    p.bus.add_tap(lambda topic, m: seen.append(m) if topic == Topic.INTENT else None)
    for module in ("market_data", "signals", "exchange"):
        p.health.ok(module)
    p.clock.set(1_767_225_600_000)
    sig = Signal(SYM, Side.LONG, 0.8, Consensus.UNANIMOUS, 1_767_225_600_000)
    features = Features(100.0, 0.2, 0.002, 1.0, Regime.RANGE)
    await p.bus.publish(Topic.SIGNAL, SignalEvent(sig, features))
    assert not p.strategy.rejections, p.strategy.rejections
    [intent] = seen
    assert intent.margin_usd * intent.leverage > 1_000
