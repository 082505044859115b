"""A scripted price path through the whole pipeline on the bus (paper exchange, execution, exit
manager), with realised PnL checked against a hand computation to the cent.

Set-up shared by every scenario: fees taker 0.05 % / maker 0.02 %, slippage 0.05 %, tick 0.01,
step 0.001; intent at 100 with 10x and 100 USDT margin → 10 units. At 10x the default levels are
LSF = 1/(1 + ln 11) = 0.294303, tp = 0.015 × (0.894303, 1.347152, 1.873576) = 1.34145 % /
2.02073 % / 2.81036 %, sl = 0.007 × (1 + 0.8 × 0.705697) = 1.09519 %; harvest 30/30/40 %.
"""

from __future__ import annotations

import pytest

from quantum_trader.bus.messages import PositionClosed, Topic
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.types import Regime, Side
from quantum_trader.exchange.base import OrderType
from quantum_trader.pipeline import Pipeline, build_pipeline
from quantum_trader.settings import Settings
from tests.component.fakes import ScriptedFeed, run_through, scripted_paper

SYM = "BTC/USDT:USDT"
BOUNDARY = 1_704_067_200_000  # a funding time (00:00 UTC)
T0 = BOUNDARY - 2 * 60_000  # candle 2 opens on the funding boundary
RATE = 0.0001


pytestmark = pytest.mark.usefixtures("clean_qt_env")


def _intent(side: Side) -> TradeIntent:
    sl, tp = (98.0, 102.0) if side is Side.LONG else (102.0, 98.0)
    return TradeIntent(
        intent_id=f"T-{side}",
        ts=T0,
        symbol=SYM,
        side=side,
        confidence=0.8,
        entry_price=100.0,
        stop_loss=sl,
        take_profit=tp,
        margin_usd=100.0,
        leverage=10,
        atr_value=0.0,
        volatility=0.0,
        exchange_divergence=0.0,
        funding_rate=0.0,
        regime=Regime.NORMAL,
        source="test",
        reason="scripted",
    )


class Run:
    def __init__(self, side: Side, path: list[tuple[float, float, float, float]]) -> None:
        self.side = side
        self.closed: list[PositionClosed] = []
        self.stops_seen: list[float] = []
        settings = Settings(signals={"min_confidence": 1.0})  # the ensemble never trades here
        paper = scripted_paper()
        hooks = {1: self.enter, **{k: self.look for k in range(2, len(path) + 1)}}
        feed = ScriptedFeed(
            SYM, [(100.0, 100.0, 100.0, 100.0), *path], T0, hooks, funding_rate=RATE
        )
        self.p: Pipeline = build_pipeline(settings, feed, exchange=paper)
        self.paper = paper
        self.p.bus.subscribe("test", Topic.POSITION_CLOSED, self.on_closed)

    async def on_closed(self, event: PositionClosed) -> None:
        self.closed.append(event)

    async def enter(self) -> None:
        assert await self.p.bus.publish(Topic.INTENT, _intent(self.side))
        await self.p.bus.drain()
        await self.look()

    async def look(self) -> None:
        stops = [
            o.stop_price
            for o in self.paper.engine.open_orders(SYM)
            if o.type is OrderType.STOP_MARKET
        ]
        assert len(stops) <= 1, "exactly one live stop at a time"
        if self.p.book.positions:
            assert len(stops) == 1, "an open position always has an exchange stop"
        self.stops_seen.append(stops[0] if stops else 0.0)

    async def go(self) -> PositionClosed:
        start = self.paper.engine.wallet
        await run_through(self.p)
        assert self.paper.engine.liquidations == 0
        assert len(self.closed) == 1
        closed = self.closed[0]
        # the exchange's wallet moved by exactly the realised PnL
        assert self.paper.engine.wallet - start == pytest.approx(closed.pnl, abs=1e-9)
        return closed


