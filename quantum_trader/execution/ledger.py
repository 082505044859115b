"""What execution and the exit manager write to the journal, in their words. Every order's life
goes through ``ledger.orders``, the :class:`OrderTracker` (kept in memory either way); without a
journal (backtests) the rest is a no-op, so the services read the same either way."""

from __future__ import annotations

from typing import Any

from quantum_trader.bus.messages import PnlExperience, PositionClosed
from quantum_trader.core.intent import TradeIntent
from quantum_trader.execution.book import ManagedPosition
from quantum_trader.execution.orders import OrderTracker
from quantum_trader.store.codec import dumps
from quantum_trader.store.journal import Journal


class Ledger:
    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal
        self.orders = OrderTracker(journal)

    def new_intent(self, intent: TradeIntent) -> bool:
        """False when the journal has seen this intent before (in this run or an earlier one)."""
        return self.journal is None or self.journal.record_intent(intent)

    def intent(self, intent_id: str, state: str, reason: str = "") -> None:
        if self.journal is not None:
            self.journal.intent_state(intent_id, state, reason)

    def position(self, mp: ManagedPosition) -> None:
        if self.journal is not None:
            self.journal.save_position(mp.opened.intent_id, mp.symbol, dumps(mp))

    def closed(self, closed: PositionClosed) -> None:
        if self.journal is not None:
            self.journal.record_close(closed)

    def decision(self, intent_id: str, ts: int, payload: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.record_decision(intent_id, ts, payload)

    def experience(self, exp: PnlExperience) -> None:
        if self.journal is not None:
            self.journal.record_experience(exp)
