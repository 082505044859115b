"""Risk service: after every candle the account is read, the risk guard updated, and each trip
reported — a ``risk.tripped`` event (mirrored to Redis like every topic), a WARNING line with the
numbers, a journal row — and, with ``risk.on_limit = "flatten"``, the exit manager closes every
position (it takes the event off its own inbox, in order with fills and prices)."""

from __future__ import annotations

import json
import time
from collections import Counter

from loguru import logger

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import CandleEvent, Topic, to_jsonable
from quantum_trader.core.risk import RiskGuard, RiskTrip
from quantum_trader.exchange.base import Exchange, ExchangeError
from quantum_trader.execution.book import Book
from quantum_trader.runtime.clock import Clock, WallClock
from quantum_trader.store.journal import Journal

log = logger.bind(component="risk")
RISK_TRIPPED = "risk_tripped"  # the journal's event kind
RISK_RESET = "risk_reset"
BUDGET_LIFTED = "loss_budget_lifted"
LIVE_READ_S = 5.0


class RiskService:
    def __init__(
        self,
        bus: Bus,
        exchange: Exchange,
        book: Book,
        guard: RiskGuard,
        clock: Clock,
        journal: Journal | None = None,
        max_candle_age_ms: int | None = None,
        wall: Clock | None = None,
    ) -> None:
        """``max_candle_age_ms`` (live): older candles (the history at start-up) are skipped,
        and the account is read at most every ``LIVE_READ_S`` (five symbols' candles close in
        the same second: one read serves them all)."""
        self.bus, self.exchange, self.book, self.guard = bus, exchange, book, guard
        self.clock, self.journal = clock, journal
        self.max_candle_age_ms = max_candle_age_ms
        self.wall = wall or WallClock()
        self._read_at = float("-inf")
        self.trips: Counter[str] = Counter()
        self.last_trip_ts: dict[str, int] = {}

    def restore(self) -> None:
        """A hard stop from an earlier run stays until an operator resets it."""
        if self.journal is None:
            return
        halt = None
        for kind, detail in self.journal.events():
            if kind == RISK_TRIPPED and json.loads(detail).get("kind") == "max_drawdown":
                halt = json.loads(detail)["reason"]
            elif kind == RISK_RESET:
                halt = None
        if halt is not None:
            self.guard.restore_halt(halt)
            log.warning("still halted from an earlier run: {} (qtrader risk reset lifts it)", halt)

    async def on_candle(self, event: CandleEvent) -> None:
        if self.journal is not None and self.journal.failing:
            self.journal.writes.retry()  # space may have returned with nothing new to write
        if self.max_candle_age_ms is not None:
            close_ts = event.candle.ts + event.timeframe_ms
            if self.wall.now_ms() - close_ts > self.max_candle_age_ms:
                return  # history: it says nothing about the account now
        if self.max_candle_age_ms is None or time.monotonic() - self._read_at >= LIVE_READ_S:
            try:
                balance = await self.exchange.fetch_balance()
            except ExchangeError as exc:
                log.warning("account not read ({}); limits checked at the next candle", exc)
                return
            self._read_at = time.monotonic()
            self.book.equity, self.book.wallet = balance.equity, balance.wallet
        self.guard.update(self.book.equity, self.clock.now_ms())  # read now, or < 5 s ago
        for trip in self.guard.take_trips():
            await self._report(trip)
        for ts in self.guard.take_lifted():
            log.info("loss budget: entries fit again (the open stops leave room)")
            if self.journal is not None:
                self.journal.event(BUDGET_LIFTED, json.dumps({"ts": ts}))

    async def _report(self, trip: RiskTrip) -> None:
        self.trips[trip.kind.value] += 1
        self.last_trip_ts[trip.kind.value] = trip.ts
        log.warning(
            "RISK TRIPPED {}: equity {:,.2f} peak {:,.2f} day start {:,.2f} limit {:.2%}{} | {}",
            trip.kind.value,
            trip.equity,
            trip.peak,
            trip.day_start,
            trip.limit,
            " — flattening every position" if trip.flatten else "",
            trip.reason,
        )
        if self.journal is not None:
            self.journal.event(RISK_TRIPPED, json.dumps(to_jsonable(trip)))
        await self.bus.publish(Topic.RISK_TRIPPED, trip)

    def snapshot(self) -> dict[str, object]:
        s = self.guard.status(self.clock.now_ms())
        return {
            "halted": s.halted,
            "loss_budget_blocked": s.budget_blocked,
            "kill_switch": s.kill_switch,
            "circuit_breaker": s.circuit_breaker,
            "breaker_until_ms": s.breaker_until_ms,
            "peak_equity": round(s.peak_equity, 6),
            "day_start_equity": round(s.day_start_equity, 6),
            "trips": dict(self.trips),
            "last_trip_ts": dict(self.last_trip_ts),
            "reason": s.reason,
        }
