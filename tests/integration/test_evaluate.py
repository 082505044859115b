"""``qtrader evaluate``: walk-forward windows, each traded by the adaptive sizer (carrying what it
learned forward) and by fixed 1.0×, with buy-and-hold over the same candles and the pooled net
edge with its interval."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from quantum_trader.backtest.evaluate import windows
from quantum_trader.cli import main
from quantum_trader.feeds.loader import load_candles

XRP = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "XRPUSDT-PERP-5m-2021-11.csv"
pytestmark = pytest.mark.skipif(not XRP.exists(), reason="../shared/data is not beside")


def test_windows_cover_the_series_in_order_without_overlap() -> None:
    s = load_candles(XRP)
    parts = windows(s, 3)
    assert sum(len(w) for w in parts) == len(s)
    assert np.array_equal(np.concatenate([w.ts for w in parts]), s.ts)


def test_evaluate_prints_each_window_the_baselines_and_a_verdict(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QT_EDGE__MODE", "gate")  # the user's default: the gated run gated
    code = main(["evaluate", "--data", str(XRP), "--windows", "2", "--force-confidence", "0.95"])
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line for line in out.splitlines() if re.match(r"\s+[12]\s+\d+\s", line)]
    assert len(rows) == 2, out
    s = load_candles(XRP)
    half = len(s) // 2
    hold = s.close[half - 1] / s.close[0] - 1.0  # window 1's buy-and-hold, as printed
    assert f"{hold:+7.2%}" in rows[0]
    pooled = re.search(r"pooled\s+(\d+)", out)
    assert pooled is not None and int(pooled.group(1)) >= 30  # forced: it traded
    assert "fixed " in out and "verdict: " in out
    gated = re.search(r"gated\s+(\d+)\s+\S+\s+\(edge gate gate; (\d+) shadow trades", out)
    assert gated is not None, out
    # the probes are carried across windows with the shadows: 2 for the file, not 2 a window
    assert int(gated.group(1)) == 2 and int(gated.group(2)) >= 30
