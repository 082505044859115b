"""The account as last read from the exchange, kept current by one background loop so that
``/health``, ``/metrics`` and the summary answer from state — in milliseconds, spending no request
weight, and also while the exchange is down (they then say how old the view is and why)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from loguru import logger

from quantum_trader.exchange.base import (
    Balance,
    Exchange,
    ExchangeError,
    Order,
    OrderType,
    Position,
)
from quantum_trader.execution.book import Book
from quantum_trader.runtime.health import HealthMonitor

log = logger.bind(component="account")


@dataclass
class AccountView:
    balance: Balance | None = None
    positions: dict[str, Position] = field(default_factory=dict)
    stops: dict[str, float] = field(default_factory=dict)  # symbol → our live stop's price
    #: symbol → the stop order id the book held when the exchange was read (the read checked it)
    checked: dict[str, str | None] = field(default_factory=dict)
    refreshed: float = 0.0  # time.time() of the last good read
    error: str = ""  # why the last read failed ("" when it did not)
    failures: int = 0  # failed reads in a row

    async def refresh(self, exchange: Exchange, book: Book, read_stops: bool = True) -> None:
        """Read balance, positions and (``read_stops``) each managed position's stop, one symbol
        at a time: Binance weighs an all-symbol open-orders read 40, one symbol 1. Live, the stop
        watch reads the stops anyway and reports them here (:meth:`saw_orders`)."""
        balance = await exchange.fetch_balance()
        positions = {p.symbol: p for p in await exchange.fetch_positions()}
        if read_stops:
            stops: dict[str, float] = {}
            checked: dict[str, str | None] = {}
            for symbol, mp in list(book.positions.items()):
                checked[symbol] = mp.stop_order_id
                for o in await exchange.fetch_open_orders(symbol):
                    if o.type is OrderType.STOP_MARKET and o.id == mp.stop_order_id:
                        stops[symbol] = o.stop_price
            self.stops, self.checked = stops, checked
        self.balance, self.positions = balance, positions
        self.refreshed, self.error, self.failures = time.time(), "", 0
        book.equity, book.wallet = balance.equity, balance.wallet

    def saw_orders(self, symbol: str, stop_id: str | None, orders: list[Order]) -> None:
        """What a read of ``symbol``'s open orders found of the position's stop ``stop_id``."""
        self.checked[symbol] = stop_id
        found = [o.stop_price for o in orders if o.id == stop_id]
        if found:
            self.stops[symbol] = found[0]
        else:
            self.stops.pop(symbol, None)

    def stop_of(
        self, symbol: str, stop_id: str | None, booked_price: float
    ) -> tuple[float | None, bool]:
        """(our stop's price on the exchange, whether a read confirmed it). A stop the last read
        checked is what that read found (None: gone); a newer one — placed since — is the price the
        exchange acknowledged when it accepted the order, not yet confirmed by a read."""
        if stop_id is not None and self.checked.get(symbol) == stop_id:
            return self.stops.get(symbol), True
        return (booked_price if stop_id is not None else None), False

    def age_s(self) -> float | None:
        return round(time.time() - self.refreshed, 1) if self.refreshed else None

    def snapshot(self) -> dict[str, object]:
        return {"age_s": self.age_s(), "error": self.error, "failures": self.failures}


def _book_shape(book: Book) -> tuple[tuple[str, str | None, float], ...]:
    return tuple(
        (s, mp.stop_order_id, mp.state.remaining) for s, mp in sorted(book.positions.items())
    )


async def keep_current(
    view: AccountView,
    exchange: Exchange,
    book: Book,
    health: HealthMonitor,
    every_s: float,
    tick_s: float = 0.25,
    read_stops: bool = True,
) -> None:
    """Refresh the view every ``every_s``, and as soon as the book's positions or stops change (a
    new position's stop shows at once); a failed read degrades the exchange module's health and is
    retried with backoff (2, 4, 8 … s), never raised: an outage is not a crash."""
    due, shape = 0.0, _book_shape(book)
    while True:
        now = time.monotonic()
        if now >= due or (_book_shape(book) != shape and view.failures == 0):
            shape = _book_shape(book)
            try:
                await view.refresh(exchange, book, read_stops)
                due = now + every_s
            except ExchangeError as exc:
                view.failures += 1
                view.error = f"{type(exc).__name__}: {exc}"
                health.error("exchange", f"account read: {exc}")
                log.warning("account not read ({}); the last view is {}s old", exc, view.age_s())
                due = now + min(every_s, 2.0 * 2 ** min(view.failures - 1, 10))
        await asyncio.sleep(tick_s)
