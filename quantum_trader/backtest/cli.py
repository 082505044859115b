"""``qtrader backtest``: parse, load the data, run, write the results, print a summary."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from quantum_trader.backtest.interactive import write_interactive
from quantum_trader.backtest.precompute import per_symbol
from quantum_trader.backtest.report import import_plotting, write_all, write_trades
from quantum_trader.backtest.runner import BacktestRun, on_stdlib_loop, run_backtest
from quantum_trader.core.edge import normalise_symbol, parse_ts
from quantum_trader.core.errors import InvalidInput
from quantum_trader.feeds.discover import discover
from quantum_trader.feeds.loader import (
    MAX_JUMP,
    CandleSeries,
    DataFileError,
    load_candles,
    load_funding,
    symbol_from_name,
)
from quantum_trader.runtime.heap import one_arena, trim
from quantum_trader.settings import Settings
from quantum_trader.signals.reference import FileReference
from quantum_trader.sizing.state import CHECKPOINT

PROGRESS_FROM_BARS = 100_000


def add_backtest_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser("backtest", help="recorded candles through the daemon's own decisions")
    common(p)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", nargs="+", metavar="FILE", help="candle files")
    source.add_argument(
        "--datadir",
        metavar="DIR",
        help="every symbol's candle file under DIR (freqtrade's layout too), funding beside",
    )
    p.add_argument("--symbol", help="the market of a single --data file whose name does not say")
    p.add_argument(
        "--max-jump",
        type=float,
        default=MAX_JUMP,
        help=f"quarantine a candle whose close jumps beyond this factor of the last good one, "
        f"or whose high/low exceeds it (default {MAX_JUMP:g})",
    )
    p.add_argument("--funding", nargs="*", default=[], metavar="FILE", help="funding-rate files")
    p.add_argument(
        "--reference",
        nargs="*",
        default=[],
        metavar="FILE",
        help="reference-venue candles (same asset, matched by base currency): the divergence",
    )
    p.add_argument("--symbols", nargs="*", metavar="SYMBOL", help="only these symbols")
    p.add_argument("--from", dest="start", help="first candle (ISO-8601 or epoch ms)")
    p.add_argument("--to", dest="end", help="last candle (ISO-8601 or epoch ms)")
    p.add_argument("--out", default="backtest-out", help="results folder (default backtest-out)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--force-confidence", type=float, help="stress test: every signal this sure")
    p.add_argument("--max-leverage", type=float, help="override leverage.max_leverage")
    p.add_argument(
        "--timeframe",
        choices=("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h"),
        help="decide on candles of this timeframe, resampled from the file's (exits and fills "
        "still walk every candle of the file); default: the file's own",
    )
    p.add_argument("--rl-checkpoint", help="start the sizer from this checkpoint (else fresh)")
    p.add_argument("--no-report", action="store_true", help="skip the PNG and HTML")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)


def stress_overrides(args: argparse.Namespace, settings: Settings) -> Settings:
    """``--force-confidence``, ``--max-leverage`` (backtest, evaluate) and ``--timeframe``
    (backtest) over the settings."""
    update: dict[str, Any] = {}
    if args.force_confidence is not None:
        if not 0 < args.force_confidence <= 1:
            raise InvalidInput("--force-confidence", "must be in (0, 1]")
        update["signals"] = settings.signals.model_copy(
            update={"force_confidence": args.force_confidence}
        )
    timeframe = getattr(args, "timeframe", None)
    if timeframe is not None:
        signals = update.get("signals", settings.signals)
        update["signals"] = signals.model_copy(update={"decision_timeframe": timeframe})
    if args.max_leverage is not None:
        if not settings.leverage.min_leverage <= args.max_leverage <= 125:
            raise InvalidInput("--max-leverage", "must be in [leverage.min_leverage, 125]")
        update["leverage"] = settings.leverage.model_copy(
            update={"max_leverage": args.max_leverage}
        )
    return settings.model_copy(update=update)


def _load(args: argparse.Namespace) -> list[CandleSeries]:
    start = parse_ts(args.start, "--from") if args.start else None
    end = parse_ts(args.end, "--to") if args.end else None
    until = None if end is None else end + 1  # --to includes its own candle
    wanted = {normalise_symbol(s) for s in args.symbols} if args.symbols else None
    named = normalise_symbol(args.symbol) if args.symbol else None
    if named and (args.datadir or len(args.data) != 1):
        raise InvalidInput("--symbol", "names the market of a single --data file")
    if args.datadir:
        found = discover(Path(args.datadir), args.timeframe, wanted)
        for line in found.ignored:
            print(f"  datadir    ignored {line}")
        args.data = [str(p) for p in found.candles.values()]
        args.funding = args.funding or [str(p) for p in found.funding.values()]
    if not args.max_jump > 1:
        raise InvalidInput("--max-jump", f"must be above 1, got {args.max_jump}")
    series = per_symbol(  # each file on a thread of its own: pyarrow reads without the GIL
        lambda path: load_candles(path, named, max_jump=args.max_jump).between(start, until),
        args.data,
    )
    trim()  # a parse's freed arrays back to the system (a cached read frees nothing)
    series = [s for s in series if (wanted is None or s.symbol in wanted) and len(s)]
    if not series:
        raise InvalidInput("--data", "no candles left after --symbols/--from/--to")
    return series


def reference_files(paths: list[str], series: list[CandleSeries]) -> FileReference:
    """Each reference file serves the traded series of the same base currency (a spot file for a
    perpetual, a mark-price file for its last price)."""
    refs = [load_candles(p) for p in paths]
    by_base = {r.symbol.split("/")[0]: r for r in refs}
    matched = {s.symbol: by_base[b] for s in series if (b := s.symbol.split("/")[0]) in by_base}
    if not matched:
        bases = ", ".join(sorted(by_base))
        raise DataFileError("--reference", f"no traded symbol has the base of {bases}")
    return FileReference(matched)


def _run(settings: Settings, args: argparse.Namespace, series: list[CandleSeries]) -> BacktestRun:
    funding = {symbol_from_name(Path(p)): load_funding(p) for p in args.funding}
    reference = reference_files(args.reference, series) if args.reference else None
    bars = sum(len(s) for s in series)
    show = args.progress if args.progress is not None else bars >= PROGRESS_FROM_BARS
    with tempfile.TemporaryDirectory(prefix="qtrader-bt-") as rl_dir:
        if args.rl_checkpoint:
            shutil.copy(args.rl_checkpoint, Path(rl_dir) / CHECKPOINT)
        if not show:
            return on_stdlib_loop(
                run_backtest(settings, series, funding, Path(rl_dir), reference=reference)
            )
        columns = (
            TextColumn("backtest"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} bars"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, transient=True) as progress:
            task = progress.add_task("bars", total=bars)
            return on_stdlib_loop(
                run_backtest(
                    settings,
                    series,
                    funding,
                    Path(rl_dir),
                    lambda n: progress.advance(task, n),
                    reference=reference,
                )
            )


def _import_plotting() -> None:
    with contextlib.suppress(Exception):  # a failure is the report's to name, when it imports
        import_plotting()


def cmd_backtest(args: argparse.Namespace, settings: Settings) -> int:
    settings = stress_overrides(args, settings)
    one_arena()  # before the loading and precompute threads: their freed arrays shared
    if not args.no_report:  # while the candles load and the precompute runs
        threading.Thread(target=_import_plotting, name="import-plotting", daemon=True).start()
    series = _load(args)
    run = _run(settings, args, series)
    m, rec = replace(run.metrics, data=data_quality(series)), run.recorder
    out = Path(args.out)
    title = f"qtrader backtest — {', '.join(s.symbol for s in series)}"
    if args.no_report:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(asdict(m), indent=2))
        write_trades(out / "trades.csv", rec.trades)
    else:
        write_all(out, title, m, rec.trades, rec.ts, rec.equity)
        write_interactive(out / "chart.html", title, m, series, rec.trades, rec.ts, rec.equity)
    if args.json:
        print(json.dumps(asdict(m), indent=2))
        return 0
    pf = f"{m.profit_factor:.2f}" if m.profit_factor is not None else "n/a"
    trips = ", ".join(f"{k} ×{n}" for k, n in m.risk_trips.items() if n) or "none"
    models = " | ".join(
        f"{k} {v['pnl']:+,.2f} ({v['trades']:g} trades, {v['wins']:g} won)"
        for k, v in m.model_pnl.items()
    )
    print(
        f"{title}\n"
        f"  bars       {m.bars:,} in {m.wall_seconds:.2f}s ({m.bars_per_second:,.0f} bars/s)\n"
        f"  trades     {m.trades} | win rate {m.win_rate:.1%} | profit factor {pf} | "
        f"avg leverage {m.average_leverage:.1f}x\n"
        f"  return     {m.total_return:+.2%} | max drawdown {m.max_drawdown:.2%} | Sharpe "
        f"{m.sharpe:.2f} | Sortino {m.sortino:.2f} | exposure {m.exposure:.1%}\n"
        f"  exits      TP1 {m.tp1_hit_rate:.1%} TP2 {m.tp2_hit_rate:.1%} TP3 "
        f"{m.tp3_hit_rate:.1%} SL {m.sl_hit_rate:.1%} | liquidations {m.liquidations}\n"
        f"  pnl        {m.realised_pnl:+,.2f} USDT realised (fees {m.fees:,.2f}, funding "
        f"{m.funding:+,.2f}), {m.open_pnl:+,.2f} open | equity {m.start_equity:,.2f} → "
        f"{m.end_equity:,.2f} ({m.end_equity - m.start_equity:+,.2f})\n"
        f"  risk       trips {trips} | gap losses {m.gap_losses} ({m.gap_loss_usdt:,.2f} USDT "
        f"beyond the stops) | book ≠ exchange {m.invariant_violations}\n"
        f"  caps       worst trade {m.worst_trade_loss_of_equity:.2%} of equity | max margin use "
        f"{m.max_margin_util:.1%}\n"
        f"  by model   {models or 'no trades'} (a trade counts for each model that voted it)\n"
        f"{_edge_lines(m.edge)}"
        f"  decided    {_decided(settings, series)}\n"
        f"{_data_lines(m.data)}"
        f"  results    {out}/"
    )
    return 0


def _edge_lines(edge: dict[str, Any]) -> str:
    if not edge:
        return ""
    d = edge["decisions"]
    head = (
        f"  edge gate  {edge['mode']}: decisions traded {d.get('trade', 0)}, probes "
        f"{d.get('probe', 0)}, shadowed {d.get('shadow', 0)} | {edge['shadow_trades']} shadow "
        f"trades closed\n"
    )
    rows = "".join(f"             {sym}: {v['reason']}\n" for sym, v in edge["symbols"].items())
    return head + rows


def _decided(settings: Settings, series: list[CandleSeries]) -> str:
    live = settings.signals.timeframe
    tf = settings.signals.decision_timeframe
    steps = sorted({s.timeframe_ms for s in series})
    files = [f"{ms // 60_000}m" if ms < 3_600_000 else f"{ms // 3_600_000}h" for ms in steps]
    if tf:
        finer = [f for f in files if f != tf]
        text = f"on {tf} candles"
        if finer:
            text += f" resampled from the file's {', '.join(finer)}; exits on every one"
        return text if tf == live else f"{text}; live decides on {live}"
    if files == [live]:
        return f"on the file's {live} candles, the live timeframe"
    return (
        f"on the file's {', '.join(files)} candles; live decides on {live} "
        f"(--timeframe {live} to decide as live does)"
    )


def data_quality(series: list[CandleSeries]) -> dict[str, Any]:
    return {
        s.source or s.symbol: {
            "candles": len(s),
            "refused": s.skipped_count,
            "duplicates_dropped": s.duplicates,
            "first_refused": list(s.skipped),
        }
        for s in series
    }


def _data_lines(data: dict[str, Any]) -> str:
    out = []
    for name, d in data.items():
        text = f"  data       {name}: {d['candles']:,} candles"
        if d["refused"]:
            first = "; ".join(d["first_refused"][:3])
            text += f", {d['refused']:,} rows refused ({first}{'; …' if d['refused'] > 3 else ''})"
        if d["duplicates_dropped"]:
            text += f", {d['duplicates_dropped']:,} identical duplicates dropped"
        if not d["refused"] and not d["duplicates_dropped"]:
            text += ", none refused"
        out.append(text + "\n")
    return "".join(out)
