"""Daily loss limit and circuit breaker."""

from __future__ import annotations

from quantum_trader.core.risk import DAY_MS, RiskGuard

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


def test_circuit_breaker_cools_down_and_rearms_from_the_trip() -> None:
    g = RiskGuard(0.9, 0.12, 2 * H)
    g.update(10_000, T0)
    g.update(11_000, T0 + H)
    s = g.update(9_680, T0 + 2 * H)  # 12 % below the 11,000 peak
    assert s.circuit_breaker and s.breaker_until_ms == T0 + 4 * H
    assert g.status(T0 + 4 * H - 1).circuit_breaker
    assert not g.update(9_700, T0 + 4 * H).circuit_breaker
