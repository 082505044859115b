"""The book equals the exchange (SPEC §9), checked after every event where the exchange can be read
for free: the paper exchange, in paper runs and backtests, once a candle has settled.

- the book's positions (symbol, side, quantity) are the exchange's positions;
- every open position has exactly one live stop of ours, the one the book knows;
- the resting orders of ours on a symbol are exactly the book's (stop and TP legs);
- no order of ours rests on a symbol without a position;
- every closed position is booked exactly once.

:func:`violations` is pure; :class:`InvariantWatch` runs it and keeps what it found — a count in the
summary and ``/health``, an ERROR line each, and a process-wide list the test suite asserts empty
after every test.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from loguru import logger

from quantum_trader.exchange.base import Order, OrderType, Position
from quantum_trader.execution.book import Book

log = logger.bind(component="invariants")
OURS = "qt"  # every client id we send starts so (see :func:`~book.client_id`)


def violations(
    book: Book, positions: Iterable[Position], open_orders: Iterable[Order]
) -> list[str]:
    out: list[str] = []
    held = {p.symbol: p for p in positions}
    ours: dict[str, list[Order]] = {}
    for o in open_orders:
        if o.client_id.startswith(OURS):
            ours.setdefault(o.symbol, []).append(o)
    for symbol in sorted(set(held) | set(book.positions)):
        mp, pos = book.positions.get(symbol), held.get(symbol)
        if mp is None:
            out.append(f"{symbol}: the exchange holds a position the book does not")
            continue
        if pos is None:
            out.append(f"{symbol}: the book holds {mp.opened.intent_id}, the exchange is flat")
            continue
        if pos.side is not mp.opened.plan.side or abs(pos.qty - mp.state.remaining) > 1e-9:
            out.append(
                f"{symbol}: book {mp.opened.plan.side} {mp.state.remaining:g}, "
                f"exchange {pos.side} {pos.qty:g}"
            )
        resting = ours.get(symbol, [])
        stops = [o.id for o in resting if o.type is OrderType.STOP_MARKET]
        if stops != [mp.stop_order_id]:
            out.append(f"{symbol}: live stops {stops}, the book's {mp.stop_order_id}")
        expected = {mp.stop_order_id, *mp.tp_orders}
        if {o.id for o in resting} != expected:
            out.append(
                f"{symbol}: resting {sorted(o.id for o in resting)}, "
                f"the book's {sorted(str(i) for i in expected)}"
            )
    for symbol, resting in sorted(ours.items()):
        if symbol not in held:
            out.append(f"{symbol}: {len(resting)} order(s) of ours rest with no position")
    if book.booked_twice:  # kept as closes are booked: a scan of every close per event is O(n²)
        out.append(f"a close was booked twice: {sorted(set(book.booked_twice))}")
    return out


class InvariantWatch:
    #: every violation seen in this process (the test suite asserts it empty after each test)
    seen: ClassVar[list[str]] = []

    def __init__(self, book: Book) -> None:
        self.book = book
        self.count = 0

    def check(self, positions: Iterable[Position], open_orders: Iterable[Order], ts: int) -> None:
        found = violations(self.book, positions, open_orders)
        for v in found:
            log.error("BOOK ≠ EXCHANGE at {}: {}", ts, v)
        self.count += len(found)
        InvariantWatch.seen.extend(found)
