"""A full disk under the daemon (issue 28, item 7): fills were dead-lettered, /health stayed
HEALTHY and TP orders were orphaned. Now, with the journal's disk full mid-trade: the stop's fill
is booked and the trade closed (exits keep working), /health is CRITICAL naming the journal, a
new entry is refused, nothing raises — and once space returns the journal catches up with the
close."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from quantum_trader.bus.messages import OrderEvent, PositionClosed, Topic
from quantum_trader.core.types import Side
from quantum_trader.pipeline import build_pipeline
from quantum_trader.settings import Settings
from quantum_trader.store.journal import Journal
from tests.component.fakes import ScriptedFeed, run_through, scripted_paper
from tests.component.test_trade_lifecycle import SYM, T0, _intent

pytestmark = pytest.mark.usefixtures("clean_qt_env")


class Disk:
    """The journal's connection on a disk that can fill up: while ``full``, every write is
    refused as SQLite refuses it on a full disk (SQLITE_FULL); reads go on. (The journal's own
    test makes SQLite refuse for real, with its page limit; a page limit cannot fill every
    table's last page at once, which a full disk does.)"""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.full = db, False

    def execute(self, sql: str, args: Any = ()) -> Any:
        if self.full and sql.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
            raise exc
        return self.db.execute(sql, args)

    def __enter__(self) -> Any:
        return self.db.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self.db.__exit__(*exc)


async def test_a_full_disk_stops_entries_keeps_exits_and_catches_up(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal-paper.sqlite3")
    disk = Disk(journal.db)
    journal.db = journal.writes.db = disk  # type: ignore[assignment]
    closed: list[PositionClosed] = []
    rejected: list[str] = []
    seen: dict[str, Any] = {}
    p: Any = None

    async def enter(k: int) -> None:
        intent = replace(_intent(Side.LONG), intent_id=f"F-{k}", ts=T0 + k * 60_000)
        await p.bus.publish(Topic.INTENT, intent)
        await p.bus.drain()

    async def first() -> None:
        await enter(1)

    async def disk_full() -> None:
        disk.full = True

    async def second() -> None:
        seen["health"] = p.health.snapshot()
        await enter(2)

    async def space_returns() -> None:
        disk.full = False

    path = [(100.05, 100.1, 100.0, 100.05), (100.0, 100.0, 100.0, 100.0),
            (92.0, 92.5, 91.8, 92.2), (92.2, 92.3, 92.1, 92.2), (92.2, 92.3, 92.1, 92.2),
            (92.2, 92.3, 92.1, 92.2)]  # fmt: skip
    hooks = {1: first, 2: disk_full, 4: second, 5: space_returns}
    feed = ScriptedFeed(SYM, [(100.0, 100.0, 100.0, 100.0), *path], T0, hooks)
    p = build_pipeline(Settings(signals={"min_confidence": 1.0}), feed, scripted_paper(),
                       journal=journal)  # fmt: skip

    async def on_closed(e: PositionClosed) -> None:
        closed.append(e)

    async def on_rejected(e: OrderEvent) -> None:
        rejected.append(e.reason)

    p.bus.subscribe("t1", Topic.POSITION_CLOSED, on_closed)
    p.bus.subscribe("t2", Topic.ORDER_REJECTED, on_rejected)
    await run_through(p)

    [trade] = closed  # the gap through the stop: booked while the disk was full
    assert trade.exit_reason == "stop_loss" and not p.book.positions
    health = seen["health"]
    assert health["status"] == "CRITICAL" and "journal" in health["faults"]
    assert rejected and "journal cannot be written" in rejected[0]
    assert not p.bus.dead_letters
    assert not journal.failing  # caught up once space returned (the next candle's writes)
    assert [c.intent_id for c in journal.closed_trades()] == ["F-1"]
    assert p.health.snapshot()["faults"] == {}
