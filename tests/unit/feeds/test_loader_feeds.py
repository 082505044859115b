"""Loaders for every on-disk format, replay merging, pacing, synthetic determinism."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from quantum_trader.core.errors import InvalidInput
from quantum_trader.feeds.base import Pacer, parse_speed
from quantum_trader.feeds.loader import (
    DataFileError,
    load_candles,
    load_funding,
    symbol_from_name,
)
from quantum_trader.feeds.replay import ReplayFeed
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside the project")
def test_shared_files() -> None:
    btc = load_candles(DATA / "BTCUSDT-1m-2023-03-binanceus.csv")
    assert (btc.symbol, len(btc), btc.timeframe_ms) == ("BTC/USDT:USDT", 30_240, 60_000)
    assert btc.ts[0] == 1_677_628_800_000 and btc.skipped_count == 0
    xrp = load_candles(DATA / "XRPUSDT-PERP-5m-2021-11.csv")
    assert (xrp.symbol, len(xrp), xrp.timeframe_ms) == ("XRP/USDT:USDT", 1_999, 300_000)
    mark = load_candles(DATA / "XRPUSDT-PERP-mark-1h-2021-11.csv")
    assert len(mark) == 100 and mark.volume[0] == 0.0
    funding = load_funding(DATA / "XRPUSDT-PERP-funding-8h-2021-11.csv")
    assert len(funding.ts) == 91 and funding.rate_at(funding.ts[0]) == 0.0001
    assert funding.rate_at(int(funding.ts[0]) - 1) == 0.0


def test_binance_kline_export_without_header_in_microseconds(tmp_path: Path) -> None:
    f = tmp_path / "ETHUSDT-1m-2025-01.csv"
    f.write_text(
        "1735689600000000,3300.1,3301,3299,3300.5,12.5,1735689659999999,0,10,0,0,0\n"
        "1735689660000000,3300.5,3302,3300,3301.5,8.1,1735689719999999,0,10,0,0,0\n"
    )
    s = load_candles(f)
    assert s.symbol == "ETH/USDT:USDT" and s.ts.tolist() == [1_735_689_600_000, 1_735_689_660_000]


def test_freqtrade_json(tmp_path: Path) -> None:
    f = tmp_path / "SOL_USDT-5m-futures.json"
    f.write_text(
        json.dumps(
            [
                [1_735_689_600_000, 190, 191, 189, 190.5, 10],
                [1_735_689_900_000, 190.5, 192, 190, 191, 12],
            ]
        )
    )
    s = load_candles(f)
    assert s.symbol == "SOL/USDT:USDT" and s.timeframe_ms == 300_000 and len(s) == 2


def test_bad_rows_are_skipped_counted_and_reported(tmp_path: Path) -> None:
    f = tmp_path / "BTCUSDT-1m.csv"
    f.write_text(
        "open_time,open,high,low,close,volume\n"
        "2023-03-01T00:00:00Z,100,101,99,100.5,1\n"
        "2023-03-01T00:01:00Z,100.5,nan,99,100,1\n"
        "not a time,1,1,1,1,1\n"
        "2023-03-01T00:02:00Z,100,99,101,100,1\n"
        "2023-03-01T00:03:00Z,100,101,99,100.2,1\n"
        "2023-03-01T00:03:00Z,100,101,99,100.2,1\n"
    )
    s = load_candles(f)
    assert len(s) == 2 and s.skipped_count == 3
    assert s.skipped[0].startswith("line 3: non-finite")
    assert "line 4" in s.skipped[1] and "inconsistent candle" in s.skipped[2]


def test_unusable_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="not found"):
        load_candles(tmp_path / "nope.csv")
    bad = tmp_path / "BTCUSDT.csv"
    bad.write_text("open_time,open,high,low,close\nx,y,z,w,v\n")
    with pytest.raises(DataFileError, match="no valid rows"):
        load_candles(bad)
    with pytest.raises(InvalidInput, match="cannot tell the symbol"):
        symbol_from_name(tmp_path / "prices.csv")


async def test_replay_merges_symbols_in_time_order(tmp_path: Path) -> None:
    a, b = tmp_path / "BTCUSDT.csv", tmp_path / "ETHUSDT.csv"
    a.write_text(
        "timestamp_ms,open,high,low,close\n0000001704067200000,1,1,1,1\n1704067320000,1,1,1,1\n"
    )
    b.write_text("timestamp_ms,open,high,low,close\n1704067260000,2,2,2,2\n")
    feed = ReplayFeed([load_candles(a), load_candles(b)], speed=None)
    order = [(e.symbol[:3], e.candle.ts) async for e in feed.events()]
    assert order == [("BTC", 1704067200000), ("ETH", 1704067260000), ("BTC", 1704067320000)]


async def test_synthetic_is_seeded() -> None:
    async def first(seed: int) -> list[float]:
        feed = SyntheticFeed(
            ("BTC/USDT:USDT", "ETH/USDT:USDT"), seed, speed=None, limit=50, drift=TREND_DRIFT
        )
        return [e.candle.close async for e in feed.events()]

    assert await first(1) == await first(1)
    assert await first(1) != await first(2)


async def test_pacer_and_speed() -> None:
    assert parse_speed("max") is None and parse_speed("600") == 600.0
    with pytest.raises(ValueError, match="positive"):
        parse_speed("-1")
    pacer = Pacer(60_000.0)  # one minute of market per millisecond
    started = time.monotonic()
    for i in range(6):
        await pacer.wait_until(i * 60_000 * 10)  # 10 minutes apart → 10 ms each
    assert 0.04 <= time.monotonic() - started < 1.0


def test_fast_numeric_path_validates_like_the_slow_one(tmp_path: Path) -> None:
    f = tmp_path / "BTCUSDT-1m-fast.csv"
    f.write_text(
        "timestamp_ms,open,high,low,close,volume\n"
        "1704067200000,100,101,99,100.5,1\n"
        "1704067260000,100.5,nan,99,100,1\n"
        "1704067320000,100,99,101,100,1\n"
        "1704067380,100,101,99,100.2,1\n"  # seconds: converted to ms
        "1704067440000,100,101,99,100.2,-1\n"
    )
    s = load_candles(f)
    assert s.ts.tolist() == [1_704_067_200_000, 1_704_067_380_000]
    assert s.skipped_count == 3
    assert [x.split(":")[0] for x in s.skipped] == ["line 3", "line 4", "line 6"]


def test_funding_is_matched_to_its_boundary(tmp_path: Path) -> None:
    """Binance stamps a funding record a few ms after the boundary (+4…+17 ms in the shared
    file); the rate belongs to the boundary (issue 28, item 14: it was applied a period late —
    the candle opening on the boundary saw the previous rate)."""
    t0 = 1_637_193_600_000  # 2021-11-18 00:00 UTC, a funding time
    path = tmp_path / "XRPUSDT-funding.csv"
    path.write_text(
        "timestamp_ms,open,high,low,close,volume\n"
        f"{t0 + 17},0.0001,0,0,0,0\n{t0 + 8 * 3_600_000 + 7},0.0005,0,0,0,0\n"
    )
    rates = load_funding(path)
    assert rates.rate_at(t0) == 0.0001
    assert rates.rate_at(t0 + 8 * 3_600_000 - 60_000) == 0.0001  # a minute before: not yet
    assert rates.rate_at(t0 + 8 * 3_600_000) == 0.0005  # on the boundary: this period's
