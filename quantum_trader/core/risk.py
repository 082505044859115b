"""Account-level risk limits (SPEC §9), pure: fed equity and the time, it says what is blocked.

- Daily loss limit: equity at or below (1 − limit) × the day's starting equity (UTC day) trips the
  kill switch until the next UTC day.
- Circuit breaker: equity at or below (1 − drawdown) × the peak trips it for ``cooldown_ms``; the
  peak restarts from the equity at the trip so it does not re-trip at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from quantum_trader.core.checks import finite, in_range

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class RiskStatus:
    kill_switch: bool
    circuit_breaker: bool
    day_start_equity: float
    peak_equity: float
    breaker_until_ms: int
    reason: str


class RiskGuard:
    def __init__(self, daily_loss_limit: float, drawdown: float, cooldown_ms: int) -> None:
        self.daily_loss_limit = in_range("risk.daily_loss_limit", daily_loss_limit, 1e-6, 1.0)
        self.drawdown = in_range("risk.circuit_breaker_drawdown", drawdown, 1e-6, 1.0)
        self.cooldown_ms = cooldown_ms
        self._day = -1
        self._day_start = 0.0
        self._peak = 0.0
        self._kill_day = -1
        self._breaker_until = 0
        self.reason = ""

    def update(self, equity: float, ts: int) -> RiskStatus:
        eq = finite("equity", equity)
        day = ts // DAY_MS
        if day != self._day:
            self._day, self._day_start = day, eq
        self._peak = max(self._peak, eq)
        if self._kill_day != day and eq <= self._day_start * (1 - self.daily_loss_limit):
            self._kill_day = day
            self.reason = (
                f"daily loss limit: equity {eq:,.2f} ≤ {1 - self.daily_loss_limit:.0%} of "
                f"day start {self._day_start:,.2f}"
            )
        if ts >= self._breaker_until and eq <= self._peak * (1 - self.drawdown):
            self._breaker_until = ts + self.cooldown_ms
            self.reason = (
                f"circuit breaker: equity {eq:,.2f} is {1 - eq / self._peak:.1%} below peak "
                f"{self._peak:,.2f}; no entries for {self.cooldown_ms / 60_000:.0f} min"
            )
            self._peak = eq
        return self.status(ts)

    def status(self, ts: int) -> RiskStatus:
        return RiskStatus(
            kill_switch=self._kill_day == ts // DAY_MS,
            circuit_breaker=ts < self._breaker_until,
            day_start_equity=self._day_start,
            peak_equity=self._peak,
            breaker_until_ms=self._breaker_until,
            reason=self.reason,
        )
