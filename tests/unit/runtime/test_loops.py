"""Periodic exchange loops: drift-corrected, backing off on temporary errors, reset on success,
never swallowing a fatal error (issue 11: every background loop drift-corrected, exception-safe)."""

from __future__ import annotations

import pytest

from quantum_trader.exchange.base import FatalExchangeError, TemporaryExchangeError
from quantum_trader.monitoring.health import HealthMonitor
from quantum_trader.runtime.loops import every


class FakeTime:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


async def test_drift_backoff_and_reset() -> None:
    t, health = FakeTime(), HealthMonitor()
    outcomes = iter(["ok", "fail", "fail", "fail", "ok", "fatal"])

    async def work() -> None:
        t.now += 0.25  # the work itself takes a quarter of a second
        step = next(outcomes)
        if step == "fail":
            raise TemporaryExchangeError("503")
        if step == "fatal":
            raise FatalExchangeError("-2015 revoked")

    with pytest.raises(FatalExchangeError):  # a fatal error is never swallowed
        await every("poll", 2.0, work, health, max_backoff_s=10.0, sleep=t.sleep, clock=t.clock)
    # 2 − 0.25 (drift-corrected); then 4, 8, 10 (capped) less the work's time; reset after success
    assert t.sleeps == [1.75, 3.75, 7.75, 9.75, 1.75]
    assert health.modules["exchange"].last_error == "poll: 503"
