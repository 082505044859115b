"""Daily loss limit, circuit breaker, hard max drawdown and the loss budget."""

from __future__ import annotations

from quantum_trader.core.risk import DAY_MS, RiskGuard, TripKind, budget_refusal

T0 = 1_704_067_200_000  # a UTC midnight
H = 3_600_000


def test_daily_loss_limit_trips_until_the_next_day() -> None:
    g = RiskGuard(0.08, 0.5, 2 * H)
    assert not g.update(10_000, T0).kill_switch
    assert not g.update(9_201, T0 + H).kill_switch
    s = g.update(9_200, T0 + 2 * H)
    assert s.kill_switch and "daily loss limit" in s.reason
    assert g.update(9_900, T0 + 3 * H).kill_switch  # stays tripped that day
    assert not g.update(9_900, T0 + DAY_MS).kill_switch


def test_circuit_breaker_measures_from_the_peak_and_is_never_rebased() -> None:
    """Issue 10, item 3: the breaker used to restart its peak at each trip, so a slide of 12 % at
    a time ran on for ever; now the peak stays and the breaker trips once per breach."""
    g = RiskGuard(0.9, 0.12, 2 * H, max_drawdown=0.2)
    g.update(10_000, T0)
    g.update(11_000, T0 + H)
    s = g.update(9_680, T0 + 2 * H)  # 12 % below the 11,000 peak
    assert s.circuit_breaker and s.breaker_until_ms == T0 + 4 * H
    assert s.peak_equity == 11_000
    assert g.status(T0 + 4 * H - 1).circuit_breaker
    s = g.update(9_000, T0 + 5 * H)  # cooled down, deeper in the same breach: no re-trip
    assert not s.circuit_breaker and s.peak_equity == 11_000
    assert [t.kind for t in g.take_trips()] == [TripKind.CIRCUIT_BREAKER]
    g.update(9_800, T0 + 6 * H)  # 10.9 % down: not yet half recovered
    assert not g.update(9_600, T0 + 7 * H).circuit_breaker
    g.update(10_400, T0 + 8 * H)  # 5.5 % down (< 6 %): re-armed
    assert g.update(9_600, T0 + 9 * H).circuit_breaker
    assert g.update(8_800, T0 + 10 * H).halted  # 20 % below 11,000: the hard stop


def test_max_drawdown_halts_until_reset_and_each_trip_is_reported_once() -> None:
    g = RiskGuard(0.5, 0.12, 2 * H, max_drawdown=0.2)
    g.update(10_000, T0)
    s = g.update(7_999, T0 + H)
    assert s.halted and s.circuit_breaker
    trips = g.take_trips()
    assert [t.kind for t in trips] == [TripKind.CIRCUIT_BREAKER, TripKind.MAX_DRAWDOWN]
    hard = trips[1]
    assert (hard.equity, hard.peak, hard.limit, hard.ts) == (7_999, 10_000, 0.2, T0 + H)
    assert "20.01% below peak 10,000.00" in hard.reason
    assert g.update(12_000, T0 + 30 * DAY_MS).halted  # recovery does not lift it
    assert g.take_trips() == []


def test_rolling_peak_window() -> None:
    g = RiskGuard(0.9, 0.12, 0, peak_window_ms=DAY_MS)
    g.update(11_000, T0)
    g.update(10_000, T0 + H)
    assert g.peak == 11_000
    g.update(10_000, T0 + DAY_MS + 2 * H)  # the 11,000 left the window
    assert g.peak == 10_000


def test_loss_budget_counts_every_open_stop() -> None:
    g = RiskGuard(0.5, 0.12, 2 * H, max_drawdown=0.2)
    g.update(10_000, T0)
    g.update(8_500, T0 + H)  # 15 % down: the breaker's, not the hard stop's
    assert budget_refusal(8_001, g) is None
    refusal = budget_refusal(8_000, g)  # exactly 20 % below the peak
    assert refusal is not None and "max drawdown 20.00%" in refusal
    g2 = RiskGuard(0.08, 0.5, 0)
    g2.update(10_000, T0)
    assert budget_refusal(9_201, g2) is None
    assert "daily limit 8.00%" in str(budget_refusal(9_200, g2))


def test_the_loss_budgets_block_is_a_recorded_risk_state() -> None:
    """Issue 28, item 14: near the hard drawdown the loss budget refused every entry for good —
    4,678 WARNING lines on one file — and no trip was recorded anywhere. Now the block's start is
    a ``loss_budget`` trip (once), it shows in the status while it holds, and its end is noted."""
    g = RiskGuard(0.5, 0.5, 3_600_000, max_drawdown=0.20)  # only the hard drawdown near
    t = 1_704_067_200_000
    g.update(10_000, t)
    g.update(8_300, t + 1)  # 17 % down: a trade risking 3 % more does not fit
    assert g.budget(8_000, t + 2) is not None
    [trip] = g.take_trips()
    assert trip.kind is TripKind.LOSS_BUDGET and "loss budget" in trip.reason
    assert g.status(t + 2).budget_blocked
    assert g.budget(7_900, t + 3) is not None and g.take_trips() == []  # once per block
    assert g.take_lifted() == []
    assert g.budget(8_100, t + 4) is None  # a smaller trade fits again: the block ends
    assert not g.status(t + 4).budget_blocked and g.take_lifted() == [t + 4]
    assert g.budget(8_000, t + 5) is not None and len(g.take_trips()) == 1  # a new block
