"""kill -9 at 14 points of a trade's life, then a restart: the exchange (a fake Binance server
process that outlives the daemon) must hold exactly one position or none, every open position a
live stop (one), no entry twice, and the journal must agree with it.

Points inside the daemon are reached with ``QT_CRASH_AT`` (the daemon SIGKILLs itself there);
"in flight" points are real external ``kill -9`` while the fake server holds a request it has
carried out but not answered."""

from __future__ import annotations

import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from quantum_trader.testing.fake_binance import KEY, SECRET
from tests.integration.crash_harness import (
    ID,
    Daemon,
    exchange_view,
    journal_view,
    reap,
    seed_candles,
    wait_until,
)
from tests.integration.fake_exchange import FakeServerProcess

# point → (how it is reached, what the exchange holds after the restart)
POINTS = {
    # entry never sent: that intent is abandoned; the next candle's intent may trade after the
    # restart — one position or none, either way protected
    "intent_journaled": ("crash", "either"),
    "entry_in_flight": ("hang:/fapi/v1/order", "open"),
    "entry_answered": ("crash", "open"),
    "entry_journaled": ("crash", "open"),
    "position_journaled": ("crash", "open"),  # filled, before the stop
    "stop_in_flight": ("hang:/fapi/v1/algoOrder", "open"),
    "stop_answered": ("crash", "open"),
    "stop_journaled": ("crash", "open"),  # stop live, no TP legs yet
    "tp1_placed": ("crash", "open"),  # between TP legs
    "tp2_placed": ("crash", "open"),
    "tp1_filled": ("tp1", "open"),  # a leg filled, before the stop ratchets
    "stop_move_placed": ("tp1", "open"),  # new stop live, old one not cancelled
    "stop_move_journaled": ("tp1", "open"),
    "finalise": ("stop", "flat"),  # the stop filled, the close not journaled
}


def _protected(fake: FakeServerProcess) -> bool:
    v = exchange_view(fake)
    return bool(v["qty"]) and len(v["stops"]) == 1 and len(v["limits"]) == 3


def _crash(tmp: Path, point: str) -> str:
    how, expect = POINTS[point]
    state = tmp / point
    fake = FakeServerProcess()
    fake.start()
    try:
        fake.control("price", {"symbol": ID, "price": seed_candles(fake)})
        state.mkdir()
        if how.startswith("hang:"):
            fake.control("fault", {"method": "POST", "path": how[5:], "kind": "hang_after"})
            d = Daemon(fake, state)
            suffix = "-entry" if point == "entry_in_flight" else "-sl0"
            wait_until(
                lambda: any(c.endswith(suffix) for c in fake.state()["order_posts"]),
                40,
                f"the {suffix} request",
                d,
            )
            time.sleep(0.2)  # carried out on the exchange, the answer held back
            d.kill9()
        else:
            d = Daemon(fake, state, crash_at=point)
            if how in ("tp1", "stop"):
                wait_until(lambda: _protected(fake), 40, "a protected position", d)
                v = exchange_view(fake)
                if how == "tp1":
                    target = min(float(o["price"]) for o in v["limits"]) + 1
                else:
                    target = float(v["stops"][0]["triggerPrice"]) - 1
                fake.control("price", {"symbol": ID, "price": target})
            assert d.wait_exit(40) == -signal.SIGKILL, f"{point}: not killed\n{d.text()[-2000:]}"
        _restart_and_check(fake, state, point, expect)
    finally:
        reap(state)
        fake.stop()
    return point


def _restart_and_check(fake: FakeServerProcess, state: Path, point: str, expect: str) -> None:
    # the engine stops calling: what the restart does is reconciliation alone (a BUY now would be
    # a new trade on a new candle, legitimately)
    fake.control("signal", {"action": "HOLD", "confidence": 0.0})
    d = Daemon(fake, state)
    try:
        wait_until(lambda: "qtrader running" in d.text(), 40, "the restart", d)
        time.sleep(1.5)  # candles and fills polled: reconciliation has had its say
        if expect == "either" and exchange_view(fake)["qty"]:
            expect = "open"
        if expect == "open":
            wait_until(lambda: _settled(fake, state), 10, "the re-armed position", d)
        v, j = exchange_view(fake), journal_view(state)
        assert len(v["entries"]) <= 1, f"{point}: {len(v['entries'])} entries"
        assert "refusing" not in d.text()
        if expect in ("flat", "either"):
            assert v["qty"] == 0, f"{point}: {v['qty']}"
            assert not v["stops"] and not v["limits"], f"{point}: orders left"
            assert j["open"] == [], f"{point}: journal still holds {j['open']}"
        else:
            assert v["qty"] > 0, f"{point}: no position\n{d.text()[-3000:]}"
            [stop] = v["stops"]
            assert stop["closePosition"] is True and stop["workingType"] == "MARK_PRICE"
            [record] = j["open"]
            assert record["stop_order_id"] == str(stop["algoId"]), f"{point}: journal stop"
            assert record["state"]["remaining"] == pytest.approx(v["qty"]), f"{point}: qty"
            ids = [o["clientOrderId"] for o in v["limits"]]
            assert len(ids) == len(set(ids)), f"{point}: duplicate TP orders {ids}"
            assert len(ids) == 3 - record["state"]["legs_done"], f"{point}: TP legs {ids}"
    finally:
        assert d.stop() == 0, d.text()[-2000:]


def _settled(fake: FakeServerProcess, state: Path) -> bool:
    v = exchange_view(fake)
    if not v["qty"] or len(v["stops"]) != 1:
        return False
    try:
        [record] = journal_view(state)["open"]
    except (ValueError, sqlite3.Error):
        return False
    legs_left = 3 - record["state"]["legs_done"]
    return bool(record["stop_order_id"] == str(v["stops"][0]["algoId"])) and (
        len(v["limits"]) == legs_left
    )


@pytest.mark.timeout(480)
@pytest.mark.slow
def test_kill_9_at_fourteen_points_of_a_trade_then_restart(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:  # each case is its own pair of processes
        done = list(pool.map(lambda p: _crash(tmp_path, p), POINTS))
    assert done == list(POINTS)
    logs = list(tmp_path.glob("*/daemon-*.log"))
    assert len(logs) == 2 * len(POINTS)
    for log in logs:  # every line every daemon wrote: the keys never appear
        text = log.read_text(errors="replace")
        assert KEY not in text and SECRET not in text, log
