"""Issue 10, item 1: a stop and a TP leg filling in one candle.

TP1 (101.39) fills, then the price falls through the original stop (98.96) in the same candle and
closes above breakeven, so the exit manager's move to breakeven succeeds and its cancel of the old
stop finds it already filled. The fill wins: the trade is booked once with both fills, the book is
flat, and no order of ours rests on the exchange.
"""

from __future__ import annotations

import pytest

from quantum_trader.core.types import Side
from tests.component.test_trade_lifecycle import Run


async def test_stop_and_tp1_fill_in_one_candle_book_the_trade() -> None:
    run = Run(Side.LONG, [
        (100.05, 101.5, 98.6, 100.9),    # high first (1.45 = 1.45): TP1 fills 3, stop fills 7
        (100.9, 101.0, 100.8, 100.9),    # a quiet candle afterwards
    ])  # fmt: skip
    closed = await run.go()
    entry_fee = 10 * 100.05 * 0.0005
    tp1 = 3 * (101.39 - 100.05) - 3 * 101.39 * 0.0002
    stop_px = 98.96 * (1 - 0.0005)
    rest = 7 * (stop_px - 100.05) - 7 * stop_px * 0.0005
    assert closed.pnl == pytest.approx(tp1 + rest - entry_fee, abs=1e-9)
    assert (closed.exit_reason, closed.legs_hit) == ("stop_loss", 1)
    assert run.p.book.positions == {}
    assert run.paper.engine.open_orders() == []
    assert run.paper.engine.positions == {}
