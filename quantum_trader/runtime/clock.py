"""Clocks: the wall clock live, the market's clock in simulation (set by the feed).

Against the fake exchange (``exchange.url_override``) the wall clock may run ``time_scale``
times fast from ``time_origin_ms``: the chaos soak lives ten simulated hours in half an hour of
real time. The fake's market shares the formula; network timing (polls, backoffs, timeouts,
request signatures) stays on real time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class WallClock:
    def __init__(self, scale: float = 1.0, origin_ms: int = 0) -> None:
        self.scale, self.origin_ms = scale, origin_ms

    def now_ms(self) -> int:
        real = time.time() * 1000
        if self.scale == 1.0:
            return int(real)
        return int(self.origin_ms + (real - self.origin_ms) * self.scale)


class SimClock:
    """Simulated time: the close time of the latest candle the feed delivered."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def set(self, ts_ms: int) -> None:
        self._now = max(self._now, ts_ms)

    def now_ms(self) -> int:
        return self._now
