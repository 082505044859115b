"""What execution and the exit manager write to the journal, in their words. Without a journal
(backtests) every call is a no-op, so the services read the same either way."""

from __future__ import annotations

from quantum_trader.bus.messages import PnlExperience, PositionClosed
from quantum_trader.core.types import Fill, TradeIntent
from quantum_trader.exchange.base import Order
from quantum_trader.execution.book import ManagedPosition
from quantum_trader.store.codec import dumps
from quantum_trader.store.journal import Journal


class Ledger:
    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal

    def new_intent(self, intent: TradeIntent) -> bool:
        """False when the journal has seen this intent before (in this run or an earlier one)."""
        return self.journal is None or self.journal.record_intent(intent)

    def intent(self, intent_id: str, state: str, reason: str = "") -> None:
        if self.journal is not None:
            self.journal.intent_state(intent_id, state, reason)

    def pending(
        self,
        intent_id: str,
        client_id: str,
        role: str,
        symbol: str,
        side: str,
        kind: str,
        qty: float,
        price: float = 0.0,
        leverage: int = 0,
    ) -> None:
        if self.journal is not None:
            detail = {"leverage": leverage} if leverage else None
            self.journal.order_pending(
                client_id, intent_id, role, symbol, side, kind, qty, price, detail
            )

    def answered(self, order: Order) -> None:
        if self.journal is not None:
            state = "live" if order.status.live else order.status.value.lower()
            self.journal.order_state(
                order.client_id, state, order.id, order.filled_qty, order.avg_price
            )

    def failed(self, client_id: str, state: str) -> None:
        """``rejected`` (a definite no) or ``unknown`` (no answer: looked up before any retry)."""
        if self.journal is not None:
            self.journal.order_state(client_id, state)

    def cancelled(self, client_id: str) -> None:
        if self.journal is not None:
            self.journal.order_state(client_id, "cancelled")

    def fill(self, fill: Fill) -> None:
        if self.journal is not None:
            self.journal.record_fill(fill)
            self.journal.order_state(fill.client_id, "filled", fill.order_id)

    def position(self, mp: ManagedPosition) -> None:
        if self.journal is not None:
            self.journal.save_position(mp.opened.intent_id, mp.symbol, dumps(mp))

    def closed(self, closed: PositionClosed) -> None:
        if self.journal is not None:
            self.journal.record_close(closed)

    def experience(self, exp: PnlExperience) -> None:
        if self.journal is not None:
            self.journal.record_experience(exp)
