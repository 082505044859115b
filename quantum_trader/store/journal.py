"""The journal: every state change of money, in SQLite (WAL) in the state directory, written as it
happens — before the exchange call it describes (write-ahead), and again with the answer.

Tables: ``intents`` (received → entering → open | rejected | failed | abandoned → closed),
``orders`` (pending → sent → filled | live | rejected | unknown → cancelled | done), ``fills``,
``positions`` (the managed position: plan, exit state, stop and TP order ids, exits so far),
``closed``, ``equity``, ``experiences`` (RL), ``paper`` (the paper exchange's state) and
``events`` (what reconciliation did, and why).

``synchronous=NORMAL`` with WAL: a killed process loses nothing committed; a power cut may lose
the last transactions but never corrupts the file. A file that is not a journal is moved aside
(``*.corrupt-<time>``) with the reason logged, and a new one is started: the exchange is the truth
and reconciliation rebuilds the book from it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loguru import logger

from quantum_trader.bus.messages import PnlExperience, PositionClosed
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.order_state import OrderState
from quantum_trader.core.shadow import ShadowOutcome
from quantum_trader.core.types import Fill
from quantum_trader.store.codec import dumps, loads
from quantum_trader.store.writes import Writes

log = logger.bind(component="journal")
FILE = "journal.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS intents(intent_id TEXT PRIMARY KEY, symbol TEXT, state TEXT,
  reason TEXT, payload TEXT, created INTEGER, updated INTEGER);
CREATE TABLE IF NOT EXISTS orders(client_id TEXT PRIMARY KEY, intent_id TEXT, role TEXT,
  symbol TEXT, side TEXT, type TEXT, qty REAL, price REAL, state TEXT, exchange_id TEXT,
  filled REAL DEFAULT 0, avg_price REAL DEFAULT 0, detail TEXT, created INTEGER, updated INTEGER);
CREATE TABLE IF NOT EXISTS fills(seq INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT,
  client_id TEXT, symbol TEXT, side TEXT, qty REAL, price REAL, fee REAL, ts INTEGER,
  trade_id TEXT);
CREATE TABLE IF NOT EXISTS positions(intent_id TEXT PRIMARY KEY, symbol TEXT, status TEXT,
  record TEXT, updated INTEGER);
CREATE TABLE IF NOT EXISTS closed(intent_id TEXT PRIMARY KEY, payload TEXT);
CREATE TABLE IF NOT EXISTS equity(ts INTEGER, wallet REAL, equity REAL, used_margin REAL);
CREATE TABLE IF NOT EXISTS experiences(intent_id TEXT PRIMARY KEY, payload TEXT);
CREATE TABLE IF NOT EXISTS paper(id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT,
  updated INTEGER);
CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER, kind TEXT,
  detail TEXT);
CREATE TABLE IF NOT EXISTS decisions(seq INTEGER PRIMARY KEY AUTOINCREMENT,
  intent_id TEXT UNIQUE, ts INTEGER, payload TEXT);
CREATE TABLE IF NOT EXISTS shadows(seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE,
  symbol TEXT, payload TEXT);
"""
LIVE_ORDER_STATES = ("sent", *(s.value for s in OrderState if not s.final))  # "sent": old rows


def _now() -> int:
    return int(time.time() * 1000)


#: columns each table must have: a file whose tables lack them was written by something else
REQUIRED = {
    "intents": {"intent_id", "symbol", "state", "reason", "payload"},
    "orders": {"client_id", "intent_id", "role", "state", "exchange_id", "filled", "detail"},
    "fills": {"order_id", "client_id", "qty", "price", "fee", "ts"},
    "positions": {"intent_id", "symbol", "status", "record"},
    "closed": {"intent_id", "payload"},
    "equity": {"ts", "wallet", "equity"},
    "experiences": {"intent_id", "payload"},
    "paper": {"id", "state"},
    "events": {"ts", "kind", "detail"},
}
CORRUPT = ("not a database", "malformed")  # what SQLite says of a damaged file


