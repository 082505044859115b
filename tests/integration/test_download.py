"""``qtrader download`` against the fake Binance server through the real ccxt client: paginated,
written in freqtrade's layout; interrupted mid-way and run again it neither repeats nor misses a
candle; rate limits are waited out; the forming candle is not written."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web

from quantum_trader.download_cli import public_client
from quantum_trader.feeds.download import download, freqtrade_path
from quantum_trader.feeds.loader import load_candles
from quantum_trader.settings import Settings
from quantum_trader.testing.fake_binance import FakeBinance
from tests.integration.helpers import free_port

T0 = 1_704_067_200_000
M = 60_000
N = 2_500


@contextlib.asynccontextmanager
async def venue() -> AsyncIterator[tuple[FakeBinance, object]]:
    fake = FakeBinance()
    fake.account.klines["BTCUSDT"] = [
        [T0 + i * M, f"{100 + i * 0.01:.2f}", f"{100.5 + i * 0.01:.2f}", f"{99.5 + i * 0.01:.2f}",
         f"{100.1 + i * 0.01:.2f}", "3.0", T0 + i * M + M - 1]
        for i in range(N)
    ]  # fmt: skip
    runner = web.AppRunner(fake.app(), shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    client = public_client(Settings(exchange={"url_override": f"http://127.0.0.1:{port}"}))
    try:
        yield fake, client
    finally:
        await client.close()  # type: ignore[attr-defined]
        await runner.cleanup()


def _check(path: Path, n: int) -> None:
    s = load_candles(path)
    assert s.symbol == "BTC/USDT:USDT" and s.timeframe_ms == M
    assert len(s) == n and s.skipped_count == 0 and s.duplicates == 0
    assert np.array_equal(s.ts, T0 + np.arange(n) * M)  # none missing, none twice


async def test_a_download_interrupted_and_run_again_has_every_candle_once(tmp_path: Path) -> None:
    path = freqtrade_path(tmp_path, "binanceusdm", "BTC/USDT:USDT", "1m")
    assert path.name == "BTC_USDT_USDT-1m-futures.feather"
    until = T0 + N * M
    async with venue() as (fake, client):
        pages = 0

        def page(ts: int, n: int) -> None:
            nonlocal pages
            pages += 1
            if pages == 3:  # the user presses ^C after three pages
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            await download(client, "BTC/USDT:USDT", "1m", path, T0, until, limit=500,
                           flush_pages=10, on_page=page)  # fmt: skip
        _check(path, 1_500)  # what was fetched is on disk
        fake.faults.append({"method": "GET", "path": "/fapi/v1/klines", "kind": "ratelimit",
                            "status": 429, "retry_after": 0, "times": 2})  # fmt: skip
        r = await download(client, "BTC/USDT:USDT", "1m", path, T0, until, limit=500)
        assert (r.had, r.added) == (1_500, 1_000)
        assert all(f["times"] == 0 for f in fake.faults)  # both 429s were met and waited out
        _check(path, N)
        again = await download(client, "BTC/USDT:USDT", "1m", path, T0, until, limit=500)
        assert again.added == 0
    _check(path, N)


async def test_the_forming_candle_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "x.feather"
    async with venue() as (_, client):
        until = T0 + 100 * M + M // 2  # half way through candle 100
        r = await download(client, "BTC/USDT:USDT", "1m", path, T0, until, limit=1000)
    assert r.added == 100 and r.last_ts == T0 + 99 * M


def test_download_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from quantum_trader.cli import main

    async def serve_and_run() -> None:
        async with venue() as (fake, client):
            url = client.urls["api"]["fapiPublic"].split("/fapi")[0]  # type: ignore[attr-defined]
            import os

            os.environ["QT_EXCHANGE__URL_OVERRIDE"] = url
            try:
                code = await asyncio.to_thread(
                    main, ["download", "--symbols", "BTCUSDT", "--from", str(T0), "--to",
                           str(T0 + 300 * M), "--datadir", str(tmp_path), "--no-progress"],
                )  # fmt: skip
            finally:
                del os.environ["QT_EXCHANGE__URL_OVERRIDE"]
            assert code == 0

    asyncio.run(serve_and_run())
    assert "0 rows there, 300 added" in capsys.readouterr().out
    _check(tmp_path / "binanceusdm" / "futures" / "BTC_USDT_USDT-1m-futures.feather", 300)


async def test_funding_and_mark_history_in_freqtrade_files(tmp_path: Path) -> None:
    from quantum_trader.feeds.loader import load_funding

    h8 = 8 * 3_600_000
    async with venue() as (fake, client):
        fake.funding_rates["BTCUSDT"] = [(T0 + k * h8 + 3, 1e-4 * (k % 5 - 2)) for k in range(300)]
        fake.mark_klines["BTCUSDT"] = [
            [T0 + i * 3_600_000, "100.0", "101.0", "99.0", "100.5", "0", T0 + i * 3_600_000 + 1]
            for i in range(400)
        ]
        until = T0 + 300 * h8
        f = freqtrade_path(tmp_path, "binanceusdm", "BTC/USDT:USDT", "8h", "funding_rate")
        r = await download(client, "BTC/USDT:USDT", "8h", f, T0, until, limit=100,
                           kind="funding_rate")  # fmt: skip
        assert r.added == 300 and f.name == "BTC_USDT_USDT-8h-funding_rate.feather"
        m = freqtrade_path(tmp_path, "binanceusdm", "BTC/USDT:USDT", "1h", "mark")
        r = await download(client, "BTC/USDT:USDT", "1h", m, T0, T0 + 400 * 3_600_000,
                           limit=150, kind="mark")  # fmt: skip
        assert r.added == 400
        assert fake.requests["GET /fapi/v1/markPriceKlines"] >= 3  # mark prices, 150 a page
        assert fake.requests["GET /fapi/v1/fundingRate"] >= 3
    rates = load_funding(f)
    assert rates.ts.size == 300 and rates.rate_at(T0 + h8 + 3) == pytest.approx(-1e-4)
    assert len(load_candles(m)) == 400
