"""Issue 10, item 7: an emergency close is booked, once, with its real fill.

The stop cannot be placed (every stop request gets no answer, as when the algo-order endpoint
answers 503): execution closes the position at market, and that close is a trade like any other —
``position.closed`` with the market fill's price and fees, the journal row closed, and the PnL
equal to the exchange wallet's movement. Nothing is left for the next start to "settle".
"""

from __future__ import annotations

from typing import Any

import pytest

from quantum_trader.bus.messages import PositionClosed, Topic
from quantum_trader.core.types import OrderSide, Side
from quantum_trader.exchange.base import Order, TemporaryExchangeError
from quantum_trader.exchange.paper import PaperExchange
from quantum_trader.pipeline import build_pipeline
from quantum_trader.settings import Settings
from quantum_trader.store.journal import Journal
from tests.component.fakes import ScriptedFeed, run_through
from tests.component.test_trade_lifecycle import SYM, T0, _intent


class NoStops(PaperExchange):
    async def create_stop_market(
        self, symbol: str, side: OrderSide, stop_price: float, client_id: str
    ) -> Order:
        raise TemporaryExchangeError("503 Service Unavailable (algo order)")


async def test_a_stop_that_cannot_be_placed_closes_and_books_the_trade(tmp_path: Any) -> None:
    paper = NoStops()
    closed: list[PositionClosed] = []
    journal = Journal(tmp_path / "j.sqlite3")

    async def enter() -> None:
        await p.bus.publish(Topic.INTENT, _intent(Side.LONG))
        await p.bus.drain()

    feed = ScriptedFeed(SYM, [(100.0, 100.0, 100.0, 100.0)] * 3, T0, {1: enter})
    p = build_pipeline(Settings(signals={"min_confidence": 1.0}), feed, paper, journal=journal)
    p.execution.retry_base = 0.001

    async def on_closed(e: PositionClosed) -> None:
        closed.append(e)

    p.bus.subscribe("test", Topic.POSITION_CLOSED, on_closed)
    start = paper.engine.wallet
    await run_through(p)
    assert p.execution.emergency_closes == 1
    assert paper.engine.positions == {}
    (trade,) = closed
    assert trade.exit_reason == "emergency_close"
    assert trade.pnl == pytest.approx(paper.engine.wallet - start, abs=1e-9)
    assert trade.fees > 0  # the entry's and the close's real fees
    assert journal.open_positions() == []
    assert [c.intent_id for c in p.book.closed] == [trade.intent_id]