class JournalError(Exception):
    """A journal the daemon cannot trust or write (locked, read-only, foreign): it refuses to
    start rather than trade with a book it cannot keep."""


class Journal:
    def __init__(
        self, path: Path | str, on_fault: Callable[[str | None], None] | None = None
    ) -> None:
        """``on_fault``: told when the disk starts refusing writes (the reason) and when it takes
        them again (None) — see :mod:`quantum_trader.store.writes`."""
        self.path = str(path)
        self.db = self._open()
        self.writes = Writes(self.db, on_fault)
        self._waiting_intents: set[str] = set()  # recorded while the disk refuses writes

    def on_fault(self, listener: Callable[[str | None], None]) -> None:
        """Be told when the disk starts refusing writes (the reason) and when it ends (None)."""
        self.writes.listeners.append(listener)

    @property
    def failing(self) -> str:
        """Why the disk refuses the journal's writes ("": it takes them)."""
        return self.writes.failing

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            text = str(exc).lower()
            if "locked" in text:
                raise JournalError(
                    f"journal {self.path} is locked by another process ({exc}): stop it, or give "
                    "this daemon its own state directory"
                ) from None
            if "readonly" in text or "read-only" in text:
                raise JournalError(
                    f"journal {self.path} cannot be written ({exc}): fix the permissions of the "
                    "file and of the state directory"
                ) from None
            if self.path == ":memory:" or not any(m in text for m in CORRUPT):
                raise JournalError(f"journal {self.path}: {exc}") from None
            aside = f"{self.path}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}"
            Path(self.path).rename(aside)
            log.critical(
                "journal {} unreadable ({}): kept as {}, starting a new one", self.path, exc, aside
            )
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=2.0)
        try:
            self._prepare(db)
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        for table, needed in REQUIRED.items():
            have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            missing = needed - have
            if missing:
                raise JournalError(
                    f"{self.path} is not a qtrader journal: table {table} lacks "
                    f"{', '.join(sorted(missing))} (move it away, or point QT_STATE_DIR elsewhere)"
                )
        columns = {row[1] for row in db.execute("PRAGMA table_info(fills)")}
        if "trade_id" not in columns:  # a journal from before fills had trade ids
            db.execute("ALTER TABLE fills ADD COLUMN trade_id TEXT")
        db.execute("CREATE UNIQUE INDEX IF NOT EXISTS fills_trade ON fills(trade_id)")
        db.execute("SELECT count(*) FROM intents").fetchone()
        db.execute("BEGIN IMMEDIATE")  # can it be written now? (locked, read-only: no)
        try:
            db.execute("INSERT INTO events(ts, kind, detail) VALUES (0, 'write-probe', '')")
        finally:
            db.execute("ROLLBACK")

    def close(self) -> None:
        self.db.close()

    def _x(self, sql: str, *args: Any) -> None:
        self.writes.run((sql, args))

    # ------------------------------------------------------------------ intents
    def record_intent(self, intent: TradeIntent) -> bool:
        """False when this intent was journaled before (whatever became of it)."""
        if intent.intent_id in self._waiting_intents:
            return False
        count = self.writes.run((
            "INSERT OR IGNORE INTO intents VALUES (?,?,?,?,?,?,?)",
            (intent.intent_id, intent.symbol, "received", "", dumps(intent), _now(), _now()),
        ))  # fmt: skip
        if count is None:  # waiting for the disk: new unless the journal already holds it
            known = self.db.execute(
                "SELECT 1 FROM intents WHERE intent_id=?", (intent.intent_id,)
            ).fetchone()
            self._waiting_intents.add(intent.intent_id)
            return known is None
        return count == 1

    def intent_state(self, intent_id: str, state: str, reason: str = "") -> None:
        self._x(
            "UPDATE intents SET state=?, reason=?, updated=? WHERE intent_id=?",
            state,
            reason,
            _now(),
            intent_id,
        )

    def intent(self, intent_id: str) -> tuple[TradeIntent, str] | None:
        row = self.db.execute(
            "SELECT payload, state FROM intents WHERE intent_id=?", (intent_id,)
        ).fetchone()
        return None if row is None else (loads(TradeIntent, row[0]), row[1])

    def intents_in(self, *states: str) -> list[tuple[TradeIntent, str]]:
        marks = ",".join("?" * len(states))
        rows = self.db.execute(
            f"SELECT payload, state FROM intents WHERE state IN ({marks}) ORDER BY created",  # noqa: S608
            states,
        ).fetchall()
        return [(loads(TradeIntent, p), s) for p, s in rows]

    # ------------------------------------------------------------------ orders
    def order_pending(
        self,
        client_id: str,
        intent_id: str,
        role: str,
        symbol: str,
        side: str,
        kind: str,
        qty: float,
        price: float = 0.0,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self._x(
            "INSERT INTO orders(client_id,intent_id,role,symbol,side,type,qty,price,state,detail,"
            "created,updated) VALUES (?,?,?,?,?,?,?,?,'pending',?,?,?) ON CONFLICT(client_id) DO "
            "UPDATE SET updated=excluded.updated, "
            "state=CASE WHEN state IN ('pending','unknown') THEN 'pending' ELSE state END",
            client_id,
            intent_id,
            role,
            symbol,
            side,
            kind,
            qty,
            price,
            json.dumps(detail or {}),
            _now(),
            _now(),
        )

    def order_state(
        self,
        client_id: str,
        state: str,
        exchange_id: str | None = None,
        filled: float | None = None,
        avg_price: float | None = None,
    ) -> None:
        self._x(
            "UPDATE orders SET state=?, exchange_id=COALESCE(?, exchange_id), "
            "filled=COALESCE(?, filled), avg_price=COALESCE(?, avg_price), updated=? "
            "WHERE client_id=?",
            state,
            exchange_id,
            filled,
            avg_price,
            _now(),
            client_id,
        )

    def booked_order_ids(self, intent_id: str) -> set[str]:
        """Exchange ids of this trade's orders whose fills are booked."""
        rows = self.db.execute(
            "SELECT DISTINCT f.order_id FROM fills f JOIN orders o ON o.client_id = f.client_id "
            "WHERE o.intent_id=?",
            (intent_id,),
        )
        return {str(r[0]) for r in rows}

    def orders_of(self, intent_id: str) -> list[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT * FROM orders WHERE intent_id=? ORDER BY created, rowid", (intent_id,)
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def order(self, client_id: str) -> dict[str, Any] | None:
        cur = self.db.execute("SELECT * FROM orders WHERE client_id=?", (client_id,))
        row = cur.fetchone()
        return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))

    def record_fill(self, fill: Fill) -> None:
        self._x(
            "INSERT OR IGNORE INTO fills(order_id,client_id,symbol,side,qty,price,fee,ts,trade_id)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            fill.order_id,
            fill.client_id,
            fill.symbol,
            fill.side.value,
            fill.qty,
            fill.price,
            fill.fee,
            fill.ts,
            fill.trade_id or None,
        )

    # ------------------------------------------------------------------ positions
    def save_position(self, intent_id: str, symbol: str, record: str, status: str = "open") -> None:
        self._x(
            "INSERT INTO positions VALUES (?,?,?,?,?) ON CONFLICT(intent_id) DO UPDATE SET "
            "status=excluded.status, record=excluded.record, updated=excluded.updated",
            intent_id,
            symbol,
            status,
            record,
            _now(),
        )

    def open_positions(self) -> list[tuple[str, str, str]]:
        """(intent id, symbol, record) of every position the journal holds open."""
        rows = self.db.execute(
            "SELECT intent_id, symbol, record FROM positions WHERE status='open' ORDER BY updated"
        ).fetchall()
        return [(a, b, c) for a, b, c in rows]

    def record_close(self, closed: PositionClosed) -> None:
        self.writes.run(
            (
                "UPDATE positions SET status='closed', updated=? WHERE intent_id=?",
                (_now(), closed.intent_id),
            ),
            ("INSERT OR REPLACE INTO closed VALUES (?,?)", (closed.intent_id, dumps(closed))),
            (
                "UPDATE intents SET state='closed', updated=? WHERE intent_id=?",
                (_now(), closed.intent_id),
            ),
        )

    def closed_of(self, intent_id: str) -> PositionClosed | None:
        row = self.db.execute(
            "SELECT payload FROM closed WHERE intent_id=?", (intent_id,)
        ).fetchone()
        return None if row is None else loads(PositionClosed, row[0])

    # ------------------------------------------------------------------ decisions
    def record_decision(self, intent_id: str, ts: int, payload: dict[str, Any]) -> None:
        """Everything the entry decision used, for ``qtrader explain TRADE_ID``."""
        self._x(
            "INSERT OR IGNORE INTO decisions(intent_id, ts, payload) VALUES (?,?,?)",
            intent_id,
            ts,
            json.dumps(payload),
        )

    def decision(self, intent_id: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT payload FROM decisions WHERE intent_id=?", (intent_id,)
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def last_decision_id(self, shadow: bool = False) -> str | None:
        """The newest decision that was traded — or, with ``shadow``, the newest one the edge
        gate only followed as a shadow trade."""
        op = "=" if shadow else "!="
        row = self.db.execute(
            "SELECT intent_id FROM decisions WHERE "  # noqa: S608 - op is one of two literals
            f"coalesce(json_extract(payload, '$.edge.action'), '') {op} 'shadow' "
            "ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return None if row is None else str(row[0])

    def fills_of(self, client_id: str) -> list[tuple[float, float, float]]:
        """(qty, price, fee) of each execution of one of our orders, in time order."""
        rows = self.db.execute(
            "SELECT qty, price, fee FROM fills WHERE client_id=? ORDER BY ts, seq", (client_id,)
        ).fetchall()
        return [(float(q), float(p), float(f)) for q, p, f in rows]

    def closed_trades(self) -> list[PositionClosed]:
        rows = self.db.execute("SELECT payload FROM closed ORDER BY rowid").fetchall()
        return [loads(PositionClosed, r[0]) for r in rows]

    def record_shadow(self, o: ShadowOutcome) -> None:
        """A shadow trade's outcome: the edge gate's measurement, kept across restarts."""
        self._x("INSERT OR IGNORE INTO shadows(key, symbol, payload) VALUES (?,?,?)", o.key,
                o.symbol, dumps(o))  # fmt: skip

    def shadow_outcomes(self) -> list[ShadowOutcome]:
        rows = self.db.execute("SELECT payload FROM shadows ORDER BY seq").fetchall()
        return [loads(ShadowOutcome, r[0]) for r in rows]

    # ------------------------------------------------------------------ the rest
    def record_equity(self, ts: int, wallet: float, equity: float, used_margin: float) -> None:
        self._x("INSERT INTO equity VALUES (?,?,?,?)", ts, wallet, equity, used_margin)

    def record_experience(self, exp: PnlExperience) -> None:
        self._x("INSERT OR REPLACE INTO experiences VALUES (?,?)", exp.intent_id, dumps(exp))

    def save_paper(self, state: dict[str, Any]) -> None:
        self._x(
            "INSERT INTO paper VALUES (1,?,?) ON CONFLICT(id) DO UPDATE SET state=excluded.state,"
            " updated=excluded.updated",
            json.dumps(state, allow_nan=False),
            _now(),
        )

    def load_paper(self) -> dict[str, Any] | None:
        row = self.db.execute("SELECT state FROM paper WHERE id=1").fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def event(self, kind: str, detail: str) -> None:
        self._x("INSERT INTO events(ts,kind,detail) VALUES (?,?,?)", _now(), kind, detail)

    def events(self) -> list[tuple[str, str]]:
        return [(k, d) for k, d in self.db.execute("SELECT kind, detail FROM events ORDER BY seq")]

    def counts(self) -> dict[str, int]:
        tables = ("intents", "orders", "fills", "positions", "closed", "equity", "experiences")
        return {
            t: int(self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # noqa: S608
            for t in tables
        }
