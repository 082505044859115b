"""Storage faults (issue 28, item 7): a journal write the disk refuses (SQLITE_FULL, as a full
disk gives; here SQLite's own page limit makes it so) raises nowhere — it is kept, with every
later write, in order, and they all go in at the next write once the disk takes them again.
While it lasts the journal says so (for health and admission)."""

from __future__ import annotations

from pathlib import Path

from quantum_trader.bus.messages import PositionClosed
from quantum_trader.core.types import Side
from quantum_trader.store.journal import Journal

T = 1_767_225_600_000


def fill_up(j: Journal) -> None:
    """The database as a full disk leaves it: not one page more, and every page used."""
    import sqlite3

    pages = j.db.execute("PRAGMA page_count").fetchone()[0]
    j.db.execute(f"PRAGMA max_page_count={pages}")
    try:
        for _ in range(10_000):
            j.db.execute("INSERT INTO events(ts, kind, detail) VALUES (0, 'pad', ?)", ("x" * 64,))
    except sqlite3.OperationalError as exc:
        assert "full" in str(exc)
    else:
        raise AssertionError("the page limit did not bite")


def closed(k: int) -> PositionClosed:
    return PositionClosed(f"I-{k}", "BTC/USDT:USDT", Side.LONG, 1.0, 100.0, 101.0, 10, 10.0, 1.0,
                          0.1, 0.0, 0.9, 0.09, "tp3", 3, T, T + k)  # fmt: skip


def test_a_full_disk_loses_nothing_and_catches_up_in_order(tmp_path: Path) -> None:
    faults: list[str | None] = []
    j = Journal(tmp_path / "j.sqlite3", on_fault=faults.append)
    j.event("before", "{}")
    fill_up(j)
    for k in range(3):  # none of these raises
        j.event("during", f'{{"k": {k}}}')
        j.record_close(closed(k))
        j.record_equity(T + k, 1.0, 1.0, 0.0)
    assert j.failing and "full" in j.failing
    assert len(faults) == 1 and faults[0] is not None and "full" in faults[0]
    written = [k for k, _ in j.events() if k != "pad"]  # what fitted before the first refusal
    assert written[0] == "before" and len(written) < 4 and set(written) <= {"before", "during"}
    j.db.execute("PRAGMA max_page_count=1000000")  # space returns
    j.event("after", "{}")
    assert not j.failing and faults[-1] is None
    kinds = [k for k, _ in j.events() if k != "pad"]
    assert kinds == ["before", "during", "during", "during", "after"]
    assert [c.intent_id for c in j.closed_trades()] == ["I-0", "I-1", "I-2"]
    assert j.db.execute("SELECT count(*) FROM equity").fetchone()[0] == 3


def test_a_new_intent_is_known_while_its_write_waits(tmp_path: Path) -> None:
    """One intent, two entries never: a duplicate is recognised even while the disk is full."""
    from tests.unit.test_journal import intent as _intent

    j = Journal(tmp_path / "j.sqlite3")
    fill_up(j)
    intent = _intent()
    assert j.record_intent(intent) is True
    assert j.record_intent(intent) is False
    j.db.execute("PRAGMA max_page_count=1000000")
    assert j.record_intent(intent) is False
    assert j.intent(intent.intent_id) is not None
