"""``qtrader download``: candle history through ccxt's ``fetch_ohlcv``, written in freqtrade's
layout (``<datadir>/<exchange>/futures/BTC_USDT_USDT-1m-futures.feather``: a UTC ``date`` column,
open, high, low, close, volume), so freqtrade and qtrader read the same files.

Paginated (``limit`` candles a request from the last one received), **resumable** (a file that is
there is read and the download goes on after its last candle; what was fetched is written every
``flush_pages`` pages and when interrupted, so a second run neither repeats nor misses a candle),
rate-limit aware (ccxt's limiter; a 429/418 or a network error backs off and retries), closed
candles only (the one still forming is left for next time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from loguru import logger

from quantum_trader.feeds.discover import timeframe_ms
from quantum_trader.feeds.formats import DataFileError, read_table

log = logger.bind(component="download")
F64 = npt.NDArray[np.float64]


KINDS = ("futures", "mark", "funding_rate")  # freqtrade's candle types


def freqtrade_path(
    datadir: Path, exchange: str, symbol: str, timeframe: str, kind: str = "futures"
) -> Path:
    """``BTC/USDT:USDT`` 1m → ``<datadir>/<exchange>/futures/BTC_USDT_USDT-1m-futures.feather``;
    mark prices ``…-1h-mark.feather``, funding rates ``…-8h-funding_rate.feather``."""
    pair = symbol.replace("/", "_").replace(":", "_")
    return datadir / exchange / "futures" / f"{pair}-{timeframe}-{kind}.feather"


async def _funding_rows(client: Any, symbol: str, since: int, limit: int) -> list[list[float]]:
    """Funding-rate history as candle rows (freqtrade's layout: the rate in every price column)."""
    history = await client.fetch_funding_rate_history(symbol, since=since, limit=limit)
    return [[h["timestamp"], h["fundingRate"], h["fundingRate"], h["fundingRate"],
             h["fundingRate"], 0.0] for h in history]  # fmt: skip


def read_existing(path: Path) -> F64:
    """Rows [ts, o, h, l, c, v] already downloaded (none if the file is not there)."""
    return read_table(path) if path.exists() else np.zeros((0, 6))


def write_feather(path: Path, rows: F64) -> None:
    import pyarrow as pa
    import pyarrow.feather as feather

    path.parent.mkdir(parents=True, exist_ok=True)
    ts = rows[:, 0].astype(np.int64).astype("datetime64[ms]")
    table = pa.table(
        {
            "date": pa.array(ts, pa.timestamp("ms", tz="UTC")),
            **{n: pa.array(rows[:, k], pa.float64()) for k, n in enumerate(_COLS, start=1)},
        }
    )
    tmp = path.with_suffix(".feather.part")
    feather.write_feather(table, tmp)
    tmp.replace(path)  # atomic: an interrupted write leaves the previous file whole


_COLS = ("open", "high", "low", "close", "volume")


@dataclass
class Result:
    path: Path
    had: int  # candles in the file before
    added: int
    first_ts: int
    last_ts: int


async def _page(
    client: Any, symbol: str, tf: str, since: int, limit: int, tries: int, kind: str
) -> Any:
    import ccxt.async_support as ccxt_async

    delay = 1.0
    for attempt in range(tries):
        try:
            if kind == "funding_rate":
                return await _funding_rows(client, symbol, since, limit)
            params = {"price": "mark"} if kind == "mark" else {}
            return await client.fetch_ohlcv(symbol, tf, since=since, limit=limit, params=params)
        except (ccxt_async.RateLimitExceeded, ccxt_async.NetworkError) as exc:
            if attempt == tries - 1:
                raise
            log.warning("{} {}: {} — retrying in {:.1f} s", symbol, tf, type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
    raise AssertionError("unreachable")  # pragma: no cover


async def download(
    client: Any,
    symbol: str,
    timeframe: str,
    path: Path,
    since_ms: int,
    until_ms: int,
    limit: int = 1000,
    flush_pages: int = 10,
    tries: int = 6,
    on_page: Callable[[int, int], None] | None = None,
    kind: str = "futures",
) -> Result:
    """Candles of ``symbol`` from ``since_ms`` (or after the file's last) up to ``until_ms``;
    ``kind`` "mark" for mark-price candles, "funding_rate" for the funding history (published
    at its own times: the next page starts a millisecond after the last rate)."""
    step = timeframe_ms(timeframe)
    advance = 1 if kind == "funding_rate" else step
    have = read_existing(path)
    had = int(have.shape[0])
    since = int(have[-1, 0]) + advance if had else since_ms
    pages: list[F64] = [have]
    fetched = pages_since_flush = 0
    try:
        while since < until_ms:
            rows = await _page(client, symbol, timeframe, since, limit, tries, kind)
            got = np.asarray([r[:6] for r in rows if r[0] >= since], dtype=np.float64)
            got = got.reshape(-1, 6)
            end = got[:, 0] + (0 if kind == "funding_rate" else step)
            closed = got[end <= until_ms] if got.size else got
            if closed.shape[0] == 0:
                break
            pages.append(closed)
            fetched += int(closed.shape[0])
            since = int(closed[-1, 0]) + advance
            pages_since_flush += 1
            if on_page is not None:
                on_page(since, fetched)
            if pages_since_flush >= flush_pages:
                pages, pages_since_flush = [_flush(path, pages)], 0
    finally:
        if fetched:
            pages = [_flush(path, pages)]
    rows_all = pages[0] if len(pages) == 1 else np.concatenate(pages)
    if rows_all.shape[0] == 0:
        raise DataFileError("download", f"{symbol} {timeframe}: no candles from {since_ms}")
    return Result(path, had, fetched, int(rows_all[0, 0]), int(rows_all[-1, 0]))


def _flush(path: Path, pages: list[F64]) -> F64:
    rows = np.concatenate(pages)
    _, first = np.unique(rows[:, 0], return_index=True)  # never twice (a page that overlaps)
    rows = rows[np.sort(first)]
    write_feather(path, rows)
    return rows
