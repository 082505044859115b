"""Periodic exchange loops: drift-corrected, backing off on temporary errors, reset on success,
never swallowing a fatal error (issue 11: every background loop drift-corrected, exception-safe)."""

from __future__ import annotations

import asyncio

import pytest

from quantum_trader.exchange.base import FatalExchangeError, TemporaryExchangeError
from quantum_trader.runtime.health import HealthMonitor
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


async def test_a_wake_cuts_a_backoff_short_but_not_below_the_floor() -> None:
    """The stream points at a filled stop while the poll is backing off from a 429 storm: the
    next poll comes after the floor, not after the whole backoff."""
    attempts: list[float] = []
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def work() -> None:
        attempts.append(loop.time())
        if len(attempts) <= 3:
            raise TemporaryExchangeError("429")
        raise FatalExchangeError("stop here")

    async def point_soon() -> None:
        while True:
            await asyncio.sleep(0.01)
            wake.set()  # the user-data stream: "this order changed"

    pointer = asyncio.create_task(point_soon())
    try:
        with pytest.raises(FatalExchangeError):
            await every("poll", 0.5, work, max_backoff_s=60.0, wake=wake, wake_floor_s=0.05)
    finally:
        pointer.cancel()
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert all(0.05 <= g < 0.5 for g in gaps), gaps  # backoff would be 1 s, 2 s, 4 s


async def test_a_rate_limit_holds_the_loop_for_its_retry_after() -> None:
    """Issue 28, item 12: a 418 ban says how long (Retry-After); the loop's own backoff (2 s
    doubling, capped at 10 s here) must not call again sooner, and a wake does not cut it."""
    t = FakeTime()
    outcomes = iter(["ban", "ok", "fatal"])
    wake = asyncio.Event()
    wake.set()  # someone points at work the whole time

    async def work() -> None:
        step = next(outcomes)
        if step == "ban":
            raise TemporaryExchangeError("418 banned", retry_after_s=120.0)
        if step == "fatal":
            raise FatalExchangeError("stop here")

    with pytest.raises(FatalExchangeError):
        await every("poll", 2.0, work, None, max_backoff_s=10.0, sleep=t.sleep, clock=t.clock,
                    wake=wake)  # fmt: skip
    assert t.sleeps[0] == 120.0  # the ban's whole Retry-After, not 4 s, not the wake floor
