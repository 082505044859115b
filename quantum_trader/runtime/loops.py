"""The shape of every periodic loop that talks to the exchange: drift-corrected (it sleeps the
interval less the time the work took), exception-safe (a temporary exchange error is logged,
counted against the module's health and retried with exponential backoff, capped), supervised by
the caller. A fatal error is the fatal latch's to handle: it stops the daemon."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from loguru import logger

from quantum_trader.core.account import ExchangeError, FatalExchangeError
from quantum_trader.runtime.health import HealthMonitor

log = logger.bind(component="runtime")


async def every(
    name: str,
    interval_s: float,
    work: Callable[[], Awaitable[object]],
    health: HealthMonitor | None = None,
    max_backoff_s: float = 60.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    wake: asyncio.Event | None = None,
    wake_floor_s: float = 5.0,
) -> None:
    """``wake``: set by whoever knows there is work now; the wait ends early. While backing off
    after errors, a wake still cuts the backoff short, but never sooner than ``wake_floor_s``
    after the failed attempt (a fill the stream pointed at is not left unbooked for the whole
    backoff, and a storm is not hammered either)."""
    failures = 0
    while True:
        started = clock()
        delay, hold = interval_s, 0.0
        try:
            await work()
            failures = 0
        except FatalExchangeError:
            raise
        except ExchangeError as exc:
            failures += 1
            delay = min(max(max_backoff_s, interval_s), interval_s * 2 ** min(failures, 10))
            hold = getattr(exc, "retry_after_s", 0.0)  # a 429/418's Retry-After: no call sooner
            delay = max(delay, hold)
            if health is not None:
                health.error("exchange", f"{name}: {exc}")
            log.warning("{} failed ({}; {} in a row): next in {:.1f}s", name, exc, failures, delay)
        pause = max(0.0, delay - (clock() - started))
        if wake is None:
            await sleep(pause)
            continue
        if failures:
            floor = min(pause, max(wake_floor_s, hold))
            await sleep(floor)
            pause -= floor
        try:
            await asyncio.wait_for(wake.wait(), pause)
        except TimeoutError:
            pass
        wake.clear()
