"""The daemon's book: the positions it manages, the intents it has seen, recent results."""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field

from quantum_trader.bus.messages import PositionClosed, PositionOpened
from quantum_trader.core.exits import ExitState
from quantum_trader.core.pnl import ClosingFill, RealisedPnl

OUR_PREFIX = "qt"  # every client order id we place starts with it


def client_id(intent_id: str, suffix: str) -> str:
    """A deterministic Binance-valid client order id (≤ 36 chars of [A-Za-z0-9_-])."""
    digest = hashlib.sha1(intent_id.encode(), usedforsecurity=False).hexdigest()[:20]
    return f"{OUR_PREFIX}{digest}-{suffix}"[:36]


def ours(order_client_id: str | None) -> bool:
    """Did we place this order? (Others — by hand, another bot — are left alone.)"""
    return (order_client_id or "").startswith(OUR_PREFIX)


@dataclass(slots=True)
class ManagedPosition:
    opened: PositionOpened
    state: ExitState
    stop_order_id: str | None = None
    stop_seq: int = 0
    stop_reason: str = "stop_loss"
    tp_orders: dict[str, int] = field(default_factory=dict)  # order id → leg 1..3
    tp_filled: dict[str, float] = field(default_factory=dict)  # order id → qty filled so far
    exits: list[ClosingFill] = field(default_factory=list)
    closing: bool = False  # flat or being closed on the exchange: every fill books until done
    close_reason: str = ""  # the exit reason of the trade once it is closing
    #: stops replaced by a move, with the reason they stood for: one may have filled before its
    #: cancel reached the exchange — the fill wins and is booked, so the position still owns them
    retired: dict[str, str] = field(default_factory=dict)

    @property
    def symbol(self) -> str:
        return self.opened.plan.symbol

    def owns(self, order_id: str) -> bool:
        return (
            order_id == self.stop_order_id or order_id in self.tp_orders or order_id in self.retired
        )

    def stop_reason_of(self, order_id: str) -> str | None:
        """The exit reason a fill of this order books, if it is one of the position's stops."""
        if order_id == self.stop_order_id:
            return self.stop_reason
        return self.retired.get(order_id)


class Book:
    def __init__(self, recent: int = 20, keep_closed: int = 500) -> None:
        self.positions: dict[str, ManagedPosition] = {}
        self.seen_intents: set[str] = set()
        self.recent_roe: deque[float] = deque(maxlen=recent)
        self.closed: deque[PositionClosed] = deque(maxlen=keep_closed)
        self.closed_count = 0
        self.booked: set[str] = set()  # every intent whose close was booked
        self.booked_twice: list[str] = []  # intents whose close was booked again
        self.pnls: list[float] = []  # each closed trade's net PnL, USDT
        self.realised = 0.0
        self.wins = 0
        self.equity = 0.0  # the account's equity when last read (the strategy reads it per signal)
        self.wallet = 0.0  # ... and its wallet (realised PnL only)
        #: entries in flight (symbol → reserved margin): admitted, not yet open or refused
        self.entering: dict[str, float] = {}

    def pnl_at_stops(self, exit_cost: float) -> float:
        """What the open positions would realise if every stop filled now (negative: a loss),
        each exit paying ``exit_cost`` of its notional (fee, slippage, gap allowance)."""
        return sum(
            p.state.remaining
            * (p.opened.plan.side.sign * (p.state.stop_price - p.opened.plan.entry_price)
               - p.state.stop_price * exit_cost)
            for p in self.positions.values()
        )  # fmt: skip

    def used_margin(self) -> float:
        """Margin the book's positions lock (what is left of each entry's)."""
        return sum(
            p.opened.plan.margin * p.state.remaining / p.opened.plan.qty
            for p in self.positions.values()
        )

    def open_symbols(self) -> frozenset[str]:
        return frozenset(self.positions)

    def by_order(self, order_id: str) -> ManagedPosition | None:
        return next((p for p in self.positions.values() if p.owns(order_id)), None)

    def record_close(self, closed: PositionClosed) -> None:
        self.positions.pop(closed.symbol, None)
        self.recent_roe.append(closed.roe)
        self.closed.append(closed)
        if closed.intent_id in self.booked:
            self.booked_twice.append(closed.intent_id)
        self.booked.add(closed.intent_id)
        self.pnls.append(closed.pnl)
        self.closed_count += 1
        self.realised += closed.pnl
        self.wins += closed.pnl > 0


def closed_trade(mp: ManagedPosition, pnl: RealisedPnl, reason: str, now_ms: int) -> PositionClosed:
    plan = mp.opened.plan
    return PositionClosed(
        mp.opened.intent_id,
        plan.symbol,
        plan.side,
        plan.qty,
        plan.entry_price,
        pnl.exit_price,
        plan.leverage,
        plan.margin,
        pnl.gross,
        pnl.fees,
        pnl.funding,
        pnl.net,
        pnl.roe,
        reason,
        mp.state.legs_done,
        plan.opened_ts,
        now_ms,
        mp.opened.voters,
    )
