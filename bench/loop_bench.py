"""Does the event loop starve at full speed? (issue 11, item 5) ``qtrader run --paper --speed max
--duration D`` is polled on ``/health`` every 0.5 s with a 2 s timeout; printed: polls answered,
p50/p99 latency, and the process's wall time against D (start-up and shutdown included). The same
at 60× real time is the baseline of the same sitting (the loop is mostly idle there).

    .venv/bin/python bench/loop_bench.py [--duration 20]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

QTRADER = Path(sys.executable).with_name("qtrader")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(speed: str, duration: float, state: Path) -> tuple[int, int, list[float], float]:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env |= {"QT_STATE_DIR": str(state), "QT_API__PORT": str(port), "QT_LOGGING__LEVEL": "WARNING"}
    cmd = [str(QTRADER), "run", "--paper", "--speed", speed, "--duration", str(duration)]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    polls, latencies = 0, []
    while proc.poll() is None and time.monotonic() - started < duration + 30:
        polls += 1
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:  # noqa: S310
                json.load(r)
            latencies.append(time.perf_counter() - t)
        except OSError:
            pass  # not listening yet, or timed out: counted as unanswered
        time.sleep(0.5)
    proc.wait(30)
    return polls, len(latencies), sorted(latencies), time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0)
    args = ap.parse_args()
    head = f"{'speed':>6}{'answered':>12}{'p50 ms':>9}{'p99 ms':>9}{'wall s':>9}"
    print(f"{head}  (duration {args.duration:g} s)")
    with tempfile.TemporaryDirectory() as tmp:
        for speed in ("60", "max"):
            polls, ok, lat, wall = run(speed, args.duration, Path(tmp) / speed)
            p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
            p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000 if lat else float("nan")
            print(f"{speed:>6}{f'{ok}/{polls}':>12}{p50:>9.0f}{p99:>9.0f}{wall:>9.1f}")


if __name__ == "__main__":
    main()
