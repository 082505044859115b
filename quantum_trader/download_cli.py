"""``qtrader download``: candle history from the exchange's public API into a freqtrade-layout
data directory (:mod:`feeds.download`), with a progress bar."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from quantum_trader.core.edge import normalise_symbol, parse_ts
from quantum_trader.feeds.discover import timeframe_ms
from quantum_trader.feeds.download import download, freqtrade_path
from quantum_trader.settings import Settings


def add_download_parser(sub: Any, common: Any) -> None:
    p = sub.add_parser(
        "download",
        help="download candle history (freqtrade's layout: feather under DATADIR/EXCHANGE/futures)",
        description="Download closed candles through ccxt's fetch_ohlcv (public data, no keys), "
        "paginated and resumable: a file already there is continued after its last candle.",
    )
    common(p)
    p.add_argument("--symbols", nargs="+", required=True, metavar="SYMBOL", help="e.g. BTCUSDT")
    p.add_argument("--timeframe", default="1m", help="candle timeframe (default 1m)")
    p.add_argument("--from", dest="start", required=True, help="first candle (ISO-8601 or ms)")
    p.add_argument("--to", dest="end", help="up to (default: now)")
    p.add_argument("--datadir", default="user_data/data", help="default user_data/data")
    p.add_argument("--limit", type=int, default=1000, help="candles per request (default 1000)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--funding", action="store_true", help="also the funding-rate history")
    p.add_argument("--mark", metavar="TF", help="also mark-price candles of this timeframe (1h)")


def public_client(settings: Settings) -> Any:
    """The venue's public ccxt client (no keys); ``exchange.url_override`` points it at a local
    server (tests), as it does the trading client."""
    import ccxt.async_support as ccxt_async

    from quantum_trader.exchange.binance_client import _override

    klass = getattr(ccxt_async, settings.exchange.exchange_id)
    client = klass({"enableRateLimit": True, "timeout": settings.exchange.timeout_ms})
    if settings.exchange.url_override:
        _override(client, settings.exchange.url_override)
    return client


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    start = parse_ts(args.start, "--from")
    end = parse_ts(args.end, "--to") if args.end else int(time.time() * 1000)
    timeframe_ms(args.timeframe)  # a clear error before any request
    client = public_client(settings)
    jobs = [("futures", args.timeframe)]
    jobs += [("mark", args.mark)] if args.mark else []
    jobs += [("funding_rate", "8h")] if args.funding else []
    try:
        for raw in args.symbols:
            for kind, tf in jobs:
                await _one(client, args, settings, normalise_symbol(raw), kind, tf, start, end)
    finally:
        await client.close()
    return 0


async def _one(
    client: Any,
    args: argparse.Namespace,
    settings: Settings,
    symbol: str,
    kind: str,
    timeframe: str,
    start: int,
    end: int,
) -> None:
    path = freqtrade_path(Path(args.datadir), settings.exchange.exchange_id, symbol, timeframe,
                          kind)  # fmt: skip
    with Progress(
        TextColumn(f"{symbol} {timeframe} {kind}"), BarColumn(),
        TextColumn("{task.fields[candles]:,} rows"), TimeRemainingColumn(),
        disable=not args.progress, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("download", total=max(1, end - start), candles=0)

        def moved(ts: int, n: int) -> None:
            bar.update(task, completed=ts - start, candles=n)

        r = await download(client, symbol, timeframe, path, start, end, limit=args.limit,
                           on_page=moved, kind=kind)  # fmt: skip
    print(
        f"{symbol} {timeframe} {kind}: {r.had:,} rows there, {r.added:,} added → {r.path} "
        f"({r.first_ts} … {r.last_ts})"
    )


def cmd_download(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args, settings))
