"""Module health scores (SPEC §8): 0–100 from staleness, error rate and latency p95."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

WEIGHTS = {
    "market_data": 0.25,
    "signals": 0.2,
    "exchange": 0.25,
    "execution": 0.15,
    "sizer": 0.05,
    "bus": 0.1,
}


CACHE_S = 1.0


def status_of(score: float) -> str:
    if score >= 80:
        return "HEALTHY"
    if score >= 60:
        return "DEGRADED"
    return "CRITICAL" if score > 0 else "OFFLINE"


@dataclass(slots=True)
class ModuleHealth:
    name: str
    stale_after_s: float = 0.0  # 0: staleness not scored
    last_ok: float = field(default_factory=time.monotonic)
    outcomes: deque[bool] = field(default_factory=lambda: deque(maxlen=100))
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=200))
    last_error: str = ""

    def score(self, now: float) -> float:
        score = 100.0
        if self.stale_after_s and now - self.last_ok > self.stale_after_s:
            score -= 50 if now - self.last_ok < 3 * self.stale_after_s else 100
        if self.outcomes:
            rate = 1 - sum(self.outcomes) / len(self.outcomes)
            score -= 30 if rate > 0.2 else 20 if rate > 0.1 else 10 if rate > 0.05 else 0
        if self.latencies_ms:
            lat = sorted(self.latencies_ms)
            p95 = lat[int(0.95 * (len(lat) - 1))]
            score -= 30 if p95 > 500 else 20 if p95 > 200 else 10 if p95 > 100 else 0
        return max(0.0, score)


class HealthMonitor:
    def __init__(self, stale_after: dict[str, float] | None = None) -> None:
        stale = stale_after or {}
        self.modules = {name: ModuleHealth(name, stale.get(name, 0.0)) for name in WEIGHTS}
        self._scored_at = -CACHE_S
        self._cached: dict[str, float] = {}

    def ok(self, module: str, latency_ms: float | None = None) -> None:
        m = self.modules[module]
        m.last_ok = time.monotonic()
        m.outcomes.append(True)
        if latency_ms is not None:
            m.latencies_ms.append(latency_ms)

    def error(self, module: str, message: str) -> None:
        m = self.modules[module]
        m.outcomes.append(False)
        m.last_error = message[:300]

    def _scores(self) -> dict[str, float]:
        """Every module's score, recomputed at most once a second (they move on that scale)."""
        now = time.monotonic()
        if now - self._scored_at >= CACHE_S:
            self._cached = {n: m.score(now) for n, m in self.modules.items()}
            self._scored_at = now
        return self._cached

    def score(self, module: str) -> float:
        return self._scores()[module]

    def overall(self) -> float:
        scores = self._scores()
        return sum(w * scores[n] for n, w in WEIGHTS.items())

    def snapshot(self) -> dict[str, object]:
        now = time.monotonic()
        modules = {}
        for name, m in self.modules.items():
            score = m.score(now)
            modules[name] = {
                "score": round(score, 1),
                "status": status_of(score),
                "last_error": m.last_error,
            }
        overall = self.overall()
        return {"overall": round(overall, 1), "status": status_of(overall), "modules": modules}
