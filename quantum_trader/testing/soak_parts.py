"""The moving parts of the chaos soak (:mod:`quantum_trader.testing.soak`): the fake Binance server
and ``qtrader run --testnet`` as processes, a market that ticks, and the invariant checker that
reads both sides every second. Loopback only."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import IO, Any

from quantum_trader.testing.fake_binance import KEY, SECRET

IDS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT")
PRICES = {"BTCUSDT": 30_000.0, "ETHUSDT": 2_000.0, "BNBUSDT": 300.0, "SOLUSDT": 100.0}
PRICES["XRPUSDT"] = 0.6


class SimTime:
    """The soak's market time: ``scale`` times real time from ``origin_ms`` — the daemon's wall
    clock runs on the same formula (``exchange.time_scale``, ``exchange.time_origin_ms``)."""

    def __init__(self, scale: float = 1.0, origin_ms: int | None = None) -> None:
        self.scale = scale
        self.origin_ms = int(time.time() * 1000) if origin_ms is None else origin_ms

    def now_ms(self) -> int:
        real = time.time() * 1000
        return int(self.origin_ms + (real - self.origin_ms) * self.scale)

    def env(self) -> dict[str, str]:
        return {
            "QT_EXCHANGE__TIME_SCALE": repr(self.scale),
            "QT_EXCHANGE__TIME_ORIGIN_MS": str(self.origin_ms),
        }


def unified(market_id: str) -> str:
    return f"{market_id.removesuffix('USDT')}/USDT:USDT"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _http(url: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")  # noqa: S310
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - loopback
        return json.loads(r.read())


class FakeProc:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "quantum_trader.testing.fake_binance", "--port"]
        self.proc = subprocess.Popen(  # noqa: S603 - our own module
            [*cmd, str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                self.state()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the fake exchange server did not start") from None
                time.sleep(0.05)

    def control(self, name: str, body: dict[str, Any] | None = None) -> Any:
        return _http(f"{self.url}/_control/{name}", body or {})

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = _http(f"{self.url}/_control/state")
        return data

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def testnet_env(url: str, state: Path, symbols: list[str], **extra: str) -> dict[str, str]:
    """The environment of ``qtrader run --testnet`` against the fake server at ``url``: its keys,
    its AI engine, 1m candles with 200 of history; ``extra`` adds or overrides ``QT_`` keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(
        QT_STATE_DIR=str(state),
        QT_EXCHANGE__API_KEY=KEY,
        QT_EXCHANGE__API_SECRET=SECRET,
        QT_EXCHANGE__URL_OVERRIDE=url,
        QT_FEED__WARMUP_CANDLES="200",
        QT_SIGNALS__SYMBOLS=json.dumps(symbols),
        QT_SIGNALS__TIMEFRAME="1m",
        QT_SIGNALS__SOURCE="http",  # the fake server plays the AI engine
        QT_SIGNALS__HTTP_URL=url,
        QT_RUNTIME__SHUTDOWN_TIMEOUT_SECONDS="5",
        QT_LOGGING__LEVEL="INFO",
    )
    env.update(extra)
    return env


def spawn_testnet(env: dict[str, str], log: Path) -> tuple[IO[str], subprocess.Popen[bytes]]:
    """``python -m quantum_trader run --testnet`` with ``env``, its output to ``log``."""
    out = log.open("w")
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "quantum_trader", "run", "--testnet"],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=env,
    )
    return out, proc


def wait_exit(proc: subprocess.Popen[bytes], out: IO[str], within: float) -> int | None:
    """The exit code within ``within`` seconds (its log closed), or None while it still runs."""
    try:
        code = proc.wait(within)
    except subprocess.TimeoutExpired:
        return None
    out.close()
    return code


