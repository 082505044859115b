"""The chaos soak: ``qtrader run --testnet`` (5 symbols, up to 5 positions) against the fake
Binance server with streams, through injected latency, 5xx and 429/418 storms, dropped
websockets, an exchange outage, ``kill -9`` and restarts, and a revoked key at the end. Every
second the checker compares both sides (:class:`soak_parts.Checker`).

Phases last what the plan says in real seconds; market time runs ``time_scale`` times faster
(the daemon's wall clock, ``exchange.time_scale``, and the market share one formula:
:class:`soak_parts.SimTime`), so 30 real minutes at 20× are ten simulated hours of candles,
signals, entries, time stops and daily limits. Network timing — polls, backoffs, timeouts, the
checker's graces — stays real. :func:`run_soak` returns the report; ``bench/soak.py`` prints it,
and ``tests/integration/test_soak.py`` runs a short plan.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from quantum_trader.testing.soak_parts import (
    Checker,
    DaemonProc,
    FakeProc,
    Market,
    SimTime,
    unified,
)

FOREVER = 10**9


@dataclass(frozen=True)
class SoakPlan:
    steady_s: float = 120.0
    faults_s: float = 120.0
    outage_s: float = 180.0
    recovery_s: float = 60.0
    polling_s: float = 90.0
    window_s: float = 60.0  # requests are counted over this long, positions open
    tick_s: float = 0.25
    vol: float = 0.0004  # per tick, log-price
    seed: int = 7
    max_positions: int = 5
    time_scale: float = 1.0  # market time per real time


def _requests(fake: FakeProc) -> int:
    return sum(fake.state()["requests"].values())


def _held(fake: FakeProc) -> dict[str, dict[str, Any]]:
    return {m: p for m, p in fake.state()["positions"].items() if abs(p["qty"]) > 0}


def _wait(cond: Callable[[], bool], within: float, step: float = 0.05) -> float | None:
    """Seconds until ``cond`` held, or None."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if cond():
            return time.monotonic() - started
        time.sleep(step)
    return None


def requests_per_minute(fake: FakeProc, window_s: float, max_positions: int) -> dict[str, float]:
    """REST requests a minute the daemon sends, measured once the positions are open."""
    _wait(lambda: len(_held(fake)) >= max_positions, window_s)
    before, started, counts = _requests(fake), time.monotonic(), []
    while time.monotonic() - started < window_s:
        counts.append(len(_held(fake)))
        time.sleep(1.0)
    per_min = (_requests(fake) - before) / (time.monotonic() - started) * 60
    return {"requests_per_min": round(per_min, 1), "positions_avg": round(mean(counts), 2)}


def reactions(fake: FakeProc, market: Market, d: DaemonProc) -> dict[str, float | None]:
    """On one open long: the price through TP1 → the stop moved to breakeven on the exchange
    (the fill seen, the exit manager acting); then through that stop (the exchange closes the
    position, as it does a trailing stop) → the close booked in the daemon's book."""
    out: dict[str, float | None] = {"tp1_to_breakeven_s": None, "stop_to_booked_s": None}
    out["user_stream_up_metric"] = _metric(d, "qtrader_user_stream_up")
    s = fake.state()
    for m, p in s["positions"].items():
        legs = [
            float(o["price"])
            for o in s["orders"]
            if o["symbol"] == m and o["type"] == "LIMIT" and o["status"] == "NEW"
        ]
        if p["qty"] <= 0 or len(legs) < 3:
            continue
        entry = float(p["entry"])

        def stop_at_breakeven(market_id: str = m, above: float = entry) -> bool:
            return any(
                a["symbol"] == market_id
                and a["algoStatus"] == "NEW"
                and float(a["triggerPrice"]) > above
                for a in fake.state()["algo"]
            )

        market.hold(m, min(legs) * 1.0003)
        out["tp1_to_breakeven_s"] = _wait(stop_at_breakeven, 30.0)
        stops = [
            float(a["triggerPrice"])
            for a in fake.state()["algo"]
            if a["symbol"] == m and a["algoStatus"] == "NEW"
        ]
        if stops:
            market.hold(m, max(stops) * 0.999)
            symbol = unified(m)

            def booked(s: str = symbol) -> bool:
                return s not in _booked(d)

            out["stop_to_booked_s"] = _wait(booked, 30.0, 0.02)
        market.held.pop(m, None)
        break
    return out


def _faults(fake: FakeProc, seconds: float, say: Callable[[str], None]) -> None:
    storms: list[dict[str, Any]] = [
        {"path": "", "kind": "delay", "delay": 0.4, "times": 150},
        {"path": "", "kind": "status", "status": 502, "times": 40},
        {"path": "", "kind": "ratelimit", "status": 429, "retry_after": 1, "times": 20},
        {"path": "", "kind": "ratelimit", "status": 418, "retry_after": 2, "times": 6},
    ]
    part = seconds / len(storms)
    for storm in storms:
        fake.control("clear_faults")
        fake.control("fault", storm)
        say(f"  fault: {storm['kind']} {storm.get('status', '')} ×{storm['times']}")
        end = time.monotonic() + part
        while time.monotonic() < end:
            time.sleep(min(part / 2, end - time.monotonic()))
            fake.control("stream", {"action": "drop"})
    fake.control("clear_faults")


