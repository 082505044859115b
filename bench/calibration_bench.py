"""Calibration measured out of sample: expected calibration error (ECE) of the confidence the
daemon trades on, per method, on the shared real files and the synthetic year.

Every signal with a side is calibrated from the outcomes resolved before it (the backtest's own
timeline, the same code the daemon runs): prequential, so every figure is out of sample. The
first 30 % of each file's signals only warm the calibrator; ECE is measured on the rest, on all
of them and on those that pass the confidence threshold (``signals.min_confidence``, 0.65), with
a seeded bootstrap 95 % interval. Outcome: the price moved the signal's way at its horizon.

    .venv/bin/python bench/calibration_bench.py [--timeframe 15m] [--no-synth]

Nothing is asserted; the figures are printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
from shared_files import bench_files

WARM = 0.3
THRESHOLD = 0.65


def ece(conf: npt.NDArray[np.float64], hit: npt.NDArray[np.float64], bins: int = 10) -> float:
    """Σ over equal-width bins of |mean confidence − hit rate| × the bin's share."""
    if conf.size == 0:
        return float("nan")
    idx = np.minimum((conf * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += abs(conf[m].mean() - hit[m].mean()) * m.sum() / conf.size
    return total


def interval(conf: npt.NDArray[np.float64], hit: npt.NDArray[np.float64]) -> tuple[float, float]:
    if conf.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(0)
    draws = [ece(conf[i], hit[i]) for i in rng.integers(0, conf.size, (500, conf.size))]
    return float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def resample(series: object, timeframe_ms: int) -> object:
    """Candles aggregated to ``timeframe_ms`` (whole buckets only)."""
    from quantum_trader.feeds.loader import CandleSeries

    s = series
    assert isinstance(s, CandleSeries)  # noqa: S101
    bucket = s.ts // timeframe_ms
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], s.ts.size]
    whole = (ends - starts) == timeframe_ms // s.timeframe_ms
    starts, ends = starts[whole], ends[whole]
    return CandleSeries(
        s.symbol,
        timeframe_ms,
        bucket[starts] * timeframe_ms,
        s.open[starts],
        np.maximum.reduceat(s.high, starts)[: starts.size] if starts.size else s.high[:0],
        np.minimum.reduceat(s.low, starts)[: starts.size] if starts.size else s.low[:0],
        s.close[ends - 1],
        np.add.reduceat(s.volume, starts)[: starts.size] if starts.size else s.volume[:0],
    )


def measure(path: Path, timeframe_ms: int | None) -> None:
    from quantum_trader.backtest.precompute import timeline
    from quantum_trader.feeds.loader import load_candles
    from quantum_trader.settings import Settings

    s = load_candles(path)
    if timeframe_ms is not None and timeframe_ms > s.timeframe_ms:
        s = resample(s, timeframe_ms)  # type: ignore[assignment]
    for method in ("raw", "coarse", "binned"):
        c = Settings().calibration  # the shipped defaults
        kind = "coarse" if method == "raw" else method
        tl = timeline([s], c.min_resolved, c.window, kind, c.min_bin, c.prior)
        resolved = tl.outcome_order  # track-order indices of the resolved signals
        sig_pos = tl.sig_pos[resolved]
        raw = np.concatenate([c.confidence for c in tl.calls])  # one series: bar = event order
        bars = tl.ev_bar[sig_pos]
        conf = raw[bars] if method == "raw" else tl.calibrated[sig_pos]
        hit = tl.outcomes.astype(np.float64)
        order = np.argsort(sig_pos, kind="stable")  # back to time order
        conf, hit = conf[order], hit[order]
        start = int(WARM * conf.size)
        conf, hit = conf[start:], hit[start:]
        passed = conf >= THRESHOLD
        lo, hi = interval(conf[passed], hit[passed])
        print(
            f"  {method:6s} all {conf.size:6d}: ECE {ece(conf, hit):.3f} (hit {hit.mean():.3f}, "
            f"conf {conf.mean():.3f}) | passing ≥{THRESHOLD}: {int(passed.sum()):5d}, "
            f"ECE {ece(conf[passed], hit[passed]):.3f} [{lo:.3f}, {hi:.3f}]"
            + (
                f" (hit {hit[passed].mean():.3f}, conf {conf[passed].mean():.3f})"
                if passed.any()
                else ""
            )
        )


def main() -> int:
    from quantum_trader.commands import TIMEFRAME_MS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeframe", default=None, help="resample to this (e.g. 15m) first")
    ap.add_argument("--no-synth", action="store_true")
    args = ap.parse_args()
    tf = TIMEFRAME_MS[args.timeframe] if args.timeframe else None
    files = bench_files(synth=not args.no_synth)
    for path in files:
        print(f"{path.name} ({args.timeframe or 'its own timeframe'}):")
        measure(path, tf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