class DaemonProc:
    def __init__(
        self, fake: FakeProc, state: Path, streams: bool, label: str, clock: SimTime
    ) -> None:
        self.api_port = free_port()
        env = testnet_env(
            fake.url,
            state,
            [unified(i) for i in IDS],
            QT_EXCHANGE__TIMEOUT_MS="2000",
            QT_EXCHANGE__STREAMS="true" if streams else "false",
            QT_FEED__POLL_SECONDS="5",
            QT_API__PORT=str(self.api_port),
            # mechanics under faults, not edge: the fake engine's constant BUY 0.95 is worth a
            # coin flip on a driftless walk, and calibration (rightly) stops trading it within
            # simulated hours — so the soak trades the raw confidence
            QT_CALIBRATION__MIN_RESOLVED="1000000000",
            **clock.env(),
        )
        self.log = state / f"daemon-{label}.log"
        self._out, self.proc = spawn_testnet(env, self.log)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def health(self, timeout: float = 2.0) -> dict[str, Any]:
        """``GET /health``; a 503 (the daemon says it is OFFLINE, e.g. in an outage) is an
        answer too, with the same body."""
        try:
            data: dict[str, Any] = _http(
                f"http://127.0.0.1:{self.api_port}/health", timeout=timeout
            )
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                raise
            data = json.loads(exc.read())
            data["http_status"] = 503
        return data

    def kill9(self) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._out.close()

    def wait(self, within: float) -> int | None:
        return wait_exit(self.proc, self._out, within)