def p99(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1)


def run_soak(plan: SoakPlan, workdir: Path, say: Callable[[str], None] = print) -> dict[str, Any]:
    state = workdir / "state"
    state.mkdir(parents=True, exist_ok=True)
    fake = FakeProc()
    clock = SimTime(plan.time_scale)
    market = Market(fake, plan.tick_s, plan.vol, plan.seed, clock)
    checker = Checker(fake, plan.max_positions)
    report: dict[str, Any] = {"plan": asdict(plan)}
    daemons: list[DaemonProc] = []

    def start(streams: bool, label: str) -> DaemonProc:
        d = DaemonProc(fake, state, streams, label, clock)
        daemons.append(d)
        checker.daemon_proc = d
        up = _wait(lambda: _answers(d), 60.0, 0.2)
        say(f"daemon {label} (streams {'on' if streams else 'off'}) up in {up}s")
        return d

    def phase(name: str) -> None:
        checker.phase = name
        say(f"[{time.strftime('%H:%M:%S')}] phase {name}")

    began = time.monotonic()
    try:
        market.seed_history()
        market.start()
        checker.start()
        phase("steady")
        d = start(True, "streams")
        steady_until = time.monotonic() + plan.steady_s
        report["streams"] = requests_per_minute(
            fake, min(plan.window_s, plan.steady_s), plan.max_positions
        )
        first = (d.health()["market_time_ms"], time.monotonic())  # trading: candles seen
        report["streams"].update(reactions(fake, market, d))
        time.sleep(max(0.0, steady_until - time.monotonic()))  # the phase lasts what it says
        phase("faults")
        _faults(fake, plan.faults_s, say)
        phase("outage")
        checker.book_checked = False  # nothing can be known of the exchange meanwhile
        fake.control("fault", {"path": "", "kind": "status", "status": 503, "times": FOREVER})
        fake.control("stream", {"action": "refuse", "seconds": plan.outage_s})
        time.sleep(plan.outage_s)
        fake.control("clear_faults")
        report["outage_survived"] = d.alive and _answers(d)  # up, and still answering
        phase("recovery")
        time.sleep(plan.recovery_s)
        checker.book_checked = True
        phase("kill9")
        checker.daemon_proc = None  # killed on purpose: its silence is no violation
        d.kill9()
        checker.book_checked = False
        d = start(False, "polling")
        checker.book_checked = True
        phase("polling")
        polling_until = time.monotonic() + plan.polling_s
        report["polling"] = requests_per_minute(
            fake, min(plan.window_s, plan.polling_s), plan.max_positions
        )
        report["polling"].update(reactions(fake, market, d))
        time.sleep(max(0.0, polling_until - time.monotonic()))
        checker.daemon_proc = None
        d.kill9()
        checker.book_checked = False
        phase("restart")
        d = start(True, "restart")
        checker.book_checked = True
        time.sleep(10.0)
        last = (d.health()["market_time_ms"], time.monotonic())
        # the daemon's own market clock (its last closed candle): did it live the fast time?
        report["daemon_market_rate"] = round((last[0] - first[0]) / 1000 / (last[1] - first[1]), 2)
        phase("revoke")
        fake.control("config", {"key": "revoked-by-the-soak"})
        revoked = time.monotonic()
        code = d.wait(90.0)
        report["revoked"] = {"exit_code": code, "seconds": round(time.monotonic() - revoked, 1)}
    finally:
        checker.stopped.set()
        market.stopped.set()
        for dp in daemons:
            if dp.alive:
                dp.kill9()
        fake.stop()
    real_s = time.monotonic() - began
    report["real_minutes"] = round(real_s / 60, 1)
    report["simulated_hours"] = round(real_s * plan.time_scale / 3600, 2)
    report["health_p99_ms"] = {k: p99(v) for k, v in checker.latency.items()}
    report["health_unanswered"] = dict(checker.unanswered)
    for phase_name, n in checker.unanswered.items():
        if phase_name != "revoke":  # the daemon is exiting there, by design
            checker.violations.append(f"{phase_name}: /health unanswered {n} times (2 s)")
    report["max_positions_seen"] = checker.max_seen
    report["longest_gap_s"] = {k: round(v, 1) for k, v in checker.longest.items()}
    report["checks"] = checker.checks
    report["violations"] = checker.violations
    report["logs"] = [str(dp.log) for dp in daemons]
    return report


def _metric(d: DaemonProc, name: str) -> float | None:
    """One sample of ``GET /metrics`` (None: the daemon does not export it)."""
    url = f"http://127.0.0.1:{d.api_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - loopback
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def _booked(d: DaemonProc) -> set[str]:
    return {x["symbol"] for x in d.health()["positions"]}


def _answers(d: DaemonProc) -> bool:
    try:
        d.health(1.0)
    except OSError:
        return False
    return True
