"""Backtest metrics with hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantum_trader.backtest.metrics import (
    MOMENT_BLOCK,
    YEAR_MS,
    _moments,
    compute,
    drawdown,
    max_drawdown,
)
from quantum_trader.backtest.recorder import TradeRow
from quantum_trader.core.risk import RiskTrip, TripKind


def trade(pnl: float, legs: int, reason: str, lev: int = 10, beyond: float = 0.0) -> TradeRow:
    return TradeRow(
        "i",
        "BTC/USDT:USDT",
        "LONG",
        0,
        1,
        100.0,
        101.0,
        1.0,
        10.0,
        lev,
        10.5,
        "",
        101.0,
        102.0,
        103.0,
        99.0,
        0.01,
        90.0,
        legs,
        reason,
        0.1,
        0.0,
        pnl + 0.1,
        pnl,
        pnl / 10,
        beyond,
    )


def test_drawdown() -> None:
    assert drawdown([100, 110, 99, 121]).tolist() == pytest.approx([0, 0, 0.1, 0])


def test_metrics_by_hand() -> None:
    equity = [100.0, 110.0, 99.0, 99.0]
    ts = [0, YEAR_MS // 3, 2 * YEAR_MS // 3, YEAR_MS]  # three returns in one year
    trades = [
        trade(10.0, 3, "tp3", 10),
        trade(-5.0, 0, "stop_loss", 20),
        trade(2.0, 1, "breakeven", 30),
    ]
    m = compute(equity, ts, [False, True, True, False], trades, 0, 4, 2.0)
    assert m.total_return == pytest.approx(-0.01)
    assert m.max_drawdown == pytest.approx(0.1)
    r = [0.1, -0.1, 0.0]
    mean, std = sum(r) / 3, math.sqrt(sum(x * x for x in r) / 3)
    assert m.sharpe == pytest.approx(mean / std * math.sqrt(3))
    assert m.sortino == pytest.approx(mean / math.sqrt(0.01 / 3) * math.sqrt(3))
    assert (m.trades, m.win_rate) == (3, pytest.approx(2 / 3))
    assert m.profit_factor == pytest.approx(12 / 5)
    assert m.exposure == 0.5 and m.average_leverage == 20
    assert (m.tp1_hit_rate, m.tp2_hit_rate, m.tp3_hit_rate) == pytest.approx((2 / 3, 1 / 3, 1 / 3))
    assert m.sl_hit_rate == pytest.approx(1 / 3)
    assert m.realised_pnl == pytest.approx(7.0) and m.fees == pytest.approx(0.3)
    assert m.bars_per_second == 2.0


def test_no_losses_no_profit_factor() -> None:
    m = compute([100.0, 101.0], [0, 60_000], [True, False], [trade(1.0, 1, "tp1")], 0, 2, 1.0)
    assert m.profit_factor is None


def test_risk_trips_and_gap_losses_are_counted() -> None:
    trips = [
        RiskTrip(TripKind.CIRCUIT_BREAKER, 60_000, 880.0, 1_000.0, 1_000.0, 0.12, "cb"),
        RiskTrip(TripKind.MAX_DRAWDOWN, 120_000, 800.0, 1_000.0, 1_000.0, 0.2, "hard"),
    ]
    trades = [trade(-5.0, 0, "stop_loss", beyond=2.5), trade(-1.0, 0, "stop_loss", beyond=0.001)]
    m = compute([100.0, 99.0], [0, 60_000], [True, False], trades, 0, 2, 1.0, trips, 0)
    assert m.risk_trips == {"daily_loss": 0, "circuit_breaker": 1, "max_drawdown": 1,
                            "loss_budget": 0}  # fmt: skip
    assert m.risk_trip_times == [("circuit_breaker", 60_000), ("max_drawdown", 120_000)]
    assert (m.gap_losses, m.gap_loss_usdt) == (1, pytest.approx(2.501))


returns = st.lists(
    st.floats(min_value=-0.5, max_value=0.5, allow_nan=False), min_size=0, max_size=300
)


@given(returns)
def test_moments_are_numpys(rs: list[float]) -> None:
    """The in-place moments equal numpy's mean and std to the bit, and the downside deviation
    equals mean(minimum(r, 0) ** 2) ** 0.5 (one block)."""
    r = np.array(rs, dtype=np.float64)
    mean, downside, std = _moments(r.copy())
    if not rs:
        assert (mean, downside, std) == (0.0, 0.0, 0.0)
        return
    assert mean == float(r.mean())
    assert downside == math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    assert std == (float(r.std()) if r.size > 1 else 0.0)


def test_moments_over_several_blocks() -> None:
    r = np.random.default_rng(3).normal(0.0, 1e-3, MOMENT_BLOCK * 2 + 17)
    mean, downside, std = _moments(r.copy())
    assert mean == float(r.mean()) and std == float(r.std())
    assert downside == pytest.approx(math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))), rel=1e-12)


@given(st.lists(st.floats(min_value=1.0, max_value=1e6), min_size=0, max_size=300))
def test_max_drawdown_is_the_largest_drawdown(equity: list[float]) -> None:
    e = np.array(equity, dtype=np.float64)
    assert max_drawdown(e) == (float(drawdown(e).max()) if e.size else 0.0)


def test_a_position_open_at_the_end_is_shown_apart() -> None:
    """Issue 28, item 14: the summary's pnl left out a position still open at the end (−1,337.51
    shown, equity −1,357.23). Realised and open PnL are shown apart, and add up to equity's."""
    equity = [10_000.0, 10_050.0, 9_980.0]  # one closed trade of +50, then one open, −70 so far
    m = compute(equity, [0, 60_000, 120_000], [False, True, True], [trade(50.0, 1, "tp1")],
                0, 3, 1.0)  # fmt: skip
    assert m.realised_pnl == 50.0 and m.open_pnl == pytest.approx(-70.0)
    assert m.realised_pnl + m.open_pnl == pytest.approx(m.end_equity - m.start_equity)


def test_the_daemons_summary_shows_open_pnl_apart() -> None:
    from quantum_trader.status import summary

    snap = {
        "mode": "paper", "uptime_s": 90, "feed": {"candles": 10}, "equity": 9_980.0,
        "trades": {"closed": 1, "wins": 1, "intents": 2, "entry_rejections": 0,
                   "realised_pnl": 50.0, "edge": {"trades": 0}, "emergency_closes": 0,
                   "liquidations": 0},
        "edge_gate": {"mode": "off", "decisions": {}, "shadow_trades": 0, "symbols": {}},
        "positions": [], "bus": {"topics": {}}, "task_restarts": {},
        "risk": {"trips": {}, "halted": False}, "health": {"status": "HEALTHY", "overall": 100},
        "redis": {"state": "disabled"},
    }  # fmt: skip
    text = summary(snap, "duration", 10_000.0)
    assert "+50.00 USDT realised, -70.00 open | equity 10,000.00 → 9,980.00 (-20.00)" in text
