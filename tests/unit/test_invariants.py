"""The book-equals-exchange check finds each kind of mismatch (so the suite-wide fixture that
asserts it empty after every test can fail)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from quantum_trader.bus.messages import PositionClosed, PositionOpened
from quantum_trader.core.exits import ExitPlan, start
from quantum_trader.core.types import OrderSide, Regime, Side
from quantum_trader.exchange.base import Order, OrderStatus, OrderType, Position
from quantum_trader.execution.book import Book, ManagedPosition
from quantum_trader.execution.invariants import violations

SYM = "BTC/USDT:USDT"
PLAN = ExitPlan(SYM, Side.LONG, 100.0, 10.0, 10, 100.0, (101.0, 102.0, 103.0), (3.0, 3.0, 4.0),
                99.0, 0.01, 0, 0.01)  # fmt: skip


def _book() -> Book:
    opened = PositionOpened("I", "E1", PLAN, 0.5, 0.8, 0, 1.0, 0, 0, Regime.NORMAL, (), 1.0)
    book = Book()
    book.positions[SYM] = ManagedPosition(opened, start(PLAN), "S1", tp_orders={"T1": 1})
    return book


def _order(oid: str, kind: OrderType, cid: str = "") -> Order:
    return Order(oid, cid or f"qtabc-{oid}", SYM, OrderSide.SELL, kind, 0.0, OrderStatus.NEW)


POS = Position(SYM, Side.LONG, 10.0, 100.0, 10, 100.0, 91.0)
STOP, TP = _order("S1", OrderType.STOP_MARKET), _order("T1", OrderType.LIMIT)


def test_a_matching_book_has_no_violation() -> None:
    assert violations(_book(), [POS], [STOP, TP]) == []
    assert violations(_book(), [POS], [STOP, TP, _order("X", OrderType.LIMIT, "manual-1")]) == []


@pytest.mark.parametrize(
    ("positions", "orders", "found"),
    [
        ([], [STOP, TP], "the exchange is flat"),
        ([replace(POS, qty=7.0)], [STOP, TP], "book LONG 10, exchange LONG 7"),
        ([POS], [TP], "live stops []"),
        ([POS], [STOP, _order("S2", OrderType.STOP_MARKET), TP], "live stops ['S1', 'S2']"),
        ([POS], [STOP], "resting ['S1']"),
        ([POS, replace(POS, symbol="ETH/USDT:USDT")], [STOP, TP], "a position the book does not"),
    ],
)
def test_each_mismatch_is_found(positions: list[Position], orders: list[Order], found: str) -> None:
    assert any(found in v for v in violations(_book(), positions, orders)), found


def test_orphan_orders_and_double_bookings_are_found() -> None:
    book = Book()
    orphan = replace(STOP, symbol="ETH/USDT:USDT")
    assert "rest with no position" in violations(book, [], [orphan])[0]
    closed = PositionClosed("I", SYM, Side.LONG, 10, 100, 99, 10, 100, -10, 1, 0, -11, -0.11,
                            "sl", 0, 0, 1)  # fmt: skip
    book.record_close(closed)
    assert violations(book, [], []) == []
    for k in range(600):  # more closes than the book keeps: the double booking is still found
        book.record_close(replace(closed, intent_id=f"J{k}"))
    book.record_close(closed)
    assert violations(book, [], []) == ["a close was booked twice: ['I']"]
