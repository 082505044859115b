"""The data traders have: freqtrade's feather/parquet/JSON (plain and gzipped), Binance Vision
zips and gzipped CSVs all load to the same candles; names say the market; an unknown or broken
file is one clear error. Fixtures are written with the same libraries (pyarrow, zipfile, gzip)."""

from __future__ import annotations

import asyncio
import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantum_trader.backtest.runner import run_backtest
from quantum_trader.feeds.loader import (
    CandleSeries,
    DataFileError,
    load_candles,
    symbol_from_name,
    timeframe_from_name,
)
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticMarket
from quantum_trader.settings import Settings

T0 = 1_704_067_200_000
M = 60_000


def candles(n: int = 40) -> list[tuple[int, float, float, float, float, float]]:
    market = SyntheticMarket(("BTC/USDT:USDT",), seed=5, drift=TREND_DRIFT)
    out = []
    for i in range(n):
        c, _ = market.next_candle("BTC/USDT:USDT", T0 + i * M)
        out.append((c.ts, c.open, c.high, c.low, c.close, c.volume))
    return out


def csv_text(rows: list[tuple[int, float, float, float, float, float]], header: bool) -> str:
    head = "open_time,open,high,low,close,volume\n" if header else ""
    return head + "".join(f"{t},{o!r},{h!r},{lo!r},{c!r},{v!r}\n" for t, o, h, lo, c, v in rows)


def table(rows: list[tuple[int, float, float, float, float, float]], dates: bool) -> pa.Table:
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    cols = {
        "date": pa.array(ts.astype("datetime64[ms]"), pa.timestamp("ms", tz="UTC"))
        if dates
        else pa.array(ts),
    }
    for k, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        cols[name] = pa.array([r[k] for r in rows], pa.float64())
    return pa.table(cols)


