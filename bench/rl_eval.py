"""The RL sizer measured out of sample on real trades, against fixed 1.0× and the SPEC fallback
formula. Not circular: nothing here is the sizing market the policy was designed on.

Each file is backtested through the daemon's pipeline with a fresh policy that learns as it goes
(every stress signal traded: ``--force-confidence 0.95``, for enough trades). When a trade closes —
before the sizer learns from it — the policy's mean multiplier for that trade's state (trained
only on earlier trades), the formula's and 1.0 are scored on its realised ROE on margin (which
does not depend on the size): multiplier × ROE is each sizing's return on the base margin.
Printed per file and pooled: mean return per trade for each sizing, policy − baseline with a
seeded bootstrap 95 % interval, and corr(policy multiplier, realised ROE) with its interval.

    .venv/bin/python bench/rl_eval.py [--synth-bars 100000]

Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SYNTH = Path(tempfile.gettempdir()) / "BTCUSDT-1m-synth.csv"


def run(path: Path, bars: int | None) -> list[tuple[float, float, float]]:
    from quantum_trader.backtest.runner import run_backtest
    from quantum_trader.feeds.loader import load_candles
    from quantum_trader.settings import Settings
    from quantum_trader.sizing import rl_sizer

    rows: list[tuple[float, float, float]] = []
    learn = rl_sizer.RLSizer.learn

    async def judged(self: Any, e: Any) -> None:
        state = tuple(float(x) for x in e.state)
        rows.append((self.mean_action(state), rl_sizer._formula(state), float(e.roe)))  # noqa: SLF001
        await learn(self, e)

    rl_sizer.RLSizer.learn = judged  # type: ignore[method-assign]
    try:
        s = load_candles(path)
        if bars is not None:
            cut = slice(0, bars)
            s = type(s)(
                s.symbol,
                s.timeframe_ms,
                *(a[cut] for a in (s.ts, s.open, s.high, s.low, s.close, s.volume)),
            )
        settings = Settings(signals={"force_confidence": 0.95})
        with tempfile.TemporaryDirectory() as rl_dir:
            asyncio.run(run_backtest(settings, [s], {}, Path(rl_dir)))
    finally:
        rl_sizer.RLSizer.learn = learn  # type: ignore[method-assign]
    return rows


def interval(values: np.ndarray, stat: Any, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    draws = [stat(values[rng.integers(0, len(values), len(values))]) for _ in range(2_000)]
    return float(np.nanpercentile(draws, 2.5)), float(np.nanpercentile(draws, 97.5))


def report(name: str, rows: list[tuple[float, float, float]]) -> None:
    a = np.asarray(rows, dtype=float)
    if a.shape[0] < 10:
        print(f"{name}: {a.shape[0]} trades — too few to say")
        return
    pm, fm, roe = a[:, 0], a[:, 1], a[:, 2]
    ret = {"policy": pm * roe, "fixed 1.0x": roe, "fallback": fm * roe}
    means = " | ".join(f"{k} {v.mean():+.5f}" for k, v in ret.items())
    print(f"{name}: {a.shape[0]} trades; return per trade on the base margin: {means}")
    for base in ("fixed 1.0x", "fallback"):
        d = ret["policy"] - ret[base]
        lo, hi = interval(d, np.mean)
        print(f"    policy − {base:10s} {d.mean():+.5f} [{lo:+.5f}, {hi:+.5f}]")

    def corr(x: np.ndarray) -> float:
        if x[:, 0].std() == 0 or x[:, 1].std() == 0:
            return float("nan")
        return float(np.corrcoef(x[:, 0], x[:, 1])[0, 1])

    pair = np.column_stack([pm, roe])
    lo, hi = interval(pair, corr)
    print(f"    corr(policy multiplier, realised ROE) {corr(pair):+.3f} [{lo:+.3f}, {hi:+.3f}]")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synth-bars", type=int, default=100_000, help="0: skip the synthetic year")
    args = ap.parse_args()
    from loguru import logger

    logger.remove()  # the backtests' decision lines would drown the figures
    files: list[tuple[Path, int | None]] = [
        (SHARED / "data" / "BTCUSDT-1m-2023-03-binanceus.csv", None),
        (SHARED / "data" / "XRPUSDT-PERP-5m-2021-11.csv", None),
    ]
    if args.synth_bars:
        if not SYNTH.exists():
            script = str(SHARED / "bench" / "synth_year.py")
            subprocess.run([sys.executable, script, "--out", str(SYNTH)], check=True)  # noqa: S603
        files.append((SYNTH, args.synth_bars))
    pooled: list[tuple[float, float, float]] = []
    for path, bars in files:
        rows = run(path, bars)
        report(path.name + (f" (first {bars:,} bars)" if bars else ""), rows)
        pooled += rows
    report("pooled", pooled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
