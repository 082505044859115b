"""The ``Feed`` protocol and pacing shared by the simulated feeds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Protocol, runtime_checkable

from quantum_trader.bus.messages import CandleEvent


class Feed(Protocol):
    name: str
    symbols: tuple[str, ...]
    simulated: bool  # True: the feed's timestamps are the clock (paper replay/synthetic)

    def events(self) -> AsyncIterator[CandleEvent]:
        """Closed candles in time order; finite feeds end, live feeds run until cancelled."""
        ...

    async def close(self) -> None:
        """Release connections (live feeds)."""
        ...


@runtime_checkable
class Resumable(Protocol):
    """A simulated market that can say which it is and continue after a given time (paper
    restarts resume the market their journal belongs to)."""

    def identity(self) -> dict[str, object]: ...

    def resume_after(self, seen: Mapping[str, int]) -> None:
        """Deliver, per symbol, only candles opening after ``seen[symbol]``."""
        ...


BUDGET_S = 0.005  # at full speed a feed lets other tasks (API, timers) run at least this often


class Pacer:
    """Sleeps so that simulated time runs ``speed``× real time; ``None`` = as fast as possible,
    yielding to the event loop every :data:`BUDGET_S` so ``/health`` and timers still run."""

    def __init__(self, speed: float | None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be > 0 or max, got {speed}")
        self.speed = speed
        self._last_ts: int | None = None
        self._yielded = time.monotonic()

    async def breathe(self) -> None:
        """Yield to the loop if this task has held it for longer than the budget."""
        now = time.monotonic()
        if now - self._yielded >= BUDGET_S:
            await asyncio.sleep(0)
            self._yielded = time.monotonic()

    async def wait_until(self, ts: int) -> None:
        if self.speed is None or self._last_ts is None:
            self._last_ts = ts
            await self.breathe()
            return
        delay = max(0.0, (ts - self._last_ts) / 1000.0 / self.speed)
        self._last_ts = ts
        await asyncio.sleep(delay)
        self._yielded = time.monotonic()


def parse_speed(text: str | float | None) -> float | None:
    """``max`` → None (no pacing); a number → that multiple of real time."""
    if text is None or (isinstance(text, str) and text.strip().lower() == "max"):
        return None
    value = float(text)
    if not value > 0:
        raise ValueError(f"--speed must be a positive number or 'max', got {text!r}")
    return value
