"""Bad rows never vanish silently and implausible candles are never traded: each refused row is
counted with its line and reason, identical repeats are dropped and counted, conflicting
duplicates, ×1000 spikes and absurd prices are refused; the backtest prints and keeps it all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quantum_trader.cli import main
from quantum_trader.feeds.loader import load_candles

T0 = 1_704_067_200_000
HEAD = "open_time,open,high,low,close,volume"


def rows(n: int = 300) -> list[str]:
    out, p = [], 100.0
    for i in range(n):
        p *= 1.0005 if i % 7 < 4 else 0.9995
        out.append(f"{T0 + i * 60_000},{p!r},{p * 1.001!r},{p * 0.999!r},{p!r},1.0")
    return out


def write(tmp: Path, body: list[str]) -> Path:
    path = tmp / "BTCUSDT-1m.csv"
    path.write_text("\n".join([HEAD, *body]) + "\n")
    return path


def test_a_non_finite_close_is_refused_with_its_line(tmp_path: Path) -> None:
    body = rows()
    body[10] = body[10].rsplit(",", 2)[0] + ",nan,1.0"
    s = load_candles(write(tmp_path, body))
    assert len(s) == 299 and s.skipped_count == 1
    assert s.skipped[0].startswith("line 12:")  # the header is line 1


def test_a_thousandfold_spike_is_quarantined_and_the_next_candle_kept(tmp_path: Path) -> None:
    body = rows()
    t, o, h, lo, c, v = body[50].split(",")
    body[50] = ",".join([t, o, str(float(h) * 1000), lo, str(float(c) * 1000), v])
    s = load_candles(write(tmp_path, body))
    assert len(s) == 299 and s.skipped_count == 1
    assert "line 52: range" in s.skipped[0] and "quarantined" in s.skipped[0]
    assert s.close.max() < 200  # never traded


def test_a_close_that_jumps_beyond_the_factor_is_quarantined(tmp_path: Path) -> None:
    body = rows()
    t, *_ = body[80].split(",")
    body[80] = f"{t},900.0,900.5,899.5,900.0,1.0"  # ×9 and back: the candle itself is narrow
    s = load_candles(write(tmp_path, body))
    assert s.skipped_count == 1 and "jump ×" in s.skipped[0]
    s = load_candles(write(tmp_path, body), max_jump=20.0)  # configurable
    assert s.skipped_count == 0


def test_duplicates_identical_dropped_conflicting_refused(tmp_path: Path) -> None:
    body = rows()
    t, o, h, lo, c, v = body[20].split(",")
    body.insert(21, body[20])  # an identical repeat
    body.insert(41, ",".join([body[40].split(",")[0], o, h, lo, c, v]))  # same time, other prices
    s = load_candles(write(tmp_path, body))
    assert s.duplicates == 1
    assert s.skipped_count == 2 and "conflicting duplicates" in s.skipped[0]
    assert len(s) == 299  # that minute has no candle: neither version is trusted


def test_absurd_prices_are_refused(tmp_path: Path) -> None:
    body = rows()
    body[5] = f"{T0 + 5 * 60_000},1e300,1e300,1e300,1e300,1.0"
    s = load_candles(write(tmp_path, body))
    assert s.skipped_count == 1 and len(s) == 299


def test_the_backtest_reports_refused_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = rows()
    body[10] = body[10].rsplit(",", 2)[0] + ",nan,1.0"
    body.insert(30, body[30])
    out = tmp_path / "out"
    assert main(["backtest", "--data", str(write(tmp_path, body)), "--no-report",
                 "--out", str(out)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "data       BTCUSDT-1m.csv: 299 candles, 1 rows refused (line 12:" in text
    assert "1 identical duplicates dropped" in text
    data = json.loads((out / "metrics.json").read_text())["data"]["BTCUSDT-1m.csv"]
    assert data["refused"] == 1 and data["duplicates_dropped"] == 1
    assert data["first_refused"][0].startswith("line 12:")
