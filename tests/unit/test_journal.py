"""The SQLite journal: write-ahead records, their round trip, dedupe of intents, corrupt files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from quantum_trader.bus.messages import PositionClosed, PositionOpened
from quantum_trader.core.exits import ExitPlan, start
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.pnl import ClosingFill
from quantum_trader.core.types import Fill, OrderSide, Regime, Side
from quantum_trader.execution.book import ManagedPosition
from quantum_trader.store.codec import dumps, loads
from quantum_trader.store.journal import Journal, JournalError

TS = 1_767_225_600_000


def intent(n: int = 1) -> TradeIntent:
    return TradeIntent(
        f"BTCUSDT-{n}-LONG", TS, "BTC/USDT:USDT", Side.LONG, 0.8, 100.0, 98.0, 102.0, 50.0, 10,
        0.5, 1.0, 0.0, 0.0001, Regime.TRENDING, "test", "because",
    )  # fmt: skip


def managed() -> ManagedPosition:
    plan = ExitPlan(
        "BTC/USDT:USDT", Side.LONG, 100.0, 5.0, 10, 50.0, (101.0, 102.0, 103.0), (1.5, 1.5, 2.0),
        99.0, 0.01, TS, 0.01,
    )  # fmt: skip
    opened = PositionOpened(
        "BTCUSDT-1-LONG", "42", plan, 0.25, 0.8, 0.5, 1.0, 0.0, 0.0001, Regime.TRENDING,
        (0.8, 1.0, 0.0, 0.0, 0.0001, 0.1), 1.2, 12,
    )  # fmt: skip
    mp = ManagedPosition(opened, start(plan), "S1", 2, "breakeven", {"T2": 2}, {"T2": 0.5})
    mp.exits.append(ClosingFill(1.5, 101.0, 0.03, "tp1"))
    return mp


def test_a_managed_position_round_trips_exactly() -> None:
    mp = managed()
    assert loads(ManagedPosition, dumps(mp)) == mp


def test_an_intent_is_journaled_once(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    assert j.record_intent(intent()) is True
    assert j.record_intent(intent()) is False
    j.intent_state("BTCUSDT-1-LONG", "entering")
    [(back, state)] = j.intents_in("entering")
    assert back == intent() and state == "entering"


def test_order_states_are_written_ahead_and_answered(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    j.order_pending(
        "qt1-entry", "I", "entry", "BTC/USDT:USDT", "BUY", "MARKET", 0.5, 0, {"leverage": 7}
    )
    assert j.order("qt1-entry")["state"] == "pending"  # type: ignore[index]
    j.order_state("qt1-entry", "unknown")
    j.order_pending("qt1-entry", "I", "entry", "BTC/USDT:USDT", "BUY", "MARKET", 0.5)  # retry
    j.order_state("qt1-entry", "filled", "777", 0.5, 100.5)
    row = j.order("qt1-entry")
    assert row is not None
    assert (row["state"], row["exchange_id"], row["filled"], row["avg_price"]) == (
        "filled",
        "777",
        0.5,
        100.5,
    )
    assert '"leverage": 7' in row["detail"]  # the retry kept what the first write said
    j.record_fill(Fill("777", "qt1-entry", "BTC/USDT:USDT", OrderSide.BUY, 0.5, 100.5, 0.02, TS))
    assert j.counts()["fills"] == 1


def test_positions_open_and_close(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    j.record_intent(intent())
    mp = managed()
    j.save_position(mp.opened.intent_id, mp.symbol, dumps(mp))
    [(iid, symbol, record)] = j.open_positions()
    assert (iid, symbol) == ("BTCUSDT-1-LONG", "BTC/USDT:USDT")
    assert loads(ManagedPosition, record) == mp
    closed = PositionClosed(
        "BTCUSDT-1-LONG", "BTC/USDT:USDT", Side.LONG, 5.0, 100.0, 101.0, 10, 50.0, 5.0, 0.3, 0.0,
        4.7, 0.094, "tp3", 3, TS, TS + 60_000,
    )  # fmt: skip
    j.record_close(closed)
    assert j.open_positions() == []
    assert j.closed_trades() == [closed]
    assert j.intent("BTCUSDT-1-LONG") == (intent(), "closed")


def test_wal_mode_and_a_second_reader(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    j.record_intent(intent())
    other = sqlite3.connect(tmp_path / "j.sqlite3")
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT count(*) FROM intents").fetchone()[0] == 1  # committed at once


def test_a_corrupt_journal_is_kept_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    path.write_bytes(b"this is not a database, just junk " * 100)
    j = Journal(path)
    assert j.record_intent(intent())
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")


def test_paper_state_and_events(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    assert j.load_paper() is None
    j.save_paper({"wallet": 1.5})
    j.save_paper({"wallet": 2.5})
    assert j.load_paper() == {"wallet": 2.5}
    j.event("adopted", "why")
    assert j.events() == [("adopted", "why")]


# Issue 11, item 10: a journal the daemon cannot keep is a refusal to start, with the reason —
# not a traceback, not a daemon that runs "HEALTHY" while every write fails, and never (for a
# locked one) a journal moved aside as if it were corrupt.


def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal-paper.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders(x TEXT)")
    with pytest.raises(JournalError, match="not a qtrader journal: table orders lacks"):
        Journal(path)
    assert path.exists() and not list(tmp_path.glob("*.corrupt-*"))  # left as it was


def test_a_locked_journal_is_refused_not_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "journal-paper.sqlite3"
    Journal(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(JournalError, match="locked by another process"):
            Journal(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_read_only_journal_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root chmod does not stop writes, so the file is opened read-only the way SQLite would
    find a read-only file or directory."""
    path = tmp_path / "journal-paper.sqlite3"
    Journal(path).close()
    real = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda p, **k: real(f"file:{p}?mode=ro", uri=True, **k))
    with pytest.raises(JournalError, match="cannot be written"):
        Journal(path)


def test_a_non_finite_paper_wallet_is_refused(_state_dir: Path) -> None:
    from quantum_trader.app import Daemon
    from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed
    from quantum_trader.settings import Settings

    settings = Settings(api={"enabled": False}, rl={"enabled": False})
    first = Daemon(
        settings, SyntheticFeed(settings.signals.symbols, speed=None, limit=5, drift=TREND_DRIFT)
    )
    assert first.journal is not None and first.p.paper is not None
    first.p.paper.flush()
    raw = first.journal.db.execute("SELECT state FROM paper").fetchone()[0]
    bad = raw.replace(f'"wallet":{first.p.paper.engine.wallet}', '"wallet":NaN', 1)
    bad = bad.replace(f'"wallet": {first.p.paper.engine.wallet}', '"wallet": NaN', 1)
    assert "NaN" in bad
    first.journal.db.execute("UPDATE paper SET state=?", (bad,))
    first.journal.close()
    with pytest.raises(JournalError, match="unusable.*wallet is nan"):
        Daemon(
            settings,
            SyntheticFeed(settings.signals.symbols, speed=None, limit=5, drift=TREND_DRIFT),
        )
