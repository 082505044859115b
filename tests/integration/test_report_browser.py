"""The interactive report: self-contained (plotly's JavaScript inlined, no CDN), per-trade times and
ROE in %, and — where Debian's chromium is installed — rendered by a real headless browser: the
equity line and the drawdown area are on the screenshot (a page without the chart has neither)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from quantum_trader.backtest.interactive import write_interactive
from quantum_trader.backtest.runner import run_backtest
from quantum_trader.feeds.loader import load_candles
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticMarket
from quantum_trader.settings import Settings
from quantum_trader.testing.browser import (
    DRAWDOWN_RED,
    EQUITY_BLUE,
    chromium,
    colour_pixels,
    screenshot,
)


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("chart")
    market = SyntheticMarket(("ETH/USDT:USDT",), seed=4, drift=TREND_DRIFT)
    rows = ["timestamp_ms,open,high,low,close,volume"]
    for i in range(3_000):
        c, _ = market.next_candle("ETH/USDT:USDT", 1_704_067_200_000 + i * 60_000)
        rows.append(f"{c.ts},{c.open!r},{c.high!r},{c.low!r},{c.close!r},{c.volume!r}")
    data = tmp / "ETHUSDT-1m.csv"
    data.write_text("\n".join(rows) + "\n")
    series = [load_candles(data)]
    settings = Settings(signals={"force_confidence": 0.9}, edge={"mode": "off"})
    run = asyncio.run(run_backtest(settings, series, {}, tmp))
    assert len(run.recorder.trades) >= 5
    rec = run.recorder
    return write_interactive(tmp / "chart.html", "t", run.metrics, series, rec.trades, rec.ts,
                             rec.equity)  # fmt: skip


def test_the_report_is_self_contained_with_times_and_roe_in_percent(chart: Path) -> None:
    text = chart.read_text()
    assert "plotly" in text and not re.search(r"<script[^>]+src=[\"']https?:", text)
    assert re.search(r"<td>20\d\d-\d\d-\d\d \d\d:\d\d:\d\d</td>", text)  # entry/exit times
    assert re.search(r"<td>[+-]\d+\.\d\d%</td>", text)  # ROE in %


@pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")
def test_a_real_browser_renders_the_chart(chart: Path, tmp_path: Path) -> None:
    png = screenshot(chart, tmp_path / "chart.png")
    assert colour_pixels(png, EQUITY_BLUE) > 500 and colour_pixels(png, DRAWDOWN_RED) > 500
    blank = tmp_path / "blank.html"
    blank.write_text("<html><body><h1>no chart</h1></body></html>")
    empty = screenshot(blank, tmp_path / "blank.png")
    assert colour_pixels(empty, EQUITY_BLUE) < 50 and colour_pixels(empty, DRAWDOWN_RED) < 50
