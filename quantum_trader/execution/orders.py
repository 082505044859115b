"""The order tracker: the one owner of every order's life — entry, stop, TP legs, closes.

Each order has an explicit :class:`OrderState`; every transition is journaled (when a journal is
kept) through :meth:`OrderTracker.move`, the only writer. Fills are keyed by their trade id, so a
fill reported twice (a poll after a restart, a websocket and a poll) is booked once.

The one rule for the race "cancel of an order that already filled": **the fill wins**. A cancel
that the exchange refuses because the order is gone leaves the order ``CANCELLING`` until its final
state is known; a fill moves any state, ``CANCELLED`` included, to ``FILLED`` (or keeps a partly
filled order open) and is booked by its owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quantum_trader.core.order_state import OrderState, after_answer, after_fill
from quantum_trader.core.types import Fill
from quantum_trader.exchange.base import Order, OrderStatus
from quantum_trader.store.journal import Journal

_FROM_STATUS = {
    OrderStatus.NEW: OrderState.LIVE,
    OrderStatus.PARTIALLY_FILLED: OrderState.LIVE,
    OrderStatus.FILLED: OrderState.FILLED,
    OrderStatus.CANCELED: OrderState.CANCELLED,
    OrderStatus.EXPIRED: OrderState.EXPIRED,
    OrderStatus.REJECTED: OrderState.REJECTED,
}


def state_of(status: OrderStatus) -> OrderState:
    """The tracker's state for an exchange's order status."""
    return _FROM_STATUS[status]


@dataclass(slots=True)
class TrackedOrder:
    client_id: str
    intent_id: str
    role: str  # entry, stop, tp1..tp3, close, emergency
    symbol: str
    qty: float  # 0 for a close-position stop (it closes whatever is open)
    order_id: str = ""
    state: OrderState = OrderState.PENDING
    filled_qty: float = 0.0
    filled_value: float = 0.0  # Σ qty × price of the fills booked: their average price
    trades: set[str] = field(default_factory=set)


class OrderTracker:
    """In memory for the orders of open trades; journaled as it changes when a journal is kept."""

    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal
        self.orders: dict[str, TrackedOrder] = {}  # client id → order
        self._by_id: dict[str, str] = {}  # exchange order id → client id
        self.duplicate_fills = 0

    def get(self, order_id: str) -> TrackedOrder | None:
        cid = self._by_id.get(order_id)
        return self.orders.get(cid) if cid is not None else None

    def submitted(
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
        known = self.orders.get(client_id)
        if known is None or known.state.final:
            self.orders[client_id] = TrackedOrder(client_id, intent_id, role, symbol, qty)
        else:
            known.state = OrderState.PENDING
        if self.journal is not None:
            detail = {"leverage": leverage} if leverage else None
            self.journal.order_pending(
                client_id, intent_id, role, symbol, side, kind, qty, price, detail
            )

    def answered(self, order: Order) -> None:
        t = self._record(order.client_id, order.symbol)
        if order.id:
            t.order_id = order.id
            self._by_id[order.id] = order.client_id
        t.state = after_answer(t.state, state_of(order.status))
        t.filled_qty = max(t.filled_qty, order.filled_qty)
        self._journal(t, order.avg_price)

    def move(self, client_id: str, state: OrderState) -> None:
        """A transition without an exchange answer: ``rejected`` (a definite no), ``unknown``
        (no answer), ``cancelling``, ``cancelled``, ``expired``."""
        t = self.orders.get(client_id)
        if t is None:
            if self.journal is not None:
                self.journal.order_state(client_id, state.value)
            return
        if t.state is OrderState.FILLED:
            return  # the fill won
        t.state = state
        self._journal(t)

    def cancelling(self, order_id: str) -> None:
        t = self.get(order_id)
        if t is not None:
            self.move(t.client_id, OrderState.CANCELLING)

    def cancelled(self, order_id: str) -> None:
        t = self.get(order_id)
        if t is not None:
            self.move(t.client_id, OrderState.CANCELLED)

    def fill(self, fill: Fill) -> bool:
        """Book one fill; False when this trade id was booked already."""
        t = self.get(fill.order_id) or self._record(fill.client_id, fill.symbol, fill.order_id)
        key = fill.trade_id or f"{fill.order_id}:{t.filled_qty + fill.qty:.12g}"
        if key in t.trades:
            self.duplicate_fills += 1
            return False
        t.trades.add(key)
        t.filled_qty += fill.qty
        t.filled_value += fill.qty * fill.price
        t.state = after_fill(t.state, t.filled_qty, t.qty)
        if self.journal is not None:
            self.journal.record_fill(fill)
        self._journal(t)
        return True

    def resting(self, symbol: str | None = None) -> list[TrackedOrder]:
        return [
            t
            for t in self.orders.values()
            if t.state.resting and (symbol is None or t.symbol == symbol)
        ]

    def forget(self, intent_id: str) -> None:
        """A booked trade's orders leave memory (the journal keeps them). One still
        ``CANCELLING`` — its cancel refused, the order gone — is settled ``CANCELLED``: the trade
        is booked whole, so no fill of it is still to come."""
        for cid in [c for c, t in self.orders.items() if t.intent_id == intent_id]:
            t = self.orders[cid]
            if t.state is OrderState.CANCELLING:
                self.move(cid, OrderState.CANCELLED)
            self._by_id.pop(self.orders.pop(cid).order_id, None)

    def _record(self, client_id: str, symbol: str, order_id: str = "") -> TrackedOrder:
        t = self.orders.get(client_id)
        if t is None:  # an order this run did not send (reconciliation, a restart)
            t = self.orders[client_id] = TrackedOrder(client_id, "", "", symbol, 0.0)
        if order_id:
            t.order_id = order_id
            self._by_id[order_id] = client_id
        return t

    def _journal(self, t: TrackedOrder, avg_price: float | None = None) -> None:
        if not avg_price and t.filled_qty > 0 and t.filled_value > 0:
            avg_price = t.filled_value / t.filled_qty  # what its fills paid
        if self.journal is not None:
            self.journal.order_state(
                t.client_id, t.state.value, t.order_id or None, t.filled_qty, avg_price
            )
