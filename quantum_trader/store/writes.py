"""The journal's writes when the disk refuses them (issue 28: a full disk, an I/O error).

A write SQLite refuses for its storage (``SQLITE_FULL``, ``SQLITE_IOERR``, ``SQLITE_READONLY``…)
raises nowhere: it is kept in memory with every later write, in order, and they all go in, in
order, at the next write once the disk takes them again — so the daemon keeps booking fills and
closing positions while the journal cannot be written, and the journal ends up whole. The fault
is reported once when it starts and once when it ends (``on_fault(reason)``, ``on_fault(None)``);
health turns CRITICAL and entries stop meanwhile (the pipeline's wiring). What is kept is lost
only if the process dies before space returns — the exchange is the truth the next start
reconciles with.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from loguru import logger

log = logger.bind(component="journal")
Statement = tuple[str, Sequence[Any]]
STORAGE_FAULTS = frozenset({"SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN",
                            "SQLITE_NOTADB", "SQLITE_CORRUPT"})  # fmt: skip


def storage_fault(exc: sqlite3.Error) -> bool:
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    return any(name.startswith(f) for f in STORAGE_FAULTS) or "disk" in str(exc).lower()


class Writes:
    def __init__(
        self, db: sqlite3.Connection, on_fault: Callable[[str | None], None] | None = None
    ) -> None:
        self.db = db
        self.listeners: list[Callable[[str | None], None]] = [on_fault] if on_fault else []
        self.pending: deque[tuple[Statement, ...]] = deque()
        self.failing = ""  # why the disk refuses writes ("": it takes them)

    def run(self, *group: Statement) -> int | None:
        """Write one group of statements (one transaction when several); the last one's row
        count, or None when it waits for the disk."""
        if self.pending and not self._flush():
            self.pending.append(group)
            return None
        try:
            return self._execute(group)
        except sqlite3.OperationalError as exc:
            if not storage_fault(exc):
                raise
            self._fail(exc)
            self.pending.append(group)
            return None

    def _execute(self, group: tuple[Statement, ...]) -> int:
        if len(group) == 1:
            sql, args = group[0]
            return int(self.db.execute(sql, args).rowcount)
        with self.db:
            self.db.execute("BEGIN")
            count = 0
            for sql, args in group:
                count = int(self.db.execute(sql, args).rowcount)
            return count

    def retry(self) -> bool:
        """Try the kept writes again (a periodic check: space may return with nothing to
        write); True when none is left."""
        return self._flush() if self.pending else True

    def _flush(self) -> bool:
        """The kept writes, in order; True when every one went in."""
        while self.pending:
            try:
                self._execute(self.pending[0])
            except sqlite3.OperationalError as exc:
                if not storage_fault(exc):
                    raise
                return False
            self.pending.popleft()
        self._recover()
        return True

    def _fail(self, exc: sqlite3.Error) -> None:
        if self.failing:
            return
        self.failing = f"{getattr(exc, 'sqlite_errorname', 'sqlite')}: {exc}"
        log.critical("JOURNAL WRITES REFUSED ({}): kept in memory until the disk takes them; "
                     "no new entries meanwhile", self.failing)  # fmt: skip
        for listener in self.listeners:
            listener(self.failing)

    def _recover(self) -> None:
        if not self.failing:
            return
        log.warning("journal writes resumed: everything kept is written")
        self.failing = ""
        for listener in self.listeners:
            listener(None)
