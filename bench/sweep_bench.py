#!/usr/bin/env python3
"""Sweep benchmark: the same 64-trial random sweep of the benchmark year (the shared synthetic year,
default settings, three config keys drawn by seed) on a local Ray with one worker, then with every
core; prints each wall and the ratio (issue 14's target: ≥ 1.7× on 2 cores).

    .venv/bin/python bench/sweep_bench.py [--trials 64] [--bars 525600] [--repeat 3]

Each run is a whole ``qtrader sweep`` command; the ratio is printed for the whole command (Ray's
start and stop included, the same in both) and for its trials alone (from the pool being ready to
the last row: what the second core can share), as the command reports its phases. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from backtest_bench import ensure_synth  # noqa: E402

START_MS = 1_704_067_200_000
PARAMS = ("levels.base_tp=0.008:0.03", "levels.base_sl=0.004:0.012", "exits.trailing=true,false")


def sweep(path: Path, trials: int, workers: int, out: Path) -> tuple[float, float]:
    """(whole command, trials phase) seconds."""
    cmd = [sys.executable, "-m", "quantum_trader", "sweep", "--data", str(path),
           "--search", "random", "--trials", str(trials), "--seed", "0",
           "--workers", str(workers), "--out", str(out)]  # fmt: skip
    for p in PARAMS:
        cmd += ["--param", p]
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)  # noqa: S603
    wall = time.perf_counter() - started
    phase = re.search(r"trials ([0-9.]+)s", done.stdout)
    return wall, float(phase.group(1)) if phase else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--bars", type=int, default=525_600)
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs (1 worker, all)")
    args = parser.parse_args()
    synth = ensure_synth()
    path = synth
    with tempfile.TemporaryDirectory() as tmp:
        if args.bars < 525_600:  # the first N bars, as a file of their own
            path = Path(tmp) / "BTCUSDT-1m-head.csv"
            with synth.open() as src, path.open("w") as dst:
                for i, line in enumerate(src):
                    if i > args.bars:
                        break
                    dst.write(line)
        cores = os.cpu_count() or 1
        ones, manys, same = [], [], True
        for r in range(args.repeat):  # in turn, so a drift of the machine's speed hits both
            ones.append(sweep(path, args.trials, 1, Path(tmp) / f"one{r}"))
            manys.append(sweep(path, args.trials, cores, Path(tmp) / f"many{r}"))
            same &= (Path(tmp) / f"one{r}" / "best.toml").read_text() == (
                Path(tmp) / f"many{r}" / "best.toml"
            ).read_text()
    print(f"sweep of {args.trials} trials, {args.bars:,} bars each (random search, seed 0), "
          f"median of {args.repeat} pairs")  # fmt: skip
    for k, name in ((0, "whole command"), (1, "trials phase ")):
        one = statistics.median(o[k] for o in ones)
        many = statistics.median(m[k] for m in manys)
        ratios = sorted(o[k] / m[k] for o, m in zip(ones, manys, strict=True))
        print(
            f"  {name}  1 worker {one:6.1f} s ({one / args.trials:.2f} s a trial), {cores} workers "
            f"{many:6.1f} s: {statistics.median(ratios):.2f}× (pairs {ratios[0]:.2f}–"
            f"{ratios[-1]:.2f}; target ≥ 1.7× on 2 cores)"
        )
    print(f"  the same best trial both ways: {same}")


if __name__ == "__main__":
    main()
