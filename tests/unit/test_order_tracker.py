"""The order tracker and its pure rules: the fill wins, a trade is booked once, and every
transition is journaled."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantum_trader.core.order_state import OrderState, after_answer, after_fill
from quantum_trader.core.types import Fill, OrderSide
from quantum_trader.exchange.base import Order, OrderStatus, OrderType
from quantum_trader.execution.orders import OrderTracker
from quantum_trader.store.journal import Journal

SYM = "BTC/USDT:USDT"
ANSWERS = [OrderState.LIVE, OrderState.CANCELLED, OrderState.EXPIRED, OrderState.FILLED]


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("answer"), st.sampled_from(ANSWERS)),
            st.tuples(st.just("fill"), st.floats(0.1, 2.0)),
        ),
        max_size=12,
    )
)
def test_once_filled_an_order_stays_filled(events: list[tuple[str, object]]) -> None:
    state, filled, qty = OrderState.LIVE, 0.0, 3.0
    for kind, value in events:
        was_filled = state is OrderState.FILLED
        if kind == "answer":
            assert isinstance(value, OrderState)
            state = after_answer(state, value)
        else:
            assert isinstance(value, float)
            filled += value
            state = after_fill(state, filled, qty)
            assert state is (OrderState.FILLED if filled >= qty - 1e-12 else state)
        if was_filled:
            assert state is OrderState.FILLED


def _order(status: OrderStatus, filled: float = 0.0) -> Order:
    return Order("O1", "qt1-tp1", SYM, OrderSide.SELL, OrderType.LIMIT, 3.0, status,
                 filled_qty=filled)  # fmt: skip


def _fill(qty: float, trade: str) -> Fill:
    return Fill(
        "O1", "qt1-tp1", SYM, OrderSide.SELL, qty, 101.0, 0.1, 1_767_225_600_000, True, trade
    )


def test_a_fill_after_a_cancel_wins_and_is_booked_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    t = OrderTracker(journal)
    t.submitted("I", "qt1-tp1", "tp1", SYM, "SELL", "LIMIT", 3.0, 101.0)
    t.answered(_order(OrderStatus.NEW))
    t.cancelling("O1")
    assert t.orders["qt1-tp1"].state is OrderState.CANCELLING
    t.answered(_order(OrderStatus.NEW))  # a stale answer does not undo the cancel request
    assert t.orders["qt1-tp1"].state is OrderState.CANCELLING
    assert t.fill(_fill(1.0, "O1:1")) and t.orders["qt1-tp1"].state is OrderState.CANCELLING
    assert not t.fill(_fill(1.0, "O1:1"))  # the same trade again: not booked twice
    assert t.duplicate_fills == 1
    assert t.fill(_fill(2.0, "O1:3"))
    t.cancelled("O1")  # the cancel's answer arrives after the last fill: the fill won
    assert t.orders["qt1-tp1"].state is OrderState.FILLED
    row = journal.order("qt1-tp1")
    assert row is not None and (row["state"], row["filled"]) == ("filled", 3.0)
    assert journal.db.execute("SELECT count(*) FROM fills").fetchone()[0] == 2
    t.forget("I")
    assert t.get("O1") is None and t.orders == {}


def test_the_journal_keeps_each_orders_price_and_final_state(tmp_path: Path) -> None:
    """Issue 28, item 14: filled orders were journaled with avg_price 0 (the fills table had the
    prices) and orders whose cancel was refused stayed 'cancelling' for ever once the trade was
    booked. Now the order row carries its fills' average price, and booking the trade settles
    what is left: a refused cancel means the order is gone."""
    journal = Journal(tmp_path / "j.sqlite3")
    t = OrderTracker(journal)
    t.submitted("I", "qt1-tp1", "tp1", SYM, "SELL", "LIMIT", 3.0, 101.0)
    t.answered(_order(OrderStatus.NEW))
    t.fill(Fill("O1", "qt1-tp1", SYM, OrderSide.SELL, 1.0, 101.0, 0.01, 1_704_067_200_000,
                trade_id="O1:1"))  # fmt: skip
    t.fill(Fill("O1", "qt1-tp1", SYM, OrderSide.SELL, 2.0, 101.3, 0.02, 1_704_067_200_000,
                trade_id="O1:3"))  # fmt: skip
    row = journal.order("qt1-tp1")
    assert row is not None and row["avg_price"] == pytest.approx(101.2)
    t.submitted("I", "qt1-tp2", "tp2", SYM, "SELL", "LIMIT", 3.0, 102.0)
    t.answered(replace(_order(OrderStatus.NEW), id="O2", client_id="qt1-tp2"))
    t.cancelling("O2")  # its cancel was refused: the order is gone
    t.forget("I")  # the trade is booked
    row = journal.order("qt1-tp2")
    assert row is not None and row["state"] == "cancelled"
