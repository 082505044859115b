"""The daemon as a process: API while running, SIGTERM → exit 0 in time with stops left on the
exchange, a second signal forces exit; `qtrader status` / `positions` read the API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.integration.helpers import free_port

SHUTDOWN_TIMEOUT = 10.0


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(
        QT_API__PORT=str(port),
        QT_STATE_DIR=str(tmp_path),
        QT_RUNTIME__SHUTDOWN_TIMEOUT_SECONDS=str(SHUTDOWN_TIMEOUT),
        # the trending demo market: these tests need trades to happen (mechanics, not edge);
        # on the driftless default the calibrated confidence rarely reaches the threshold
        QT_FEED__SYNTHETIC_DRIFT="0.25",
    )
    return env


def _start(tmp_path: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    """stderr goes to a file: a full pipe would block the daemon's logging."""
    with (tmp_path / "stderr.log").open("w") as log:
        return subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "quantum_trader", "run", "--paper", "--speed", "3000", *extra],
            env=_env(tmp_path, port),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )


def _stderr(tmp_path: Path) -> str:
    return (tmp_path / "stderr.log").read_text()


def _cli(tmp_path: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "quantum_trader", *args],
        env=_env(tmp_path, port),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:  # noqa: S310
            data: dict[str, Any] = json.loads(r.read())
            return data
    except OSError:
        return None


def _wait_open_position(
    proc: subprocess.Popen[str], port: int, within: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the daemon died"
        h = _health(port)
        if h and h["positions"] and h["trades"]["closed"] >= 1:
            return h
        time.sleep(0.2)
    raise AssertionError("no trade opened and closed in time")


def test_sigterm_exits_zero_in_time_and_leaves_stops(tmp_path: Path) -> None:
    port = free_port()
    proc = _start(tmp_path, port)
    try:
        health = _wait_open_position(proc, port)
        assert health["mode"] == "paper"
        assert health["trades"]["liquidations"] == 0
        for pos in health["positions"]:
            assert pos["exchange_stop"] is not None, "every open position has an exchange stop"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:  # noqa: S310
            metrics = r.read().decode()
        assert 'qtrader_health_score{module="overall"}' in metrics
        assert "qtrader_bus_published_total" in metrics
        status = _cli(tmp_path, port, "status")
        assert status.returncode == 0 and "qtrader paper" in status.stdout
        positions = _cli(tmp_path, port, "positions")
        assert positions.returncode == 0 and "USDT:USDT" in positions.stdout
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=SHUTDOWN_TIMEOUT + 5)
        assert time.monotonic() - started <= SHUTDOWN_TIMEOUT
        assert proc.returncode == 0, _stderr(tmp_path)[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = _stderr(tmp_path)
    assert "stopped: SIGTERM" in out
    assert "each with its exchange stop" in out
    summary = json.loads((tmp_path / "last_summary.json").read_text())
    assert summary["positions"], "positions stay open across a shutdown"
    for pos in summary["positions"]:
        assert pos["exchange_stop"] is not None, "shutdown leaves the exchange stops in place"
    assert "shutting down (SIGTERM)" in err


def test_second_signal_forces_exit(tmp_path: Path) -> None:
    port = free_port()
    proc = _start(tmp_path, port)
    try:
        deadline = time.monotonic() + 60
        while _health(port) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        # Freeze the process so both signals are pending together (distinct signals do not
        # coalesce); on SIGCONT the loop handles SIGTERM (stop) and then SIGINT (force).
        proc.send_signal(signal.SIGSTOP)
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGCONT)
        proc.communicate(timeout=SHUTDOWN_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = _stderr(tmp_path)
    assert proc.returncode == 130, err[-2000:]
    assert "forced exit" in err


def test_status_without_a_daemon_says_so(tmp_path: Path) -> None:
    done = _cli(tmp_path, free_port(), "status")
    assert done.returncode == 1
    assert "no daemon answering" in done.stdout


def test_flatten_asks_then_closes_through_the_running_daemon(tmp_path: Path) -> None:
    port = free_port()
    proc = _start(tmp_path, port)
    try:
        _wait_open_position(proc, port)
        asked = subprocess.run(  # noqa: S603 - our own module; "n" at the prompt
            [sys.executable, "-m", "quantum_trader", "flatten"],
            env=_env(tmp_path, port), input="n\n", capture_output=True, text=True, timeout=30,
            check=False,
        )  # fmt: skip
        assert asked.returncode == 1 and "nothing done" in asked.stdout
        assert _health(port)["positions"]  # type: ignore[index]
        done = _cli(tmp_path, port, "flatten", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "new entries: stopped until restart" in done.stdout
        h = _health(port)
        assert h is not None and not h["positions"]
        intents = h["trades"]["intents"]
        time.sleep(1.0)  # the market goes on; the daemon takes no new entry
        after = _health(port)
        assert after is not None and not after["positions"]
        assert after["trades"]["intents"] >= intents
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=SHUTDOWN_TIMEOUT + 5)


def test_flatten_without_a_daemon_on_paper_says_what_to_do(tmp_path: Path) -> None:
    done = _cli(tmp_path, free_port(), "flatten", "--yes")
    assert done.returncode == 1 and "start it (`qtrader run --paper`)" in done.stdout
