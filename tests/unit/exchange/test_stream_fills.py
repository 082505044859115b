"""Fills booked from the user-data stream: only a whole, unmissed trade with a USDT fee is booked
from the update itself; anything else sends the order to REST. The trade id is REST's."""

from __future__ import annotations

from typing import Any

from quantum_trader.core.types import OrderSide, trade_id
from quantum_trader.exchange.binance_fills import FillWatch, Resting, stream_fill

SYM = "BTC/USDT:USDT"


def trade(
    oid: str, last: float, cum: float, status: str = "FILLED", **extra: Any
) -> dict[str, Any]:
    info = {"i": oid, "x": "TRADE", "X": status, "l": str(last), "z": str(cum), "L": "29990.5"}
    info.update({"n": "0.15", "N": "USDT", "T": 1_767_225_600_123, **extra})
    return {"id": oid, "info": info}


def test_a_whole_trade_is_one_fill_with_rests_trade_id() -> None:
    r = Resting(SYM, "qt-tp1", OrderSide.SELL, False, 30_000.0)
    fill = stream_fill("11", r, trade("11", 0.01, 0.01)["info"])
    assert fill is not None
    assert (fill.qty, fill.price, fill.fee, fill.ts) == (0.01, 29990.5, 0.15, 1_767_225_600_123)
    assert fill.trade_id == trade_id("11", 0.01) and fill.client_id == "qt-tp1"


def test_a_missed_trade_a_bnb_fee_or_no_trade_goes_to_rest() -> None:
    r = Resting(SYM, "qt-tp1", OrderSide.SELL, False, 30_000.0)
    assert stream_fill("11", r, trade("11", 0.01, 0.02)["info"]) is None  # 0.01 missed
    assert stream_fill("11", r, trade("11", 0.01, 0.01, N="BNB")["info"]) is None
    assert stream_fill("11", r, trade("11", 0.01, 0.01, x="NEW")["info"]) is None
    assert stream_fill("11", r, trade("11", 0.01, 0.01, L="nan")["info"]) is None
    r.reported = 0.01  # REST booked the first part: the stream's second part is whole
    assert stream_fill("11", r, trade("11", 0.01, 0.02)["info"]) is not None


class NoAdapter:
    pass


def test_a_stop_childs_trade_before_its_algo_update_is_booked_once_it_is_named() -> None:
    watch = FillWatch(NoAdapter())  # type: ignore[arg-type]
    watch.resting["900"] = Resting(SYM, "qt-sl", OrderSide.SELL, True, 29_000.0)
    watch.note_order(trade("77", 0.03, 0.03))  # the child's trade first: not ours yet
    assert watch.take_streamed() == [] and not watch.dirty
    watch.note_order({"id": "900", "info": {"aid": 900, "X": "FINISHED", "ai": 77}})
    [fill] = watch.take_streamed()
    assert (fill.order_id, fill.client_id, fill.qty) == ("900", "qt-sl", 0.03)
    assert "900" not in watch.resting  # filled: no REST read of it any more
    watch.note_order(trade("77", 0.03, 0.03))  # the same update again: nothing twice
    assert watch.take_streamed() == []


def test_a_partial_leg_stays_watched_and_a_gap_points_rest_at_it() -> None:
    watch = FillWatch(NoAdapter())  # type: ignore[arg-type]
    watch.resting["11"] = Resting(SYM, "qt-tp1", OrderSide.SELL, False, 30_000.0)
    watch.note_order(trade("11", 0.004, 0.004, "PARTIALLY_FILLED"))
    assert [f.qty for f in watch.take_streamed()] == [0.004] and "11" in watch.resting
    watch.note_order(trade("11", 0.003, 0.01))  # 0.003 of 0.006 unreported: one was missed
    assert watch.take_streamed() == [] and watch.dirty == {"11"}