def write_all(tmp: Path, rows: list[tuple[int, float, float, float, float, float]]) -> list[Path]:
    paths = []
    p = tmp / "BTC_USDT_USDT-1m-futures.feather"
    feather.write_feather(table(rows, dates=True), p)  # freqtrade's layout: a UTC date column
    paths.append(p)
    p = tmp / "BTC_USDT-1m.parquet"
    pq.write_table(table(rows, dates=False), p)  # epoch ms numbers
    paths.append(p)
    p = tmp / "BTC_USDT-1m.json"
    p.write_text(json.dumps([list(r) for r in rows]))
    paths.append(p)
    p = tmp / "BTC_USDT-1m.json.gz"
    with gzip.open(p, "wt") as f:
        f.write(json.dumps([list(r) for r in rows]))
    paths.append(p)
    for header in (True, False):  # Binance Vision: futures zips have a header, spot ones not
        p = tmp / f"BTCUSDT-1m-2024-01{'' if header else '-spot'}.zip"
        with zipfile.ZipFile(p, "w") as z:
            z.writestr(p.stem + ".csv", csv_text(rows, header))
        paths.append(p)
    p = tmp / "BTCUSDT-1m.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write(csv_text(rows, True))
    paths.append(p)
    p = tmp / "BTCUSDT-1m.csv"
    p.write_text(csv_text([(t // 1000, o, h, lo, c, v) for t, o, h, lo, c, v in rows], False))
    paths.append(p)  # headerless, epoch seconds
    return paths


def same(a: CandleSeries, b: CandleSeries) -> None:
    assert a.symbol == b.symbol and a.timeframe_ms == b.timeframe_ms
    for name in ("ts", "open", "high", "low", "close"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.allclose(a.volume, b.volume)


def test_every_form_loads_the_same_candles(tmp_path: Path) -> None:
    rows = candles()
    paths = write_all(tmp_path, rows)
    loaded = [load_candles(p) for p in paths]
    for s, p in zip(loaded, paths, strict=True):
        assert len(s) == len(rows), p.name
        assert s.skipped_count == 0, (p.name, s.skipped)
        same(loaded[0], s)


def test_csv_feather_and_parquet_give_identical_backtests(tmp_path: Path) -> None:
    rows = candles(3_000)
    csv = tmp_path / "BTCUSDT-1m.csv"
    csv.write_text(csv_text(rows, True))
    fe = tmp_path / "BTC_USDT-1m.feather"
    feather.write_feather(table(rows, dates=True), fe)
    pa_ = tmp_path / "BTC_USDT-1m.parquet"
    pq.write_table(table(rows, dates=False), pa_)
    settings = Settings(signals={"force_confidence": 0.9})
    runs = []
    for p in (csv, fe, pa_):
        state = tmp_path / p.suffix.strip(".")
        state.mkdir()
        runs.append(asyncio.run(run_backtest(settings, [load_candles(p)], {}, state)))
    assert len(runs[0].recorder.trades) >= 5
    for r in runs[1:]:
        assert r.recorder.trades == runs[0].recorder.trades
        assert r.recorder.equity == runs[0].recorder.equity


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("BTC_USDT-1m.feather", "BTC/USDT:USDT"),
        ("BTC_USDT_USDT-1h-futures.feather", "BTC/USDT:USDT"),
        ("ETH_USDT_USDT-8h-funding_rate.feather", "ETH/USDT:USDT"),
        ("SOL_USDC_USDC-1h-mark.feather", "SOL/USDC:USDC"),
        ("binance_BTCUSDC_1m.csv", "BTC/USDC:USDC"),
        ("BTCUSDT-1m-2023-03.zip", "BTC/USDT:USDT"),
        ("XRPUSDT-PERP-5m-2021-11.csv", "XRP/USDT:USDT"),
        ("BNBUSDT-1m.csv", "BNB/USDT:USDT"),  # not BN/BUSD (issue 28, item 13)
        ("ARBUSDT-1m.csv", "ARB/USDT:USDT"),  # not AR/BUSD
        ("binance_BNBUSDT_1m.csv", "BNB/USDT:USDT"),
    ],
)
def test_names_say_the_market(name: str, symbol: str) -> None:
    assert symbol_from_name(Path(name)) == symbol


def test_a_market_that_is_not_usdt_margined_is_named() -> None:
    with pytest.raises(DataFileError, match="XRP/ETH is not a USDT/USDC-margined"):
        symbol_from_name(Path("XRP_ETH-1m.csv"))
    with pytest.raises(DataFileError, match="--symbol"):
        symbol_from_name(Path("candles.csv"))
    with pytest.raises(DataFileError, match="BNBBUSD is not a USDT/USDC-margined"):
        symbol_from_name(Path("BNBBUSD-1m.csv"))  # the quote is the longest one it ends with


def test_the_symbol_can_be_named(tmp_path: Path) -> None:
    p = tmp_path / "candles.csv"
    p.write_text(csv_text(candles(), True))
    assert load_candles(p, symbol="ETH/USDT:USDT").symbol == "ETH/USDT:USDT"


def test_timeframes_from_names() -> None:
    assert timeframe_from_name(Path("BTC_USDT-15m.feather")) == "15m"
    assert timeframe_from_name(Path("BTC_USDT_USDT-1h-futures.feather")) == "1h"
    assert timeframe_from_name(Path("BTCUSDT-1m-2023-03.zip")) == "1m"
    assert timeframe_from_name(Path("candles.csv")) is None


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("BTCUSDT-1m.xlsx", b"PK\x03\x04", "unknown format"),
        ("BTCUSDT-1m.feather", b"not arrow at all", "unreadable as .feather"),
        ("BTCUSDT-1m.parquet", b"PAR1 broken", "unreadable as .parquet"),
        ("BTCUSDT-1m.zip", b"not a zip", "unreadable as .zip"),
        ("BTCUSDT-1m.json.gz", b"not gzip", "unreadable as .json.gz"),
        ("BTCUSDT-1m.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("BTCUSDT-1m.json", b'{"a": 1}', "expected a JSON list"),
        ("BTCUSDT-1m.csv", b"\xff\xfe\x00garbage", "unreadable as .csv"),
    ],
)
def test_a_broken_file_is_one_clear_error(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(DataFileError, match=expected) as info:
        load_candles(p)
    assert name in str(info.value)


def test_a_zip_with_two_csvs_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "BTCUSDT-1m.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.csv", csv_text(candles(), True))
        z.writestr("b.csv", csv_text(candles(), True))
    with pytest.raises(DataFileError, match="one CSV inside the zip, found 2"):
        load_candles(p)


@given(
    st.lists(st.integers(0, 500), min_size=0, max_size=60, unique=True).map(sorted),
    st.one_of(st.none(), st.integers(-10, 510)),
    st.one_of(st.none(), st.integers(-10, 510)),
)
def test_a_window_is_the_candles_it_masks_as_views(
    times: list[int], start: int | None, end: int | None
) -> None:
    ts = np.array(times, dtype=np.int64) * 60_000
    close = np.arange(1.0, len(times) + 1.0)
    s = CandleSeries("X/USDT:USDT", 60_000, ts, close, close, close, close, close)
    lo = None if start is None else start * 60_000
    hi = None if end is None else end * 60_000
    w = s.between(lo, hi)
    keep = np.ones(len(s), dtype=bool)
    if lo is not None:
        keep &= ts >= lo
    if hi is not None:
        keep &= ts < hi
    assert w.ts.tolist() == ts[keep].tolist() and w.close.tolist() == close[keep].tolist()
    assert len(w) == 0 or np.shares_memory(w.close, close)
