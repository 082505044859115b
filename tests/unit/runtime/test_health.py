"""Health that tells the truth (issue 11, item 4): a dead source falls below the gate; an input
that has never delivered is not healthy."""

from __future__ import annotations

from quantum_trader.core.filter import FilterParams
from quantum_trader.runtime.health import HealthMonitor


def _alive() -> HealthMonitor:
    h = HealthMonitor()
    for name in ("market_data", "signals", "exchange"):
        h.ok(name)
    return h


def test_a_source_that_always_fails_falls_below_the_gate() -> None:
    """A killed HTTP engine used to leave signals at 70 — exactly the gate — and trading on."""
    h = _alive()
    for _ in range(100):
        h.error("signals", "ClientConnectorError: connection refused")
    assert h.score("signals") == 0 < FilterParams().min_health_source
    assert h.snapshot()["modules"]["signals"]["status"] == "OFFLINE"  # type: ignore[index]


def test_half_the_calls_failing_is_critical() -> None:
    h = _alive()
    for k in range(100):
        h.ok("signals") if k % 2 else h.error("signals", "timeout")
    assert h.score("signals") == 40


def test_an_input_that_never_delivered_is_not_healthy() -> None:
    """Paper on ``--feed live`` without network: 0 candles, and health said HEALTHY (100)."""
    h = HealthMonitor()
    h.ok("exchange")
    h.ok("signals")
    snap = h.snapshot()
    md = snap["modules"]["market_data"]  # type: ignore[index]
    assert md["score"] == 50 and md["status"] == "CRITICAL" and md["last_error"] == "no data yet"
    assert snap["status"] != "HEALTHY"  # type: ignore[index]
    h.ok("market_data")
    assert HealthMonitor.snapshot(h)["modules"]["market_data"]["score"] == 100  # type: ignore[index]


def test_status_changes_are_reported_once_each() -> None:
    h = _alive()
    assert h.changes() == []  # the first look sets the baseline
    for _ in range(100):
        h.error("signals", "engine down")
    h._scored_at = -1.0  # noqa: SLF001 - past the one-second score cache
    assert h.changes() == [("signals", "OFFLINE", 0.0, "engine down")]
    assert h.changes() == []
