"""An order's life as explicit states, and the one rule for races between answers and fills:
**the fill wins** (pure; the tracker in :mod:`quantum_trader.execution.orders` applies it)."""

from __future__ import annotations

from enum import StrEnum


class OrderState(StrEnum):
    PENDING = "pending"  # journaled, sent or about to be; no answer yet
    UNKNOWN = "unknown"  # the answer was lost: looked up by client id before any resend
    LIVE = "live"  # resting (or partly filled) on the exchange
    CANCELLING = "cancelling"  # a cancel was sent; a fill may still win
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the exchange dropped it (a reduce-only order when the position went)
    REJECTED = "rejected"  # a definite no

    @property
    def final(self) -> bool:
        return self in _FINAL

    @property
    def resting(self) -> bool:
        """May still fill on the exchange."""
        return self in (OrderState.LIVE, OrderState.CANCELLING)


_FINAL = frozenset(
    {OrderState.FILLED, OrderState.CANCELLED, OrderState.EXPIRED, OrderState.REJECTED}
)


def after_answer(current: OrderState, answered: OrderState) -> OrderState:
    """What an exchange answer (an order response or look-up) makes of ``current``: a fill the
    tracker already booked is never undone by a stale answer."""
    if current is OrderState.FILLED:
        return current
    if current is OrderState.CANCELLING and answered is OrderState.LIVE:
        return current
    return answered


def after_fill(current: OrderState, filled: float, qty: float) -> OrderState:
    """A fill wins over any state: complete → FILLED; partial → still resting (or CANCELLING).
    An order the exchange already reported filled stays so while its fills trickle in."""
    if current is OrderState.FILLED or qty <= 0 or filled >= qty - 1e-12:
        return OrderState.FILLED
    return current if current.resting else OrderState.LIVE
