"""Binned calibration (SPEC §8's finer method): exact numbers, the coarse fallback while a bin is
short, and the backtest's vectorised timeline equal to the online calibrator signal by signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantum_trader.backtest.precompute import BinCounts, timeline
from quantum_trader.core.calibration import (
    N_BINS,
    calibrate_binned,
    calibrate_confidence,
    confidence_bin,
)
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import Side
from quantum_trader.feeds.loader import load_candles
from quantum_trader.signals.calibrator import Calibrator
from quantum_trader.signals.service import HORIZON_BARS

BTC = Path(__file__).resolve().parents[4] / "shared" / "data" / "BTCUSDT-1m-2023-03-binanceus.csv"


def test_bins_split_at_the_tenths_from_one_half() -> None:
    assert [confidence_bin(x) for x in (0.0, 0.49, 0.5, 0.65, 0.7, 0.89, 0.9, 1.0)] == [
        0,
        0,
        1,
        2,
        3,
        4,
        5,
        5,
    ]


def test_a_bin_with_data_is_its_hit_rate_shrunk_toward_the_pooled_accuracy() -> None:
    c = calibrate_binned(0.8, bin_hits=24, bin_n=40, accuracy=0.5, resolved=200, prior=20.0)
    assert c.calibrated == pytest.approx((24 + 20 * 0.5) / (40 + 20))  # 0.5667
    assert (c.method, c.applied) == ("binned", True)
    assert c.factor == pytest.approx(c.calibrated / 0.8)
    hot = calibrate_binned(0.6, bin_hits=40, bin_n=40, accuracy=1.0, resolved=40, prior=0.0)
    assert hot.calibrated == 0.95  # clamped
    cold = calibrate_binned(0.6, bin_hits=0, bin_n=40, accuracy=0.0, resolved=40, prior=0.0)
    assert cold.calibrated == 0.05


def test_a_short_bin_falls_back_to_the_coarse_rule() -> None:
    c = calibrate_binned(0.8, bin_hits=20, bin_n=29, accuracy=0.6, resolved=200, min_bin=30)
    assert c == calibrate_confidence(0.8, 0.6, 200)
    assert c.method == "coarse"
    assert calibrate_binned(0.8, 0, 0, None, 0).method == "raw"
    with pytest.raises(InvalidInput):
        calibrate_binned(0.8, bin_hits=41, bin_n=40, accuracy=0.5, resolved=200)


def test_the_online_calibrator_counts_per_bin_in_its_window() -> None:
    cal = Calibrator(min_resolved=1, keep=4, min_bin=2, prior=0.0)
    for k, raw in enumerate((0.55, 0.55, 0.75, 0.55, 0.55)):  # the first falls out of the window
        cal.track("X", Side.LONG, 100.0, k, raw)
    cal.resolve("X", 101.0, 10)  # every one came true
    assert cal.bins()[1] == (3, 3) and cal.bins()[3] == (1, 1)
    assert cal.calibrate(0.56).calibrated == 0.95  # 3 of 3, clamped
    assert cal.calibrate(0.76).method == "coarse"  # one signal in that bin: too few


@pytest.mark.skipif(not BTC.exists(), reason="needs ../shared/data")
@pytest.mark.parametrize(
    "window,prior,least", [(500, 20.0, 20), (3_000, 100.0, 20), (500, 20.0, 45)]
)
def test_the_backtest_timeline_equals_the_online_calibrator(
    window: int, prior: float, least: int
) -> None:
    s = load_candles(BTC)
    s = type(s)(
        s.symbol,
        s.timeframe_ms,
        *(a[:6_000] for a in (s.ts, s.open, s.high, s.low, s.close, s.volume)),
    )
    tl = timeline([s], least, window, "binned", 30, prior)
    [calls] = tl.calls
    cal = Calibrator(least, window, "binned", 30, prior)
    seen = set()
    for bar in range(len(s)):
        close_ts = int(calls.close_ts[bar])
        cal.resolve(s.symbol, float(s.close[bar]), close_ts)
        if calls.side[bar] == 0:
            continue
        raw = float(calls.confidence[bar])
        online = cal.calibrate(raw)
        assert online.calibrated == tl.calibrated[tl.position[0][bar]], bar
        seen.add(online.method)
        side = Side.LONG if calls.side[bar] > 0 else Side.SHORT
        due = close_ts + HORIZON_BARS * s.timeframe_ms
        cal.track(s.symbol, side, float(s.close[bar]), due, raw)
    assert seen == {"raw", "coarse", "binned"}  # every path was compared
    assert np.isfinite(tl.calibrated).all()


def test_below_min_resolved_nothing_is_calibrated_whatever_the_bin_holds() -> None:
    c = calibrate_binned(0.8, bin_hits=20, bin_n=40, accuracy=0.5, resolved=40, min_resolved=50)
    assert (c.method, c.calibrated) == ("raw", 0.8)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, N_BINS - 1), st.booleans()), max_size=80), st.data())
def test_bin_counts_equal_running_counts_per_bin(
    rows: list[tuple[int, bool]], data: st.DataObject
) -> None:
    """The compact per-bin counts answer what a table of running counts per bin would."""
    dtype = data.draw(st.sampled_from([np.int8, np.int64]))  # the timeline's bins are int8
    bins = np.array([b for b, _ in rows], dtype=dtype)
    hits = np.array([h for _, h in rows], dtype=np.bool_)
    counts = BinCounts(hits, bins)
    qb = data.draw(st.lists(st.integers(0, N_BINS - 1), min_size=1, max_size=10))
    qn = data.draw(st.lists(st.integers(0, len(rows)), min_size=len(qb), max_size=len(qb)))
    got_h, got_n = counts.at(np.array(qb, dtype=dtype), np.array(qn, dtype=np.int64))
    for b, n, h, c in zip(qb, qn, got_h.tolist(), got_n.tolist(), strict=True):
        first = rows[:n]
        assert c == sum(1 for x, _ in first if x == b)
        assert h == sum(1 for x, y in first if x == b and y)


def test_bin_counts_are_int32_while_they_fit() -> None:
    """Half the memory of int64 keys, and asked in their own dtype (numpy would copy the table
    to widen it on every search)."""
    counts = BinCounts(np.array([True, False, True]), np.array([1, 1, 3], dtype=np.int8))
    h, n = counts.at(np.array([1, 3], dtype=np.int8), np.array([3, 3]))
    assert (h.tolist(), n.tolist()) == ([1, 1], [2, 1])
    assert h.dtype == np.int32  # the counts; n are positions found by the search
