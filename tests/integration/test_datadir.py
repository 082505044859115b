"""``qtrader backtest --datadir DIR --timeframe TF``: a freqtrade data directory (futures feather
files, their funding-rate and mark files, a stray file) is found by name, one file per symbol,
funding paired; ``--symbol`` names a single file's market."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pytest

from quantum_trader.cli import main
from quantum_trader.feeds.discover import discover
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticMarket

T0 = 1_704_067_200_000


def write(path: Path, symbol: str, step_ms: int, n: int, rate: float | None = None) -> None:
    market = SyntheticMarket((symbol,), seed=2, drift=TREND_DRIFT)
    rows = [market.next_candle(symbol, T0 + i * step_ms)[0] for i in range(n)]
    ts = np.array([c.ts for c in rows], dtype=np.int64).astype("datetime64[ms]")
    cols: dict[str, object] = {"date": pa.array(ts, pa.timestamp("ms", tz="UTC"))}
    for name in ("open", "high", "low", "close", "volume"):
        values = [rate if rate is not None else getattr(c, name) for c in rows]
        cols[name] = pa.array(values, pa.float64())
    path.parent.mkdir(parents=True, exist_ok=True)
    feather.write_feather(pa.table(cols), path)


@pytest.fixture
def datadir(tmp_path: Path) -> Path:
    root = tmp_path / "user_data" / "data" / "binance" / "futures"
    write(root / "BTC_USDT_USDT-1m-futures.feather", "BTC/USDT:USDT", 60_000, 3_000)
    write(root / "BTC_USDT_USDT-15m-futures.feather", "BTC/USDT:USDT", 900_000, 200)
    write(root / "ETH_USDT_USDT-5m-futures.feather", "ETH/USDT:USDT", 300_000, 600)
    write(root / "BTC_USDT_USDT-8h-funding_rate.feather", "BTC/USDT:USDT", 28_800_000, 10, 1e-4)
    write(root / "BTC_USDT_USDT-1h-mark.feather", "BTC/USDT:USDT", 3_600_000, 50)
    (root / "notes.csv").write_text("what,ever\n")
    return tmp_path / "user_data"


def test_discovery_picks_one_file_per_symbol(datadir: Path) -> None:
    found = discover(datadir, "5m")
    assert {s: p.name for s, p in found.candles.items()} == {
        "BTC/USDT:USDT": "BTC_USDT_USDT-1m-futures.feather",  # finer: resampled to 5m
        "ETH/USDT:USDT": "ETH_USDT_USDT-5m-futures.feather",
    }
    assert found.funding["BTC/USDT:USDT"].name == "BTC_USDT_USDT-8h-funding_rate.feather"
    assert any(line.startswith("notes.csv") for line in found.ignored)
    assert discover(datadir, "15m").candles["BTC/USDT:USDT"].name.startswith("BTC_USDT_USDT-15m")
    only = discover(datadir, None, {"ETH/USDT:USDT"})
    assert list(only.candles) == ["ETH/USDT:USDT"]


def test_backtest_on_a_data_directory(
    datadir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["backtest", "--datadir", str(datadir), "--timeframe", "5m", "--no-report",
                 "--out", str(out), "--force-confidence", "0.9"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0, text
    assert "BTC/USDT:USDT, ETH/USDT:USDT" in text
    assert "ignored notes.csv" in text
    assert "decided    on 5m candles resampled from the file's 1m; exits on every one" in text


def test_a_single_file_can_be_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "candles.feather"
    write(path, "SOL/USDT:USDT", 60_000, 400)
    code = main(["backtest", "--data", str(path), "--symbol", "SOLUSDT", "--no-report",
                 "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 0
    assert "qtrader backtest — SOL/USDT:USDT" in capsys.readouterr().out
