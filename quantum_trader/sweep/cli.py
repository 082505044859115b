"""``qtrader sweep``: backtests over config keys (grid, random or optuna search) and walk-forward
windows, each trial a Ray task — a local Ray started on demand, ``--address`` to join a cluster."""

from __future__ import annotations

import argparse
import os
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from quantum_trader.core.errors import InvalidInput
from quantum_trader.feeds.loader import load_candles
from quantum_trader.settings import Settings
from quantum_trader.sweep import report
from quantum_trader.sweep.runner import Plan, RayPool, run_sweep, shared_or_none
from quantum_trader.sweep.space import parse_param, slices
from quantum_trader.sweep.trial import METRICS


def add_sweep_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser("sweep", help="backtests over config keys and walk-forward windows, on Ray")
    common(p)
    p.add_argument("--data", nargs="+", required=True, metavar="FILE", help="candle files")
    p.add_argument("--funding", nargs="*", default=[], metavar="FILE", help="funding-rate files")
    p.add_argument("--param", action="append", required=True, metavar="KEY=VALUES",
                   help="section.key=v1,v2,… (choices) or section.key=lo:hi (a range); "
                   "repeat for each key")  # fmt: skip
    p.add_argument("--search", choices=("grid", "random", "optuna"), default="grid")
    p.add_argument("--trials", type=int, default=32, help="random/optuna: how many (default 32)")
    p.add_argument("--seed", type=int, default=0, help="draws the trials and seeds the sizer")
    p.add_argument("--metric", choices=METRICS, default="sharpe", help="the objective")
    p.add_argument("--walk-forward", type=int, default=0, metavar="K",
                   help="K folds: K + 1 equal windows, each chosen on one, judged on the "
                   "next")  # fmt: skip
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="trials at once (default: the cores)")  # fmt: skip
    p.add_argument("--address", help="a Ray cluster to join (default: a local Ray, started here)")
    p.add_argument("--out", default="sweep-out", help="results folder (default sweep-out)")


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    params = [parse_param(s) for s in args.param]
    keys = [p.key for p in params]
    if len(set(keys)) != len(keys):
        raise InvalidInput("--param", "a key is swept twice")
    if args.trials < 1 or args.workers < 1:
        raise InvalidInput("--trials/--workers", "must be >= 1")
    loaded = [load_candles(f) for f in args.data]  # once each: the data's time range
    first, last = min(int(s.ts[0]) for s in loaded), max(int(s.ts[-1]) for s in loaded)
    windows = slices(first, last, args.walk_forward + 1 if args.walk_forward else 1)
    plan = Plan(params, args.search, args.trials, args.seed, args.metric, windows)
    base = settings.model_dump()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    files = tuple(args.data)
    with ThreadPoolExecutor(1, thread_name_prefix="share") as ahead:  # while Ray starts
        shares = [ahead.submit(shared_or_none, w, base, files) for w in windows]
        pool = RayPool(args.address, args.workers)
        for w, shared in zip(windows, shares, strict=True):
            pool.offer(w, files, shared.result())
        del shares  # Ray's object store holds them now, not this process
        pool.ready()  # the workers loaded meanwhile: the trials phase is trials only
    ready = time.perf_counter()
    try:
        rows = run_sweep(plan, base, files, tuple(args.funding), pool)
    finally:
        done = time.perf_counter()
        pool.close()
    wall = time.perf_counter() - started
    stop = wall - (done - started)
    phases = (f"Ray's start with its workers loaded {ready - started:.1f}s, trials "
              f"{done - ready:.2f}s in {len(pool.batches)} tasks, "
              f"its stop {stop:.1f}s")  # fmt: skip
    report.write_table(rows, out)
    failed = [r for r in rows if r["status"] != "ok"]
    trials = report.by_trial(rows)
    print(f"qtrader sweep — {args.search}, {len(trials)} trials × {len(windows)} window(s), "
          f"{args.workers} worker(s), {wall:.1f}s ({phases}); objective {args.metric}")  # fmt: skip
    for r in failed[:10]:
        print(f"  failed     trial {r['trial']} window {r['window']}: {r['error']}")
    best = report.best_trial(rows, args.metric)
    if best is None:
        print(f"  every trial failed; the table: {out}/results.csv")
        return 1
    chosen = {k: trials[best[0]][0][k] for k in keys}
    shown = ", ".join(f"{k}={v}" for k, v in chosen.items())
    print(f"  best       trial {best[0]}: {shown} → {args.metric} {best[1]:.4g}")
    base_file = _base_file(args.config)
    note = (f"qtrader sweep: trial {best[0]} of {len(trials)}, {args.metric} {best[1]:.6g} "
            f"(mean over {len(windows)} window(s)), seed {args.seed}")  # fmt: skip
    (out / "best.toml").write_text(report.best_toml(base_file, chosen, note))
    if args.walk_forward:
        folds = report.walk_forward_folds(rows, args.metric, keys)
        _write_folds(folds, out)
        for f in folds:
            print(f"  fold {f['fold']}     trial {f['trial']}: in sample "
                  f"{f[f'in_sample_{args.metric}']:.4g}, out of sample "
                  f"{f[f'out_of_sample_{args.metric}']:.4g} (median trial "
                  f"{f[f'median_trial_out_of_sample_{args.metric}']:.4g})")  # fmt: skip
    plot = report.write_plot(rows, keys, args.metric, out, f"qtrader sweep — {args.metric}")
    print(f"  results    {out}/results.csv, results.parquet, best.toml, {plot.name}"
          f"{', walk_forward.csv' if args.walk_forward else ''}")  # fmt: skip
    return 0


def _write_folds(folds: list[dict[str, object]], out: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if folds:
        names = list(folds[0])
        table = pa.table({k: report.column([f[k] for f in folds]) for k in names})
        pcsv.write_csv(table, out / "walk_forward.csv")


def _base_file(config: str | None) -> dict[str, dict[str, object]]:
    path = config or os.environ.get("QT_CONFIG")
    if not path:
        return {}
    with Path(path).open("rb") as f:
        return tomllib.load(f)