class Market(threading.Thread):
    """A driftless random walk per symbol, posted every ``tick_s`` of real time; every minute of
    market time (``clock``) the closed 1m kline (its open, extremes and close as walked).
    ``hold`` pins one symbol's price."""

    def __init__(
        self, fake: FakeProc, tick_s: float, vol: float, seed: int, clock: SimTime
    ) -> None:
        super().__init__(daemon=True)
        self.fake, self.tick_s, self.vol, self.clock = fake, tick_s, vol, clock
        self.rng = random.Random(seed)  # noqa: S311 - a market, not a secret
        self.price = dict(PRICES)
        self.bar: dict[str, list[float]] = {}
        self.minute = clock.now_ms() // 60_000
        self.held: dict[str, float] = {}
        self.stopped = threading.Event()
        self.errors = 0

    def seed_history(self, bars: int = 200) -> None:
        last_open = (self.clock.now_ms() // 60_000 - 1) * 60_000
        for market_id in IDS:
            close = self.price[market_id] * 0.97
            for k in range(bars):
                o = close
                close = o * (1 + self.rng.gauss(0.00015, 0.0015))
                hi, lo = max(o, close) * 1.0004, min(o, close) * 0.9996
                ts = last_open - (bars - 1 - k) * 60_000
                body = {"symbol": market_id, "ts": ts, "open": o, "high": hi, "low": lo}
                self.fake.control("candle", {**body, "close": close, "walk": False})
            self.price[market_id] = close
        self.fake.control("prices", {"prices": self.price, "ts": self.clock.now_ms()})

    def hold(self, market_id: str, price: float) -> None:
        self.held[market_id] = price
        self.fake.control("prices", {"prices": {market_id: price}, "ts": self.clock.now_ms()})

    def run(self) -> None:
        while not self.stopped.wait(self.tick_s):
            for market_id in IDS:
                if market_id in self.held:
                    self.price[market_id] = self.held[market_id]
                else:
                    self.price[market_id] *= math.exp(self.rng.gauss(0.0, self.vol))
                bar = self.bar.setdefault(market_id, [self.price[market_id]] * 4)
                bar[1], bar[2] = (
                    max(bar[1], self.price[market_id]),
                    min(bar[2], self.price[market_id]),
                )
                bar[3] = self.price[market_id]
            try:
                self.fake.control("prices", {"prices": self.price, "ts": self.clock.now_ms()})
                self._close_minute()
            except OSError:
                self.errors += 1

    def _close_minute(self) -> None:
        minute = self.clock.now_ms() // 60_000
        if minute == self.minute:
            return
        for market_id, (o, hi, lo, c) in self.bar.items():
            body = {"symbol": market_id, "ts": self.minute * 60_000, "open": o, "high": hi}
            self.fake.control("candle", {**body, "low": lo, "close": c, "walk": False})
        self.minute, self.bar = minute, {}


class Checker(threading.Thread):
    """Every second: the fake exchange's state and the daemon's ``/health`` (its latency kept per
    phase). A gap is a violation once it has lasted its grace: ``stop_grace_s`` for a position
    without a live stop (an entry places its stop, a move is new-first-then-cancel: a moment's
    gap is not a bug; a lasting one is), ``book_grace_s`` for the book behind the exchange (under
    a 429 storm the fill poll backs off, as it must). The longest lag seen is reported."""

    def __init__(
        self,
        fake: FakeProc,
        max_positions: int,
        stop_grace_s: float = 8.0,
        book_grace_s: float = 30.0,
    ) -> None:
        super().__init__(daemon=True)
        self.fake, self.max_positions = fake, max_positions
        self.stop_grace_s, self.book_grace_s = stop_grace_s, book_grace_s
        self.longest: dict[str, float] = defaultdict(float)  # kind → the longest gap, s
        self.daemon_proc: DaemonProc | None = None
        self.phase = "start"
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.unanswered: dict[str, int] = defaultdict(int)
        self.violations: list[str] = []
        self.max_seen = 0
        self.checks = 0
        self._book_checked = True
        self._since: dict[str, float] = {}
        self.answered: set[DaemonProc] = set()
        self.stopped = threading.Event()

    @property
    def book_checked(self) -> bool:
        """False while the daemon cannot know the exchange (an outage, a restart)."""
        return self._book_checked

    @book_checked.setter
    def book_checked(self, on: bool) -> None:
        self._book_checked = on
        for key in [k for k in self._since if k.startswith("book")]:
            del self._since[key]  # a gap from before does not count after

    def _lasting(self, kind: str, key: str, bad: bool, detail: str = "") -> None:
        now = time.monotonic()
        if not bad:
            self._since.pop(key, None)
            return
        first = self._since.setdefault(key, now)
        self.longest[kind] = max(self.longest[kind], now - first)
        grace = self.book_grace_s if kind == "book" else self.stop_grace_s
        if now - first >= grace:
            self.violations.append(f"{self.phase}: {key} {detail} for {now - first:.0f}s")
            self._since.pop(key, None)

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            try:
                self.check_once()
            except OSError as exc:
                self.violations.append(f"{self.phase}: fake state unreadable: {exc}")

    def check_once(self) -> None:
        s = self.fake.state()
        self.checks += 1
        held = {m: p["qty"] for m, p in s["positions"].items() if abs(p["qty"]) > 0}
        self.max_seen = max(self.max_seen, len(held))
        if len(held) > self.max_positions:
            self.violations.append(f"{self.phase}: {len(held)} positions > {self.max_positions}")
        stops: dict[str, int] = defaultdict(int)
        for a in s["algo"]:
            if a["algoStatus"] == "NEW":
                stops[a["symbol"]] += 1
        for m in held:
            self._lasting("stop", f"{m} has no live stop", stops[m] == 0)
        entries: dict[str, int] = defaultdict(int)
        for o in s["orders"]:
            if o["clientOrderId"].endswith("-entry") and float(o["executedQty"]) > 0:
                entries[o["clientOrderId"]] += 1
        dup = [cid for cid, n in entries.items() if n > 1]
        if dup:
            self.violations.append(f"{self.phase}: duplicate entries {dup}")
        self._check_daemon(held)

    def _check_daemon(self, held: dict[str, float]) -> None:
        d = self.daemon_proc
        if d is None or not d.alive:
            return
        started = time.perf_counter()
        try:
            health = d.health()
        except OSError:
            # not yet up is not unanswered, nor is a daemon killed on purpose meanwhile (the
            # soak drops it from the checker before the kill; this check may already be running)
            if d in self.answered and d is self.daemon_proc and d.alive:
                self.unanswered[self.phase] += 1
            return
        self.answered.add(d)
        self.latency[self.phase].append((time.perf_counter() - started) * 1000)
        if not self.book_checked:
            return
        book = {p["symbol"]: p["qty"] for p in health.get("positions", [])}
        exchange = {unified(m): abs(q) for m, q in held.items()}
        for symbol in set(book) | set(exchange):
            mine, theirs = book.get(symbol, 0.0), exchange.get(symbol, 0.0)
            gap = abs(mine - theirs) > 1e-9
            self._lasting("book", f"book ≠ exchange on {symbol}", gap, f"{mine}/{theirs}")
