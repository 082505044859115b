"""The chaos soak, short: ``qtrader run --testnet`` against the fake server through latency,
5xx and 429/418 storms, dropped websockets, an outage, two ``kill -9`` restarts and a revoked
key. ``bench/soak.py`` runs the same plan at length and prints the figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from quantum_trader.testing.soak import SoakPlan, run_soak

SHORT = SoakPlan(
    steady_s=15.0,
    faults_s=8.0,
    outage_s=10.0,
    recovery_s=6.0,
    polling_s=12.0,
    window_s=8.0,
    time_scale=10.0,  # market time: 1m candles every 6 s, the daemon's wall clock on the same
)


@pytest.mark.slow
@pytest.mark.timeout(300)  # fixed phases of wall-clock time: ~80 s here, the default 120 s is < 2×
def test_the_daemon_survives_the_soak_with_every_invariant_held(tmp_path: Path) -> None:
    report = run_soak(SHORT, tmp_path, say=lambda _: None)
    logs = "\n".join(Path(p).read_text(errors="replace")[-2000:] for p in report["logs"])
    assert report["violations"] == [], logs
    assert report["checks"] >= 50  # the checker ran every second of it
    # the daemon's market clock (its last closed candle) ran at the fast time, across restarts
    assert 0.8 * SHORT.time_scale <= report["daemon_market_rate"] <= 1.2 * SHORT.time_scale
    assert report["max_positions_seen"] == SHORT.max_positions  # it did trade, up to the cap
    assert report["outage_survived"] is True
    assert report["revoked"]["exit_code"] == 78  # the fatal error: exit 78, no restart loop
    answered_late = {k: v for k, v in report["health_unanswered"].items() if k != "revoke"}
    assert answered_late == {}, "/health went unanswered while the daemon was up"
    # the streams find fills and prices without polling: fewer requests for the same positions
    streams, polling = report["streams"], report["polling"]
    assert streams["requests_per_min"] < polling["requests_per_min"]
    assert streams["user_stream_up_metric"] == 1.0  # /metrics shows the stream
    assert polling["user_stream_up_metric"] is None  # streams off: not exported
