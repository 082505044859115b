"""``qtrader run`` / ``status`` / ``positions``: build what the daemon needs, or read its API."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from pathlib import Path
from typing import Any, Literal

from rich import box
from rich.console import Console
from rich.table import Table

from quantum_trader.core.errors import InvalidInput
from quantum_trader.exchange.base import FatalExchangeError
from quantum_trader.exchange.binance_client import (
    ConfigError,
    check_live_opt_in,
)
from quantum_trader.exchange.venues import venue_adapter, venue_client
from quantum_trader.feeds.base import Feed, parse_speed
from quantum_trader.feeds.live import LiveFeed, ccxt_client
from quantum_trader.feeds.loader import FundingSeries, load_candles, load_funding, symbol_from_name
from quantum_trader.feeds.replay import ReplayFeed
from quantum_trader.feeds.synthetic import SyntheticFeed
from quantum_trader.params import api_keys, api_password, wall_clock
from quantum_trader.runtime.paths import state_dir
from quantum_trader.runtime.statelock import StateDirLocked, lock_state_dir
from quantum_trader.settings import TIMEFRAME_MS, Settings, with_mode
from quantum_trader.settings import ConfigError as SettingsError
from quantum_trader.store.journal import JournalError

EX_USAGE = 2
EX_CONFIG = 78


def add_run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: Any) -> None:
    p = sub.add_parser("run", help="run the trading daemon")
    common(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--paper", action="store_true", help="in-process paper exchange (default)")
    mode.add_argument("--testnet", action="store_true", help="Binance USDT-M demo trading")
    mode.add_argument("--live", action="store_true", help="real money (needs explicit opt-in)")
    p.add_argument(
        "--feed",
        nargs="+",
        metavar="KIND [FILE…]",
        help="synthetic | replay FILE… | live (default: feed.kind)",
    )
    p.add_argument(
        "--funding",
        nargs="*",
        default=None,
        metavar="FILE",
        help="funding-rate files for replay (matched by symbol)",
    )
    p.add_argument("--speed", help="N × real time, or 'max' (default: feed.speed)")
    p.add_argument("--duration", type=_seconds, help="stop after this many seconds (> 0), exit 0")
    p.add_argument("--seed", type=int, help="synthetic feed seed (default: feed.seed)")
    for name in ("status", "positions"):
        q = sub.add_parser(name, help=f"show the running daemon's {name}")
        common(q)
        q.add_argument("--json", action="store_true", help="print the raw JSON")
        q.add_argument("--url", help="API base URL (default: from api.host/api.port)")


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse: a bad one is a usage error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _feed(args: argparse.Namespace, settings: Settings) -> Feed:
    f = settings.feed
    kind, *files = args.feed or [f.kind, *map(str, f.files)]
    speed = parse_speed(args.speed if args.speed is not None else f.speed)
    if kind == "synthetic":
        if files:
            raise InvalidInput("--feed", "synthetic takes no files")
        return SyntheticFeed(
            settings.signals.symbols,
            args.seed if args.seed is not None else f.seed,
            TIMEFRAME_MS[f.synthetic_timeframe],
            speed,
            f.warmup_candles,
            drift=f.synthetic_drift,
        )
    if kind == "replay":
        if not files:
            raise InvalidInput("--feed", "replay needs at least one FILE")
        series = [load_candles(path) for path in files]
        funding_paths = args.funding if args.funding is not None else list(f.funding_files)
        funding: dict[str, FundingSeries] = {
            symbol_from_name(Path(p)): load_funding(p) for p in map(str, funding_paths)
        }
        return ReplayFeed(series, speed, funding)
    if kind == "live":
        tf = settings.signals.timeframe
        return LiveFeed(
            ccxt_client(settings.exchange.exchange_id),
            settings.signals.symbols,
            tf,
            TIMEFRAME_MS[tf],
            f.poll_seconds,
            stream=settings.exchange.streams,
        )
    raise InvalidInput("--feed", f"unknown feed {kind!r} (synthetic, replay FILE…, live)")


Mode = Literal["paper", "testnet", "live"]


def _mode(args: argparse.Namespace, settings: Settings) -> Mode:
    if args.testnet:
        return "testnet"
    if args.live:
        return "live"
    if args.paper:
        return "paper"
    return settings.exchange.mode


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    mode = _mode(args, settings)
    try:
        settings = with_mode(settings, mode)
        lock = lock_state_dir(state_dir())  # one daemon per state directory, for its whole life
    except (SettingsError, StateDirLocked) as exc:
        print(f"qtrader run --{mode}: {exc}")
        return EX_CONFIG
    with lock:
        return _run(args, settings, mode)


def _run(args: argparse.Namespace, settings: Settings, mode: Mode) -> int:
    from quantum_trader.app import Daemon  # the daemon's servers, only for a run

    if mode == "paper":
        try:
            daemon = Daemon(settings, _feed(args, settings), "paper", args.duration)
        except (SettingsError, JournalError) as exc:
            print(f"qtrader run --paper: {exc}")
            return EX_CONFIG
        return asyncio.run(daemon.run())
    try:
        if mode == "live":
            check_live_opt_in()
        if args.feed and args.feed[0] != "live":
            raise ConfigError(f"--{mode} trades on the exchange's own live data: no --feed")
        key, secret = api_keys(settings)
        x = settings.exchange
        client = venue_client(
            x.exchange_id,
            mode,
            key,
            secret,
            api_password(settings),
            x.url_override,
            x.timeout_ms,
            x.recv_window_ms,
        )
    except (ConfigError, FatalExchangeError) as exc:
        print(f"qtrader run --{mode}: {exc}")
        return EX_CONFIG
    tf = settings.signals.timeframe
    feed = LiveFeed(
        client,
        settings.signals.symbols,
        tf,
        TIMEFRAME_MS[tf],
        settings.feed.poll_seconds,
        settings.feed.warmup_candles,
        now_ms=wall_clock(settings).now_ms,
        stream=settings.exchange.streams and bool(client.has.get("watchOHLCV")),
    )
    exchange = venue_adapter(
        x.exchange_id, client, mode, x.rest_sweep_seconds, x.adapter == "generic"
    )
    try:
        daemon = Daemon(settings, feed, mode, args.duration, exchange=exchange)
    except JournalError as exc:
        print(f"qtrader run --{mode}: {exc}")
        return EX_CONFIG
    return asyncio.run(daemon.run())


async def _get_health(url: str) -> dict[str, Any]:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{url}/health") as response,
    ):
        data: dict[str, Any] = await response.json()
        return data


def _fetch(args: argparse.Namespace, settings: Settings) -> dict[str, Any] | None:
    import aiohttp

    url = args.url or f"http://{settings.api.host}:{settings.api.port}"
    try:
        return asyncio.run(_get_health(url))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        print(f"qtrader: no daemon answering at {url}/health ({type(exc).__name__}: {exc})")
        return None


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    s = _fetch(args, settings)
    if s is None:
        return 1
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    t, h = s["trades"], s["health"]
    print(f"qtrader {s['mode']}  {h['status']} ({h['overall']:.0f})  up {s['uptime_s']:.0f}s")
    print(f"  equity   {s['equity']:,.2f} USDT   realised {t['realised_pnl']:+,.2f}")
    print(f"  trades   {t['closed']} closed ({t['wins']} won)   open {len(s['positions'])}")
    print(f"  ILFv2    {s['ilf']['count']} decisions, avg {s['ilf']['average']:.2f}x")
    print(f"  redis    {s['redis']['state']}   dead letters {len(s['dead_letters'])}")
    from quantum_trader.status import risk_line  # the summary's words, loaded when asked

    print(f"  risk     {risk_line(s['risk'])}")
    modules = Table("module", "status", "score", "last error", box=box.SIMPLE_HEAD)
    for name, m in h["modules"].items():
        modules.add_row(name, m["status"], f"{m['score']:.1f}", m["last_error"] or "")
    _console().print(modules)
    perf = s.get("performance", {})
    for name, m in perf.get("models", {}).items():
        acc = "-" if m["accuracy"] is None else f"{m['accuracy']:.1%}"
        print(
            f"  model {name:<14} accuracy {acc:>6} of {m['resolved']:>4}  score "
            f"{m['score']:5.1f}  sizing ×{m['sizing_factor']:.2f}"
        )
    for name, w in perf.get("thresholds", {}).items():
        eta = (
            "no breach predicted" if w["breach_in_h"] is None else f"BREACH in {w['breach_in_h']} h"
        )
        print(f"  watch {name:<24} threshold {w['threshold']:<8g} {w['samples']:>3} samples  {eta}")
    gate = s.get("edge_gate", {})
    for name, g in gate.get("symbols", {}).items():
        print(
            f"  edge  {name:<16} {g['action'].upper():<7} {g['edge_bp']:+.1f} bp "
            f"[{g['low_bp']:+.1f}, {g['high_bp']:+.1f}] over {g['trades']} shadow trades, "
            f"probes {g['probes']}"
        )
    rl = s.get("rl", {})
    oos = rl.get("out_of_sample")
    if oos:
        d = oos["policy_minus_best_baseline"]
        lo, hi = d["interval_95"]
        print(
            f"  sizer    {rl['version']} sizing by {oos['sizing']} ({oos['trades']} trades judged; "
            f"policy − {d['baseline']} {d['mean']:+.4f} [{lo:+.4f}, {hi:+.4f}] per trade)"
        )
    if "streams" in s:
        st = s["streams"]
        print(f"  streams  user {'up' if st['user_stream'] else 'DOWN'}  drops {st['drops']}")
    return 0


def _console() -> Console:
    """Wide enough for a table's symbols when the output is not a terminal (a pipe, a log)."""
    return Console(width=None if sys.stdout.isatty() else 160, soft_wrap=False)


def cmd_positions(args: argparse.Namespace, settings: Settings) -> int:
    s = _fetch(args, settings)
    if s is None:
        return 1
    if args.json:
        print(json.dumps(s["positions"], indent=2))
        return 0
    if not s["positions"]:
        print("no open positions")
        return 0
    table = Table("symbol", "side", "qty", "entry", "lev", "stop", "liq", "uPnL", "stop reason",
                  box=box.SIMPLE_HEAD)  # fmt: skip
    for col in table.columns[2:8]:
        col.justify = "right"
    for p in s["positions"]:
        table.add_row(
            p["symbol"], p["side"], f"{p['qty']:g}", f"{p['entry_price']:.6g}",
            f"{p['leverage']}x", f"{p['exchange_stop'] or 0:.6g}",
            f"{p['liquidation_price'] or 0:.6g}", f"{p['unrealised_pnl'] or 0:+.2f}",
            p["stop_reason"],
        )  # fmt: skip
    _console().print(table)
    return 0
