"""Edge-gated against ungated trading, through the backtester (the daemon's own pipeline), on the
shared real files and the synthetic year.

For each file, with the default settings and with every signal forced confident (0.95: about a
trade a bar-run, the stress case), two runs on the same candles: ``edge.mode = off`` (every
accepted decision trades full size) and ``gate`` (the default: probes at the exchange minimum,
then full size only while the shadow trades' net edge is positive at 90 %). Printed: trades, net
PnL, fees, and for the gated run the decisions per action and each symbol's shadow edge.

    .venv/bin/python bench/edge_bench.py [--no-synth] [--forced-synth]

The synthetic year's forced runs take minutes each; they are left out unless asked for.
Nothing is asserted; the figures are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from shared_files import SYNTH, bench_files


def run(path: Path, force: float, mode: str, funding: dict[str, object]) -> dict[str, object]:
    from quantum_trader.backtest.runner import run_backtest
    from quantum_trader.feeds.loader import load_candles
    from quantum_trader.settings import Settings

    settings = Settings(signals={"force_confidence": force}, edge={"mode": mode})
    series = [load_candles(path)]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as rl_dir:
        out = asyncio.run(run_backtest(settings, series, funding, Path(rl_dir)))  # type: ignore[arg-type]
    m = out.metrics
    return {
        "trades": m.trades,
        "pnl": m.realised_pnl,
        "fees": m.fees,
        "end": m.end_equity,
        "edge": m.edge,
        "wall": time.perf_counter() - started,
    }


def funding_for(path: Path) -> dict[str, object]:
    from quantum_trader.feeds.loader import load_candles, load_funding

    f = path.with_name(path.name.replace("-5m-", "-funding-8h-"))
    if not f.exists() or f == path:
        return {}
    return {load_candles(path).symbol: load_funding(f)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--forced-synth", action="store_true")
    args = ap.parse_args()
    from loguru import logger

    logger.remove()
    files = bench_files(synth=not args.no_synth)
    print(f"{'file':<36}{'signals':<9}{'mode':<6}{'trades':>7}{'net PnL':>11}{'fees':>9}"
          f"{'equity':>11}{'wall s':>8}  gate")  # fmt: skip
    for path in files:
        funding = funding_for(path)
        for force in (0.0, 0.95):
            if force and path == SYNTH and not args.forced_synth:
                continue
            for mode in ("off", "gate"):
                r = run(path, force, mode, funding)
                edge = r["edge"]
                assert isinstance(edge, dict)  # noqa: S101
                d = edge.get("decisions", {})
                note = ""
                if mode == "gate":
                    rows = "; ".join(
                        f"{v['action']} at {v['edge_bp']:+.1f} bp [{v['low_bp']:+.1f}, "
                        f"{v['high_bp']:+.1f}] over {v['trades']}"
                        for v in edge.get("symbols", {}).values()
                    )
                    note = (
                        f"traded {d.get('trade', 0)}, probes {d.get('probe', 0)}, shadowed "
                        f"{d.get('shadow', 0)} | {rows or 'no shadow trades'}"
                    )
                print(
                    f"{path.name[:35]:<36}{'forced' if force else 'default':<9}{mode:<6}"
                    f"{r['trades']:>7}{r['pnl']:>+11.2f}{r['fees']:>9.2f}{r['end']:>11.2f}"
                    f"{r['wall']:>8.1f}  {note}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
