"""Clocks: the wall clock live, the market's clock in simulation (set by the feed)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class WallClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)


class SimClock:
    """Simulated time: the close time of the latest candle the feed delivered."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def set(self, ts_ms: int) -> None:
        self._now = max(self._now, ts_ms)

    def now_ms(self) -> int:
        return self._now
