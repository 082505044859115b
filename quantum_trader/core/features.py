"""Market features from numpy arrays (SPEC §2): Wilder ATR, atr_pct, volatility, regime, pnl_trend.

Arrays are float64 and aligned (index i = candle i, oldest first). Series functions return one value
per candle (NaN during warm-up); scalar functions speak about the last candle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from quantum_trader.core.checks import clamp, finite
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import Regime

FloatArray = npt.NDArray[np.float64]
F64Array = FloatArray

ATR_PERIOD = 14
VOLATILITY_MIN_HISTORY = 50
VOLATILITY_MAX = 3.0
REGIME_WINDOW = 20
PNL_TREND_WINDOW = 20
PNL_TREND_SCALE = 0.05


def _as_array(name: str, values: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidInput(name, f"expected a 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise InvalidInput(name, f"non-finite value {float(arr[bad])!r} at index {bad}")
    return arr


def _ohlc(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> tuple[FloatArray, ...]:
    h, lo, c = _as_array("high", high), _as_array("low", low), _as_array("close", close)
    if not h.shape == lo.shape == c.shape:
        raise InvalidInput("high/low/close", f"lengths differ: {h.size}/{lo.size}/{c.size}")
    if h.size and (np.any(c <= 0) or np.any(lo <= 0)):
        raise InvalidInput("low/close", "prices must be > 0")
    if np.any(h < lo):
        raise InvalidInput("high", f"below low at index {int(np.flatnonzero(h < lo)[0])}")
    return h, lo, c


def true_range(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> FloatArray:
    """TR_i = max(h−l, |h−c_{i−1}|, |l−c_{i−1}|); the first candle's TR is h−l."""
    h, lo, c = _ohlc(high, low, close)
    tr = h - lo
    if tr.size > 1:
        prev = c[:-1]
        tr[1:] = np.maximum(tr[1:], np.maximum(np.abs(h[1:] - prev), np.abs(lo[1:] - prev)))
    return tr


def wilder_atr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = ATR_PERIOD
) -> FloatArray:
    """Wilder ATR in price units: the first value (index period−1) is the mean of the first
    ``period`` true ranges, then ``atr_i = (atr_{i−1}·(period−1) + tr_i) / period``. NaN before."""
    if period < 1:
        raise InvalidInput("period", f"must be >= 1, got {period}")
    tr = true_range(high, low, close)
    out = np.full(tr.size, np.nan)
    if tr.size < period:
        return out
    atr = float(tr[:period].mean())
    out[period - 1] = atr
    keep = (period - 1) / period
    for i, value in enumerate(tr[period:].tolist(), start=period):
        atr = atr * keep + value / period
        out[i] = atr
    return out


def atr_pct(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = ATR_PERIOD
) -> FloatArray:
    """ATR as a fraction of the close (``atr / close``)."""
    c = _as_array("close", close)
    return wilder_atr(high, low, c, period) / c


def volatility(
    atr_pct_history: npt.ArrayLike,
    window: int,
    min_history: int = VOLATILITY_MIN_HISTORY,
) -> float:
    """The ILFv2 volatility input: the last ``atr_pct`` over the median of the trailing ``window``
    values (current included), clamped to [0, 3]. NaN warm-up values are skipped. With fewer than
    ``min_history`` values there is no baseline yet and the answer is 1.0 (normal)."""
    arr = np.asarray(atr_pct_history, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidInput("atr_pct_history", f"expected a 1-D array, got shape {arr.shape}")
    if np.any(np.isinf(arr)):
        raise InvalidInput("atr_pct_history", "contains inf")
    if window < 1:
        raise InvalidInput("window", f"must be >= 1, got {window}")
    valid = arr[~np.isnan(arr)][-window:]
    if valid.size < min_history:
        return 1.0
    if np.any(valid < 0):
        raise InvalidInput("atr_pct_history", "contains negative values")
    median = float(np.median(valid))
    if median <= 0.0:
        return 1.0
    return clamp(float(valid[-1]) / median, 0.0, VOLATILITY_MAX)


def candles_per_days(timeframe_ms: int, days: float) -> int:
    """How many candles of ``timeframe_ms`` fit in ``days`` (the volatility window)."""
    if timeframe_ms <= 0:
        raise InvalidInput("timeframe_ms", f"must be > 0, got {timeframe_ms}")
    return max(1, int(days * 86_400_000 // timeframe_ms))


def regime(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, window: int = REGIME_WINDOW
) -> Regime:
    """Regime of the last ``window`` candles (SPEC §2), rules tried in this order:
    TRENDING (trend > 0.02 and vol < 0.03), RANGE (mean range < 0.015 and trend < 0.01),
    VOLATILE (vol > 0.04), else NORMAL. vol = RMS of close-to-close returns inside the window,
    trend = |last close − mean close| / mean close, range = (high − low) / close."""
    h, lo, c = _ohlc(high, low, close)
    if c.size < window or window < 2:
        raise InvalidInput("close", f"regime needs {max(window, 2)} candles, got {c.size}")
    return regime_of(h[-window:].tolist(), lo[-window:].tolist(), c[-window:].tolist())


def regime_of(high: list[float], low: list[float], close: list[float]) -> Regime:
    """The regime rules on plain lists already checked (the per-candle path: no numpy calls)."""
    n = len(close)
    returns = [close[i] / close[i - 1] - 1.0 for i in range(1, n)]
    vol = math.sqrt(sum(r * r for r in returns) / len(returns))
    mean_close = sum(close) / n
    trend = abs(close[-1] - mean_close) / mean_close
    mean_range = sum((h - lo) / c for h, lo, c in zip(high, low, close, strict=True)) / n
    if trend > 0.02 and vol < 0.03:
        return Regime.TRENDING
    if mean_range < 0.015 and trend < 0.01:
        return Regime.RANGE
    if vol > 0.04:
        return Regime.VOLATILE
    return Regime.NORMAL


def pnl_trend(recent_roe: Sequence[float], window: int = PNL_TREND_WINDOW) -> float:
    """tanh(mean ROE of the last ``window`` closed trades / 0.05), in [−1, 1]; 0 with no history."""
    values = [finite(f"recent_roe[{i}]", v) for i, v in enumerate(recent_roe)][-window:]
    if not values:
        return 0.0
    return math.tanh(sum(values) / len(values) / PNL_TREND_SCALE)


def margin_util(used_margin: float, equity: float) -> float:
    """Used margin over equity in [0, 1]; no equity left counts as fully used."""
    used = finite("used_margin", used_margin)
    eq = finite("equity", equity)
    if used < 0:
        raise InvalidInput("used_margin", f"must be >= 0, got {used:g}")
    if eq <= 0:
        return 1.0
    return clamp(used / eq, 0.0, 1.0)
