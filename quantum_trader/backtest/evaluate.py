"""``qtrader evaluate``: a walk-forward evaluation of the daemon's decisions.

Each file's candles are cut into ``--windows`` consecutive windows; each window is backtested on
a fresh paper account, three times: the decisions ungated (``edge.mode = off``: every accepted
decision traded) with the RL sizer — which carries what it learned from the earlier windows into
the next one (walk-forward: a window is never traded by a policy that saw it) — and with fixed
1.0× sizing; and as configured (the edge gate on by default), its shadow trades carried from
window to window as the sizer's learning is. Per window and pooled: trades, net PnL, the net edge
per trade with its seeded bootstrap 95 % interval, the return on equity, buy-and-hold's return
over the same candles (one unit of equity in the asset at the first close, out at the last),
fixed sizing's PnL and the gated run's.

A symbol has a measurable edge only where the pooled interval lies above zero; the verdict says so.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path

from quantum_trader.backtest.cli import stress_overrides
from quantum_trader.backtest.runner import run_backtest
from quantum_trader.core.shadow import ShadowOutcome
from quantum_trader.core.stats import Edge, net_edge
from quantum_trader.feeds.loader import CandleSeries, load_candles
from quantum_trader.settings import Settings
from quantum_trader.sizing.sizer import FixedSizer


def add_evaluate_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser("evaluate", help="walk-forward: net edge per trade against baselines")
    common(p)
    p.add_argument("--data", nargs="+", required=True, metavar="FILE", help="candle files")
    p.add_argument("--windows", type=int, default=4, help="consecutive windows (default 4)")
    p.add_argument("--force-confidence", type=float, help="stress test: every signal this sure")
    p.add_argument("--max-leverage", type=float, help="override leverage.max_leverage")


def windows(s: CandleSeries, n: int) -> list[CandleSeries]:
    size = len(s) // n
    out = []
    for k in range(n):
        c = slice(k * size, len(s) if k == n - 1 else (k + 1) * size)
        out.append(
            CandleSeries(
                s.symbol, s.timeframe_ms, s.ts[c], s.open[c], s.high[c], s.low[c], s.close[c],
                s.volume[c],
            )
        )  # fmt: skip
    return out


def _fmt(e: Edge) -> str:
    return f"{e.mean:+8.2f} [{e.low:+8.2f}, {e.high:+8.2f}]"


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.windows <= 100:
        raise ValueError("--windows must be 1–100")
    settings = stress_overrides(args, settings)
    ungated = settings.model_copy(update={"edge": settings.edge.model_copy(update={"mode": "off"})})
    for path in args.data:
        s = load_candles(path)
        print(f"{s.symbol} ({Path(path).name}, {len(s):,} bars, {args.windows} windows)")
        print(
            "  window  trades   net PnL  open PnL  edge/trade USDT [95 %]     return  buy&hold"
            "  fixed 1.0×"
            f"  gated ({settings.edge.mode})"
        )
        adaptive: list[float] = []
        opened: list[float] = []  # what positions still open at a window's end added
        fixed: list[float] = []
        gated: list[float] = []
        shadows: list[ShadowOutcome] = []
        with (
            tempfile.TemporaryDirectory(prefix="qtrader-eval-") as rl_dir,
            tempfile.TemporaryDirectory(prefix="qtrader-eval-gated-") as gated_dir,
        ):
            for k, w in enumerate(windows(s, args.windows), 1):
                run = asyncio.run(run_backtest(ungated, [w], {}, Path(rl_dir)))
                with tempfile.TemporaryDirectory() as other:
                    base = asyncio.run(
                        run_backtest(ungated, [w], {}, Path(other), sizer=FixedSizer())
                    )
                g = asyncio.run(
                    run_backtest(settings, [w], {}, Path(gated_dir), edge_history=shadows)
                )
                gated_pnls = [t.pnl for t in g.recorder.trades]
                gated += gated_pnls
                pnls = [t.pnl for t in run.recorder.trades]
                fixed_pnls = [t.pnl for t in base.recorder.trades]
                adaptive += pnls
                opened.append(run.metrics.open_pnl)
                fixed += fixed_pnls
                hold = float(w.close[-1] / w.close[0] - 1.0)
                print(
                    f"  {k:6d}  {len(pnls):6d}  {sum(pnls):+8.2f}  {run.metrics.open_pnl:+8.2f}  "
                    f"{_fmt(net_edge(pnls))}  "
                    f"{run.metrics.total_return:+7.2%}  {hold:+7.2%}  {sum(fixed_pnls):+9.2f}"
                    f"  {sum(gated_pnls):+8.2f} in {len(gated_pnls)} trades"
                )
        pooled, base_edge = net_edge(adaptive), net_edge(fixed)
        print(f"  pooled  {pooled.trades:6d}  {sum(adaptive):+8.2f}  {sum(opened):+8.2f}  "
              f"{_fmt(pooled)}")  # fmt: skip
        print(f"  fixed   {base_edge.trades:6d}  {sum(fixed):+8.2f}            {_fmt(base_edge)}")
        print(
            f"  gated   {len(gated):6d}  {sum(gated):+8.2f}  (edge gate {settings.edge.mode}; "
            f"{len(shadows)} shadow trades measured)"
        )
        print(f"  verdict: {pooled.verdict}")
    return 0
