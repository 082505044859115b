"""Module health scores (SPEC §8): 0–100 from staleness, error rate and latency p95; the overall
score is their weighted mean, capped by the weakest input (market data, signals, exchange)."""

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
#: inputs: a module that has never delivered is not healthy, whatever else it shows
INPUTS = frozenset({"market_data", "signals", "exchange"})
FAULT_SCORE = 40.0  # CRITICAL: a fault (the journal refusing writes) caps the overall score
NEVER_SEEN_CAP = 50.0


def error_penalty(rate: float) -> float:
    """A source that always fails must fall below any gate: 100 % errors → −100."""
    if rate >= 0.9:
        return 100
    if rate >= 0.5:
        return 60
    return 30 if rate > 0.2 else 20 if rate > 0.1 else 10 if rate > 0.05 else 0


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
    seen: bool = False  # has it ever delivered?

    def error_rate(self) -> float:
        return 1 - sum(self.outcomes) / len(self.outcomes) if self.outcomes else 0.0

    def latency_p95(self) -> float | None:
        if not self.latencies_ms:
            return None
        lat = sorted(self.latencies_ms)
        return lat[int(0.95 * (len(lat) - 1))]

    def score(self, now: float) -> float:
        score = 100.0
        if self.stale_after_s and now - self.last_ok > self.stale_after_s:
            score -= 50 if now - self.last_ok < 3 * self.stale_after_s else 100
        if self.outcomes:
            score -= error_penalty(self.error_rate())
        p95 = self.latency_p95()
        if p95 is not None:
            score -= 30 if p95 > 500 else 20 if p95 > 200 else 10 if p95 > 100 else 0
        if self.name in INPUTS and not self.seen:
            score = min(score, NEVER_SEEN_CAP)  # nothing yet: not healthy, not dead
        return max(0.0, score)


class HealthMonitor:
    def __init__(
        self, stale_after: dict[str, float] | None = None, extra: dict[str, float] | None = None
    ) -> None:
        """``extra``: modules only some modes have (``streams`` live), with their weights."""
        stale = stale_after or {}
        self.weights = {**WEIGHTS, **(extra or {})}
        self.modules = {name: ModuleHealth(name, stale.get(name, 0.0)) for name in self.weights}
        self._scored_at = -CACHE_S
        self._cached: dict[str, float] = {}
        self._reported: dict[str, str] = {}  # module → the status last alerted
        #: hard faults (the journal refusing writes): overall is CRITICAL while any holds
        self.faults: dict[str, str] = {}
        self._fault_changes: list[tuple[str, str, float, str]] = []

    def fault(self, module: str, reason: str | None) -> None:
        """A fault that makes the daemon CRITICAL until it ends (``reason`` None): it must not
        open positions it may not be able to keep track of."""
        if reason:
            if module not in self.faults:
                self._fault_changes.append((module, "CRITICAL", FAULT_SCORE, reason))
            self.faults[module] = reason
        elif self.faults.pop(module, None) is not None:
            self._fault_changes.append((module, "HEALTHY", 100.0, "recovered"))
        self._scored_at = -CACHE_S

    def changes(self) -> list[tuple[str, str, float, str]]:
        """(module, new status, score, last error) for each module whose status changed since
        the last call — the ``health.alert`` events; the first call reports nothing."""
        now, first = time.monotonic(), not self._reported
        out, self._fault_changes = self._fault_changes, []
        for name, m in self.modules.items():
            score = m.score(now)
            status = status_of(score)
            if not first and self._reported.get(name) != status:
                out.append((name, status, score, m.last_error))
            self._reported[name] = status
        return out

    def ok(self, module: str, latency_ms: float | None = None) -> None:
        m = self.modules[module]
        m.last_ok = time.monotonic()
        if not m.seen:  # the first delivery counts at once, not after the score cache expires
            m.seen, self._scored_at = True, -CACHE_S
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
        """The weighted mean, never above the weakest input: without market data, signals or the
        exchange the daemon cannot trade well, whatever the other modules say."""
        scores = self._scores()
        mean = sum(w * scores[n] for n, w in self.weights.items()) / sum(self.weights.values())
        value = min(mean, *(scores[n] for n in INPUTS))
        return min(value, FAULT_SCORE) if self.faults else value

    def snapshot(self) -> dict[str, object]:
        now = time.monotonic()
        modules = {}
        for name, m in self.modules.items():
            score = m.score(now)
            modules[name] = {
                "score": round(score, 1),
                "status": status_of(score),
                "last_error": m.last_error if m.seen or m.last_error else "no data yet",
                "last_ok_s_ago": round(now - m.last_ok, 1) if m.seen else None,
                "error_rate": round(m.error_rate(), 3),  # of the last 100 outcomes
                "latency_p95_ms": None if (p95 := m.latency_p95()) is None else round(p95, 1),
            }
        for name, reason in self.faults.items():
            modules[name] = {
                "score": FAULT_SCORE,
                "status": "CRITICAL",
                "last_error": reason,
                "last_ok_s_ago": None,
                "error_rate": 1.0,
                "latency_p95_ms": None,
            }
        overall = self.overall()
        return {"overall": round(overall, 1), "status": status_of(overall), "modules": modules,
                "faults": dict(self.faults)}  # fmt: skip
