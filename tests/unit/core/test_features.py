"""Market features (SPEC §2): ATR, atr_pct, volatility, regime, pnl_trend, margin_util."""

from __future__ import annotations

import math

import numpy as np
import pytest

from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.features import (
    atr_pct,
    candles_per_days,
    margin_util,
    pnl_trend,
    regime,
    true_range,
    volatility,
    wilder_atr,
)
from quantum_trader.core.types import Regime

H = [10.0, 11.0, 12.0, 15.0, 14.0, 20.0]
L = [8.0, 9.0, 10.0, 11.0, 12.0, 19.0]
C = [9.0, 10.0, 11.0, 14.0, 13.0, 19.5]


def test_true_range_uses_the_previous_close() -> None:
    # last candle gaps up: max(20 − 19, |20 − 13|, |19 − 13|) = 7
    assert true_range(H, L, C).tolist() == [2, 2, 2, 4, 2, 7]


def test_wilder_atr_by_hand() -> None:
    atr = wilder_atr(H, L, C, period=3)
    assert np.isnan(atr[:2]).all()
    # seed = mean(2, 2, 2) = 2; then (2·2 + 4)/3 = 8/3; (8/3·2 + 2)/3 = 22/9; (22/9·2 + 7)/3
    assert atr[2:].tolist() == pytest.approx([2.0, 8 / 3, 22 / 9, (44 / 9 + 7) / 3])


def test_atr_pct_is_atr_over_close() -> None:
    assert atr_pct(H, L, C, period=3)[3] == pytest.approx((8 / 3) / 14)


def test_atr_with_too_little_history_is_all_nan() -> None:
    assert np.isnan(wilder_atr(H[:2], L[:2], C[:2], period=14)).all()


def test_volatility_is_last_over_trailing_median_clamped() -> None:
    hist = np.full(60, 0.01)
    hist[-1] = 0.02
    assert volatility(hist, window=100) == pytest.approx(2.0)
    hist[-1] = 0.05
    assert volatility(hist, window=100) == 3.0
    hist[-1] = 0.0
    assert volatility(hist, window=100) == 0.0


def test_volatility_skips_warm_up_and_needs_50_values() -> None:
    hist = np.concatenate([np.full(13, np.nan), np.full(49, 0.01)])
    assert volatility(hist, window=1000) == 1.0
    hist = np.concatenate([hist, [0.015]])
    assert volatility(hist, window=1000) == pytest.approx(1.5)


def test_volatility_window_is_trailing() -> None:
    hist = np.concatenate([np.full(100, 0.10), np.full(60, 0.01)])
    assert volatility(hist, window=60) == pytest.approx(1.0)
    assert candles_per_days(15 * 60_000, 30) == 2_880


def _regime_of(closes: list[float], spread: float) -> Regime:
    c = np.array(closes)
    return regime(c * (1 + spread), c * (1 - spread), c)


def test_regimes() -> None:
    rising = [100 + 0.25 * i for i in range(20)]  # trend 0.0244, vol 0.0025
    assert _regime_of(rising, 0.005) is Regime.TRENDING
    assert _regime_of([100.0] * 20, 0.005) is Regime.RANGE  # range 0.01, trend 0
    assert _regime_of([100.0, 106.0] * 10, 0.01) is Regime.VOLATILE  # vol ≈ 0.058
    assert _regime_of([100.0, 102.0] * 10, 0.01) is Regime.NORMAL  # vol ≈ 0.02, range 0.02


def test_regime_uses_only_the_last_window() -> None:
    closes = [100.0, 150.0] * 20 + [100.0] * 20
    assert _regime_of(closes, 0.005) is Regime.RANGE


def test_regime_needs_enough_candles() -> None:
    with pytest.raises(InvalidInput, match="regime needs 20 candles"):
        _regime_of([100.0] * 5, 0.01)


def test_pnl_trend() -> None:
    assert pnl_trend([]) == 0.0
    assert pnl_trend([0.05] * 5) == pytest.approx(math.tanh(1.0))
    assert pnl_trend([-10.0] * 3) == pytest.approx(-1.0)
    # only the last 20 count
    assert pnl_trend([5.0] * 10 + [0.0] * 20) == 0.0
    with pytest.raises(InvalidInput, match=r"recent_roe\[1\]"):
        pnl_trend([0.1, math.nan])


def test_margin_util() -> None:
    assert margin_util(300, 1_000) == pytest.approx(0.3)
    assert margin_util(3_000, 1_000) == 1.0
    assert margin_util(10, 0) == 1.0
    with pytest.raises(InvalidInput, match="used_margin"):
        margin_util(-1, 100)


def test_bad_arrays() -> None:
    with pytest.raises(InvalidInput, match="non-finite value nan at index 1"):
        wilder_atr([1, math.nan, 2], [1, 1, 1], [1, 1, 1])
    with pytest.raises(InvalidInput, match="lengths differ"):
        wilder_atr([1, 2], [1], [1, 2])
    with pytest.raises(InvalidInput, match="below low"):
        true_range([1, 1], [2, 0.5], [1, 1])
    with pytest.raises(InvalidInput, match="1-D"):
        wilder_atr([[1.0]], [[1.0]], [[1.0]])
    with pytest.raises(InvalidInput, match="period"):
        wilder_atr(H, L, C, period=0)
