"""Process-level crash harness: a fake Binance server process, and ``qtrader run --testnet``
processes pointed at it, killed with SIGKILL at chosen points of a trade's life and restarted."""

from __future__ import annotations

import math
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from quantum_trader.testing.soak_parts import spawn_testnet, testnet_env, wait_exit
from tests.integration.fake_exchange import FakeServerProcess

SYMBOL, ID = "BTC/USDT:USDT", "BTCUSDT"


def seed_candles(fake: FakeServerProcess, bars: int = 200) -> float:
    """An orderly uptrend of 1m candles ending with the last closed minute: the ensemble says
    LONG on the newest one, which is the only one fresh enough to trade."""
    last_open = (int(time.time() * 1000) // 60_000 - 1) * 60_000
    close = 30_000.0
    for k in range(bars):
        ts = last_open - (bars - 1 - k) * 60_000
        open_ = close
        close = open_ * (1 + 0.0006 + 0.0004 * math.sin(k / 3))
        high, low = max(open_, close) * 1.0003, min(open_, close) * 0.9997
        fake.control(
            "candle",
            {"symbol": ID, "ts": ts, "open": open_, "high": high, "low": low, "close": close},
        )
    return round(close, 1)


class Daemon:
    def __init__(self, fake: FakeServerProcess, state: Path, crash_at: str = "") -> None:
        env = testnet_env(  # the fake server plays the AI engine: BUY at 0.95
            fake.url,
            state,
            [SYMBOL],
            QT_EXCHANGE__TIMEOUT_MS="1500",
            QT_EXCHANGE__FILL_POLL_SECONDS="0.2",
            QT_FEED__POLL_SECONDS="0.3",
            QT_API__ENABLED="false",
        )
        if crash_at:
            env["QT_CRASH_AT"] = crash_at
        self.log = state / f"daemon-{crash_at or 'restart'}-{time.monotonic_ns()}.log"
        self._out, self.proc = spawn_testnet(env, self.log)
        self.state = state
        STARTED.append(self)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_exit(self, within: float) -> int | None:
        return wait_exit(self.proc, self._out, within)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._out.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)
        finally:
            self._out.close()


STARTED: list[Daemon] = []  # every daemon a test started, so none outlives a failed test


def reap(state: Path) -> None:
    """Kill what a failed case left running on ``state`` (cases run in parallel threads: each
    reaps its own; a passing case has stopped its daemons already)."""
    for d in [d for d in STARTED if d.state == state]:
        STARTED.remove(d)
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(10)
        d._out.close()


def wait_until(check: Any, within: float, what: str, daemon: Daemon | None = None) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    tail = daemon.text()[-3000:] if daemon is not None else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def exchange_view(fake: FakeServerProcess) -> dict[str, Any]:
    s = fake.state()
    pos = s["positions"].get(ID, {"qty": 0.0})
    stops = [a for a in s["algo"] if a["algoStatus"] == "NEW" and a["symbol"] == ID]
    limits = [o for o in s["orders"] if o["status"] in ("NEW", "PARTIALLY_FILLED")]
    entries = [
        o for o in s["orders"] if o["clientOrderId"].endswith("-entry") and o["status"] == "FILLED"
    ]
    return {"qty": pos["qty"], "stops": stops, "limits": limits, "entries": entries, "raw": s}


def journal_view(state: Path) -> dict[str, Any]:
    db = sqlite3.connect(state / "journal-testnet.sqlite3")
    try:
        rows = db.execute("SELECT record FROM positions WHERE status='open'").fetchall()
        events = db.execute("SELECT kind, detail FROM events").fetchall()
        intents = db.execute("SELECT intent_id, state FROM intents").fetchall()
    finally:
        db.close()
    import json

    return {"open": [json.loads(r[0]) for r in rows], "events": events, "intents": intents}
