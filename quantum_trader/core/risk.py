"""Account-level risk limits (SPEC §9), pure: fed equity and the time, it says what is blocked and
reports every trip once.

- **Daily loss limit**: equity at or below (1 − limit) × the UTC day's starting equity → no new
  entries until the next UTC day.
- **Circuit breaker**: drawdown from the equity peak — all-time, or the highest equity of a rolling
  window — at or beyond ``circuit_breaker_drawdown`` → no new entries for the cooldown. The peak is
  never re-based at a trip: the breaker trips once per breach and re-arms when the drawdown has
  recovered to half its threshold (so equity hovering at the line does not trip it every candle).
- **Hard max drawdown**: drawdown from the peak at or beyond ``max_drawdown`` → no new entries
  until an operator resets it (``qtrader risk reset``; it survives restarts through the journal).
- **Loss budget** (:func:`budget_refusal`): an entry is refused when, with every open stop and its
  own filled (fees, slippage and the gap allowance included), equity would breach the daily limit
  or the hard drawdown — so the limits bound what can be lost, not only what has been.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from quantum_trader.core.checks import finite, in_range

DAY_MS = 86_400_000
SHORT_RUN = 40  # ``advance`` over this few candles goes one update at a time (numpy costs more)


class TripKind(StrEnum):
    DAILY_LOSS = "daily_loss"
    CIRCUIT_BREAKER = "circuit_breaker"
    MAX_DRAWDOWN = "max_drawdown"
    LOSS_BUDGET = "loss_budget"  # entries refused: the open stops leave no room for another


@dataclass(frozen=True, slots=True)
class RiskTrip:
    """One trip of a limit (the ``risk.tripped`` event)."""

    kind: TripKind
    ts: int
    equity: float
    peak: float
    day_start: float
    limit: float
    reason: str
    flatten: bool = False  # positions are closed too (``risk.on_limit = "flatten"``)


@dataclass(frozen=True, slots=True)
class RiskStatus:
    kill_switch: bool
    circuit_breaker: bool
    day_start_equity: float
    peak_equity: float
    breaker_until_ms: int
    reason: str
    halted: bool = False
    budget_blocked: bool = False  # the loss budget refuses entries (until one fits again)


class RiskGuard:
    def __init__(
        self,
        daily_loss_limit: float,
        drawdown: float,
        cooldown_ms: int,
        max_drawdown: float = 1.0,
        peak_window_ms: int = 0,
        flatten: bool = False,
    ) -> None:
        self.daily_loss_limit = in_range("risk.daily_loss_limit", daily_loss_limit, 1e-6, 1.0)
        self.drawdown = in_range("risk.circuit_breaker_drawdown", drawdown, 1e-6, 1.0)
        self.max_drawdown = in_range("risk.max_drawdown", max_drawdown, 1e-6, 1.0)
        self.cooldown_ms = cooldown_ms
        self.peak_window_ms = peak_window_ms  # 0: the all-time peak
        self.flatten = flatten
        self._day = -1
        self._day_start = 0.0
        self._peaks: deque[tuple[int, float]] = deque()  # (ts, equity), equity decreasing
        self._kill_day = -1
        self._breaker_until = 0
        self._in_breach = False
        self.halted = False
        self.reason = ""
        self.trips: list[RiskTrip] = []  # every trip, in order
        self._new: list[RiskTrip] = []
        self.budget_block = ""  # why the loss budget refuses entries ("": it does not)
        self._lifted: list[int] = []  # when blocks ended, since the last take_lifted

    @property
    def peak(self) -> float:
        return self._peaks[0][1] if self._peaks else 0.0

    @property
    def day_start(self) -> float:
        return self._day_start

    def _track_peak(self, eq: float, ts: int) -> None:
        while self._peaks and self._peaks[-1][1] <= eq:
            self._peaks.pop()
        self._peaks.append((ts, eq))
        if self.peak_window_ms > 0:
            while self._peaks[0][0] < ts - self.peak_window_ms:
                self._peaks.popleft()

    def update(self, equity: float, ts: int) -> RiskStatus:
        self._apply(finite("equity", equity), ts)
        return self.status(ts)

    def _apply(self, eq: float, ts: int) -> None:
        day = ts // DAY_MS
        if day != self._day:
            self._day, self._day_start = day, eq
        self._track_peak(eq, ts)
        peak = self.peak
        dd = 1 - eq / peak + 1e-12 if peak > 0 else 0.0  # 1e-12: 1 − 8,800/11,000 is 0.2
        if self._kill_day != day and eq <= self._day_start * (1 - self.daily_loss_limit):
            self._kill_day = day
            self._trip(
                TripKind.DAILY_LOSS,
                ts,
                eq,
                self.daily_loss_limit,
                f"daily loss limit: equity {eq:,.2f} is {1 - eq / self._day_start:.2%} below the "
                f"day's start {self._day_start:,.2f} (limit {self.daily_loss_limit:.2%}); "
                "no entries until the next UTC day",
            )
        if dd >= self.drawdown and not self._in_breach:
            self._in_breach, self._breaker_until = True, ts + self.cooldown_ms
            self._trip(
                TripKind.CIRCUIT_BREAKER,
                ts,
                eq,
                self.drawdown,
                f"circuit breaker: equity {eq:,.2f} is {dd:.2%} below peak {peak:,.2f} "
                f"(limit {self.drawdown:.2%}); no entries for {self.cooldown_ms / 60_000:.0f} min",
            )
        elif dd < self.drawdown / 2:  # hysteresis: re-armed once half the drawdown is recovered
            self._in_breach = False
        if dd >= self.max_drawdown and not self.halted:
            self.halted = True
            self._trip(
                TripKind.MAX_DRAWDOWN,
                ts,
                eq,
                self.max_drawdown,
                f"max drawdown: equity {eq:,.2f} is {dd:.2%} below peak {peak:,.2f} "
                f"(limit {self.max_drawdown:.2%}); no entries until an operator resets it",
            )

    def advance(self, equity: npt.NDArray[np.float64], ts: npt.NDArray[np.int64]) -> int:
        """``update`` for each (equity, ts) in order, for as many leading ones as cannot trip a
        limit: returns how many were applied (the next one, if any, may trip: the caller feeds it
        through ``update``). The state afterwards is the one the per-candle updates leave; with
        the all-time peak it is computed at once, with a rolling peak one update at a time."""
        n = int(equity.size)
        if n == 0:
            return 0
        if n <= SHORT_RUN or self.peak_window_ms > 0 or bool((np.diff(ts) < 0).any()):
            for i, (eq, t) in enumerate(zip(equity.tolist(), ts.tolist(), strict=True)):
                if self._would_trip(finite("equity", eq), t):
                    return i
                self._apply(eq, t)
            return n
        flat = float(equity[0])
        if math.isfinite(flat) and flat > 0 and not bool((equity != flat).any()):
            return self._advance_flat(flat, ts)
        day = ts // DAY_MS
        starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])  # days are in order here
        first = np.repeat(starts, np.diff(np.r_[starts, n]))  # each candle's day's first candle
        day_start = np.where(day == self._day, self._day_start, equity[first])
        peak = np.maximum(self.peak, np.maximum.accumulate(equity))
        with np.errstate(divide="ignore", invalid="ignore"):
            dd = np.where(peak > 0, 1 - equity / peak + 1e-12, 0.0)
        rearmed = np.logical_or.accumulate(dd < self.drawdown / 2)
        in_breach = self._in_breach & ~np.r_[False, rearmed[:-1]]
        may_trip = (day != self._kill_day) & (equity <= day_start * (1 - self.daily_loss_limit))
        may_trip |= (dd >= self.drawdown) & ~in_breach
        if not self.halted:
            may_trip |= dd >= self.max_drawdown
        k = int(np.argmax(may_trip)) if may_trip.any() else n
        if k == 0:
            return 0
        if day[k - 1] != self._day:
            self._day, self._day_start = int(day[k - 1]), float(equity[first[k - 1]])
        later_max = np.r_[np.maximum.accumulate(equity[:k][::-1])[::-1][1:], -np.inf]
        for i in np.flatnonzero(equity[:k] > later_max).tolist():  # no later equity reaches
            self._track_peak(float(equity[i]), int(ts[i]))
        if self._in_breach and rearmed[k - 1]:
            self._in_breach = False
        return k

    def _advance_flat(self, eq: float, ts: npt.NDArray[np.int64]) -> int:
        """``advance`` over candles of one equity ``eq`` > 0, in time order, with the all-time
        peak — a backtest's stretches with nothing open. The peak and the drawdown are the first
        candle's throughout and a later day starts at ``eq`` itself, so a limit trips on the first
        candle or on none; then the last candle's update leaves the state that all of theirs do."""
        if self._would_trip(eq, int(ts[0])):
            return 0
        self._apply(eq, int(ts[0]))
        self._apply(eq, int(ts[-1]))
        return int(ts.size)

    def _would_trip(self, eq: float, ts: int) -> bool:
        """Would ``update(eq, ts)`` trip a limit? (The same tests, nothing changed.)"""
        day = ts // DAY_MS
        day_start = eq if day != self._day else self._day_start
        if self._kill_day != day and eq <= day_start * (1 - self.daily_loss_limit):
            return True
        window = self.peak_window_ms
        if not window:  # the deque falls: its first is the all-time peak
            peak = max(eq, self._peaks[0][1]) if self._peaks else eq
        else:
            peak = max([eq, *(p for t, p in self._peaks if t >= ts - window)])
        dd = 1 - eq / peak + 1e-12 if peak > 0 else 0.0
        return (dd >= self.drawdown and not self._in_breach) or (
            dd >= self.max_drawdown and not self.halted
        )

    def _trip(self, kind: TripKind, ts: int, eq: float, limit: float, reason: str) -> None:
        flatten = self.flatten and kind is not TripKind.CIRCUIT_BREAKER
        trip = RiskTrip(kind, ts, eq, self.peak, self._day_start, limit, reason, flatten)
        self.reason = reason
        self.trips.append(trip)
        self._new.append(trip)

    def take_trips(self) -> list[RiskTrip]:
        """The trips since the last call (to publish)."""
        out, self._new = self._new, []
        return out

    def restore_halt(self, reason: str) -> None:
        """A hard stop journaled by an earlier run that no operator has reset."""
        self.halted, self.reason = True, reason

    def status(self, ts: int) -> RiskStatus:
        return RiskStatus(
            kill_switch=self._kill_day == ts // DAY_MS,
            circuit_breaker=ts < self._breaker_until,
            day_start_equity=self._day_start,
            peak_equity=self.peak,
            breaker_until_ms=self._breaker_until,
            reason=self.reason,
            halted=self.halted,
            budget_blocked=bool(self.budget_block),
        )

    def budget(self, worst_equity: float, ts: int) -> str | None:
        """The loss budget for one entry (:func:`budget_refusal`), kept as a state: the first
        refusal of a block is a ``loss_budget`` trip (reported like any trip), later ones are
        not; the first entry that fits again ends the block (:meth:`take_lifted`)."""
        refusal = budget_refusal(worst_equity, self)
        if refusal is not None and not self.budget_block:
            self.budget_block = refusal
            by_peak = self.peak > 0 and worst_equity <= self.peak * (1 - self.max_drawdown)
            limit = self.max_drawdown if by_peak else self.daily_loss_limit
            trip = RiskTrip(TripKind.LOSS_BUDGET, ts, worst_equity, self.peak, self._day_start,
                            limit, refusal)  # fmt: skip
            self.trips.append(trip)  # no flatten: it only refuses entries
            self._new.append(trip)
        elif refusal is None and self.budget_block:
            self.budget_block = ""
            self._lifted.append(ts)
        return refusal

    def take_lifted(self) -> list[int]:
        """When loss-budget blocks ended, since the last call (to report)."""
        out, self._lifted = self._lifted, []
        return out


def budget_refusal(worst_equity: float, guard: RiskGuard) -> str | None:
    """Why an entry is refused if ``worst_equity`` — the equity with every open stop and the new
    one filled — would breach the daily limit or the hard drawdown; None when it fits."""
    peak, day_start = guard.peak, guard.day_start
    if peak > 0 and worst_equity <= peak * (1 - guard.max_drawdown):
        return (
            f"loss budget: with every stop filled equity would be {worst_equity:,.2f}, "
            f"{1 - worst_equity / peak:.2%} below peak {peak:,.2f} (max drawdown "
            f"{guard.max_drawdown:.2%})"
        )
    if day_start > 0 and worst_equity <= day_start * (1 - guard.daily_loss_limit):
        return (
            f"loss budget: with every stop filled equity would be {worst_equity:,.2f}, "
            f"{1 - worst_equity / day_start:.2%} below the day's start {day_start:,.2f} "
            f"(daily limit {guard.daily_loss_limit:.2%})"
        )
    return None
