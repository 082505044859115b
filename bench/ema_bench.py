#!/usr/bin/env python3
"""Like-for-like backtest benchmark: freqtrade's EmaCross1226 rules — long when EMA 12 crosses above
EMA 26, out when it crosses below, a 2 % stop, a 3 % take profit, 0.1 % fees — run as a user
strategy (examples/ema_cross.py with bench/ema_cross.toml) through qtrader's whole pipeline on the
shared synthetic year, against a minimal numpy backtest of the same rules measured in the same run.

    .venv/bin/python bench/ema_bench.py [--bars 525600] [--repeat 3]

Prints, per side: trades, wall seconds (median of --repeat; qtrader's is the whole command, start-up
included), peak RSS and bars/s; then qtrader's ratio to the baseline. Issue 14's targets are against
freqtrade (≥ 10× faster, ≤ 0.5× its RSS): ``bench/freqtrade_bench.py`` runs freqtrade on the same
year in the same sitting. This script asserts nothing: it measures and prints.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from backtest_bench import ensure_synth  # noqa: E402

START_MS = 1_704_067_200_000
FAST, SLOW, STOP, TAKE, FEE = 12, 26, 0.02, 0.03, 0.001


def ema(x: np.ndarray, span: int) -> np.ndarray:
    """The plain EMA recursion (alpha = 2 / (span + 1)), seeded with the first value."""
    alpha = 2.0 / (span + 1)
    out = np.empty_like(x)
    acc = x[0]
    for i, v in enumerate(x.tolist()):
        acc = alpha * v + (1 - alpha) * acc
        out[i] = acc
    return out


def baseline(path: Path, bars: int) -> tuple[int, float, float]:
    """A minimal numpy backtest of the same rules: (trades, seconds, net return of a unit
    stake compounded). Reading the CSV is included, as qtrader's load is."""
    started = time.perf_counter()
    data = np.loadtxt(path, delimiter=",", skiprows=1, max_rows=bars, usecols=(2, 3, 4))
    high, low, close = data[:, 0], data[:, 1], data[:, 2]
    gap = ema(close, FAST) - ema(close, SLOW)
    up = np.flatnonzero((gap[:-1] <= 0) & (gap[1:] > 0)) + 1
    down = np.flatnonzero((gap[:-1] >= 0) & (gap[1:] < 0)) + 1
    trades, wealth, free_from = 0, 1.0, 0
    for i in up.tolist():
        if i < free_from or i < 8 * SLOW:
            continue
        entry = close[i]
        stop, take = entry * (1 - STOP), entry * (1 + TAKE)
        j = int(down[np.searchsorted(down, i, side="right")]) if down[-1] > i else close.size - 1
        window = slice(i + 1, j + 1)
        hit_stop = np.flatnonzero(low[window] <= stop)
        hit_take = np.flatnonzero(high[window] >= take)
        first_stop = hit_stop[0] if hit_stop.size else j
        first_take = hit_take[0] if hit_take.size else j
        if first_stop <= first_take and hit_stop.size:
            out, at = stop, i + 1 + first_stop
        elif hit_take.size:
            out, at = take, i + 1 + first_take
        else:
            out, at = close[j], j
        wealth *= (out / entry) * (1 - FEE) ** 2
        trades += 1
        free_from = at + 1
    return trades, time.perf_counter() - started, wealth - 1


def qtrader(path: Path, bars: int, out: Path) -> tuple[int, float, float, float]:
    """(trades, wall s, peak RSS MB, in-run bars/s) of one ``qtrader backtest`` process."""
    cmd = [sys.executable, "-m", "quantum_trader", "backtest", "--config",
           str(ROOT / "bench" / "ema_cross.toml"), "--no-report", "--no-progress",
           "--log-level", "ERROR", "--out", str(out), "--data", str(path),
           "--to", str(START_MS + (bars - 1) * 60_000)]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)  # noqa: S603
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"qtrader backtest failed (status {status}): {' '.join(cmd)}")
    trades = sum(1 for _ in (out / "trades.csv").open()) - 1
    rate = float(json.loads((out / "metrics.json").read_text())["bars_per_second"])
    return trades, wall, usage.ru_maxrss / 1024, rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=525_600)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    synth = ensure_synth()
    base = [baseline(synth, args.bars) for _ in range(args.repeat)]
    base_trades, base_wall = base[0][0], statistics.median(b[1] for b in base)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            runs.append(qtrader(synth, args.bars, Path(tmp) / str(r)))
    trades, wall = runs[0][0], statistics.median(r[1] for r in runs)
    rss, rate = max(r[2] for r in runs), statistics.median(r[3] for r in runs)
    print(f"EMA 12/26 cross, long only, 2 % stop, 3 % TP, 0.1 % fee — {args.bars:,} bars, "
          f"median of {args.repeat}")  # fmt: skip
    print(f"{'':<26}{'trades':>8}{'wall s':>9}{'RSS MB':>9}{'bars/s':>11}")
    print(f"{'numpy baseline':<26}{base_trades:>8}{base_wall:>9.2f}{base_rss:>9.0f}"
          f"{args.bars / base_wall:>11,.0f}")  # fmt: skip
    print(f"{'qtrader, full pipeline':<26}{trades:>8}{wall:>9.2f}{rss:>9.0f}"
          f"{args.bars / wall:>11,.0f}   (in-run {rate:,.0f} bars/s, "
          "start-up excluded)")  # fmt: skip
    print(f"qtrader / baseline: {wall / base_wall:.1f}× the wall, {trades / base_trades:.3f}× the "
          f"trades; per trade {wall / max(trades, 1) * 1000:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