async def test_long_tp1_breakeven_tp2_stop_to_tp1_trailing() -> None:
    run = Run(Side.LONG, [
        (100.05, 101.5, 100.0, 101.2),   # 1: low first, then TP1 101.39 fills 3
        (101.2, 102.2, 101.0, 102.0),    # 2: funding on 7 units at 101.2; TP2 102.07 fills 3
        (102.0, 102.8, 101.9, 102.5),    # 3: peak 102.8 → trailing stop 101.68
        (102.5, 102.6, 101.5, 101.6),    # 4: high first, then the trailing stop fills 4
    ])  # fmt: skip
    closed = await run.go()
    plan = next(iter(run.p.book.closed))
    assert plan.entry_price == pytest.approx(100.05)  # 100 × (1 + 0.0005)
    # stops on the exchange after each candle: initial 98.96 (100.05 × (1 − 1.09519 %) = 98.954
    # rounded toward entry), breakeven 100.16 (100.05 × 1.001 = 100.15005 rounded up),
    # TP1's price 101.39, trailing 101.68 (102.8 × (1 − 1.09519 %) = 101.674 rounded up)
    assert run.stops_seen == [98.96, 100.16, 101.39, 101.68]
    entry_fee = 10 * 100.05 * 0.0005
    tp1 = 3 * (101.39 - 100.05) - 3 * 101.39 * 0.0002
    tp2 = 3 * (102.07 - 100.05) - 3 * 102.07 * 0.0002
    stop_px = 101.68 * (1 - 0.0005)
    rest = 4 * (stop_px - 100.05) - 4 * stop_px * 0.0005
    funding = -7 * 101.2 * RATE
    expected = tp1 + tp2 + rest - entry_fee + funding
    assert round(expected, 2) == 15.50
    assert closed.pnl == pytest.approx(expected, abs=0.005)
    assert round(closed.pnl, 2) == 15.50
    assert closed.funding == pytest.approx(funding)
    assert closed.roe == pytest.approx(closed.pnl / 100.05)
    assert (closed.exit_reason, closed.legs_hit) == ("trailing", 2)


async def test_short_mirror() -> None:
    run = Run(Side.SHORT, [
        (99.95, 100.0, 98.5, 98.8),      # 1: high first, then TP1 98.61 fills 3
        (98.8, 99.0, 97.8, 98.0),        # 2: funding received on 7 at 98.8; TP2 97.94 fills 3
        (98.0, 98.1, 97.2, 97.5),        # 3: trough 97.2 → trailing stop 98.26
        (97.5, 98.5, 97.4, 98.4),        # 4: low first, then the trailing stop fills 4
    ])  # fmt: skip
    closed = await run.go()
    # entry 99.95; stops: 101.04, breakeven 99.85 (99.85005 rounded down), TP1 98.61, 98.26
    assert run.stops_seen == [101.04, 99.85, 98.61, 98.26]
    entry_fee = 10 * 99.95 * 0.0005
    tp1 = 3 * (99.95 - 98.61) - 3 * 98.61 * 0.0002
    tp2 = 3 * (99.95 - 97.94) - 3 * 97.94 * 0.0002
    stop_px = 98.26 * (1 + 0.0005)
    rest = 4 * (99.95 - stop_px) - 4 * stop_px * 0.0005
    funding = 7 * 98.8 * RATE  # shorts receive positive funding
    expected = tp1 + tp2 + rest - entry_fee + funding
    assert round(expected, 2) == 15.87
    assert round(closed.pnl, 2) == 15.87
    assert (closed.side, closed.exit_reason, closed.legs_hit) == (Side.SHORT, "trailing", 2)


async def test_stop_out() -> None:
    run = Run(Side.LONG, [(100.05, 100.3, 98.5, 98.9)])  # high first, then the stop at 98.96
    closed = await run.go()
    stop_px = 98.96 * (1 - 0.0005)
    expected = 10 * (stop_px - 100.05) - 10 * 100.05 * 0.0005 - 10 * stop_px * 0.0005
    assert round(expected, 2) == -12.39
    assert round(closed.pnl, 2) == -12.39
    assert (closed.exit_reason, closed.legs_hit) == ("stop_loss", 0)
    assert closed.roe == pytest.approx(expected / 100.05)
    assert run.paper.engine.open_orders(SYM) == []  # the TP legs went with the position
