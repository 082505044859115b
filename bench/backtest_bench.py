#!/usr/bin/env python3
"""Backtest benchmark. Prints one line per case — bars, wall s, bars/s, peak RSS MB, trades — plus
the floor measured in the same run (reading the CSV into numpy arrays alone) and the ratio to it;
then the paper daemon's decision latency (candle close → order sent, p50/p99) with 50 symbols.

    .venv/bin/python bench/backtest_bench.py [--cases 30240,100000,525600] [--symbols10]

The synthetic year comes from ../shared/bench/synth_year.py (generated when missing). Targets
(issue 14): the year, report excluded here, ≤ 2 s; 10 symbols × 1 year ≤ 10 s on 2 cores and
≤ 1 GB; bars/s at 100k and 525k within 15 % at the same trade density (``--config
bench/ema_cross.toml`` trades every EMA cross, so the density is the market's). This script
asserts nothing: it measures and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SYNTH = Path(tempfile.gettempdir()) / "BTCUSDT-1m-synth.csv"


def ensure_synth() -> Path:
    if not SYNTH.exists():
        subprocess.run(
            [
                sys.executable,
                str(SHARED / "bench" / "synth_year.py"),
                "--out",  # noqa: S603
                str(SYNTH),
            ],
            check=True,
        )
    return SYNTH


def floor_seconds(path: Path, bars: int | None) -> float:
    from quantum_trader.feeds.loader import load_candles

    started = time.perf_counter()
    s = load_candles(path)
    if bars is not None:
        _ = s.close[:bars].copy()
    return time.perf_counter() - started


def run_case(
    files: list[Path], bars: int | None, out: Path, config: str | None = None
) -> tuple[float, float, int, float]:
    """Wall seconds, peak RSS MB, trades and the in-run bars/s (start-up excluded, from
    metrics.json) of one ``qtrader backtest`` process."""
    cmd = [
        sys.executable,
        "-m",
        "quantum_trader",
        "backtest",
        "--no-report",
        "--no-progress",
        "--out",
        str(out),
        "--data",
        *map(str, files),
    ]
    if config:
        cmd += ["--config", config]
    if bars is not None:
        cmd += ["--to", str(1_704_067_200_000 + (bars - 1) * 60_000)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"backtest failed (status {status}): {' '.join(cmd)}")
    trades = sum(1 for _ in (out / "trades.csv").open()) - 1
    in_run = float(json.loads((out / "metrics.json").read_text())["bars_per_second"])
    return wall, usage.ru_maxrss / 1024, trades, in_run


def decision_latency(symbols: int = 50, bars: int = 400) -> tuple[float, float, int]:
    from loguru import logger

    from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed
    from quantum_trader.pipeline import build_pipeline
    from quantum_trader.settings import Settings

    logger.remove()
    names = tuple(f"S{i:02d}/USDT:USDT" for i in range(symbols))
    settings = Settings(
        signals={"symbols": names, "force_confidence": 0.95}, risk={"max_positions": symbols}
    )
    feed = SyntheticFeed(names, seed=5, speed=None, warmup=60, limit=bars, drift=TREND_DRIFT)
    p = build_pipeline(settings, feed)
    published: dict[str, float] = {}
    samples: list[float] = []
    p.bus.add_tap(
        lambda topic, msg: (
            published.__setitem__(msg.symbol, time.perf_counter())
            if topic == "market.candle"
            else None
        )
    )
    paper = p.paper
    assert paper is not None
    original = paper.create_market_order

    async def timed(symbol: str, side, qty, client_id, reduce_only=False):  # type: ignore[no-untyped-def]
        if not reduce_only:
            samples.append((time.perf_counter() - published[symbol]) * 1000)
        return await original(symbol, side, qty, client_id, reduce_only)

    paper.create_market_order = timed  # type: ignore[method-assign]
    asyncio.run(p.feed.run())
    samples.sort()
    return samples[len(samples) // 2], samples[int(0.99 * (len(samples) - 1))], len(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--cases",
        default="30240,100000,525600",
        help="bar counts (30240 = the March 2023 BTC file)",
    )
    parser.add_argument("--symbols10", action="store_true", help="also 10 symbols × 1 year")
    parser.add_argument(
        "--config", help="a config file for every case (bench/ema_cross.toml: trades every cross)"
    )
    args = parser.parse_args()
    synth = ensure_synth()
    btc = SHARED / "data" / "BTCUSDT-1m-2023-03-binanceus.csv"
    print(
        f"{'case':<28}{'bars':>10}{'wall s':>9}{'bars/s':>10}{'RSS MB':>9}{'trades':>8}"
        f"{'floor s':>9}{'× floor':>9}{'in-run bars/s':>15}"
    )
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for raw in args.cases.split(","):
            bars = int(raw)
            is_btc = bars == 30_240 and btc.exists()
            path, limit = (btc, None) if is_btc else (synth, bars)
            floor = floor_seconds(path, limit)
            wall, rss, trades, in_run = run_case([path], limit, Path(tmp) / raw, args.config)
            rates[bars] = in_run
            name = "BTC March 2023 file" if is_btc else "synthetic BTC 1m"
            print(
                f"{name:<28}{bars:>10,}{wall:>9.2f}{bars / wall:>10,.0f}{rss:>9.0f}"
                f"{trades:>8}{floor:>9.2f}{wall / floor:>9.1f}{in_run:>15,.0f}"
            )
        if args.symbols10:
            files = []
            for i in range(10):
                f = Path(tmp) / f"S{i}USDT-1m.csv"
                subprocess.run(
                    [
                        sys.executable,
                        str(SHARED / "bench" / "synth_year.py"),  # noqa: S603
                        "--out",
                        str(f),
                        "--seed",
                        str(100 + i),
                    ],
                    check=True,
                )
                files.append(f)
            wall, rss, trades, _ = run_case(files, None, Path(tmp) / "ten", args.config)
            print(
                f"{'10 symbols × 1 year':<28}{10 * 525_600:>10,}{wall:>9.2f}"
                f"{10 * 525_600 / wall:>10,.0f}{rss:>9.0f}{trades:>8}"
            )
    if 100_000 in rates and 525_600 in rates:
        print(
            f"linearity (in-run bars/s, start-up excluded): 525,600 bars run at "
            f"{rates[525_600] / rates[100_000]:.2f}× the rate of 100,000 (target within 15 %)"
        )
    p50, p99, n = decision_latency()
    print(
        f"paper daemon decision latency, 50 symbols, candle close → order sent: "
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms ({n} entries)"
    )


if __name__ == "__main__":
    main()
