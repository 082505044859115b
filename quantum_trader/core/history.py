"""Per-symbol candle history with incremental Wilder ATR — the daemon's view of one market.

Arrays grow in a buffer of twice the capacity and are compacted when full (amortised O(1)). The
ATR recursion is the one in :func:`features.wilder_atr`, operation for operation, so the daemon and
a full-series backtest compute identical floats. The volatility baseline (the median atr_pct of the
trailing window) lives in a :class:`~sorted_window.SortedWindow`, brought up to date when it is
read — per signal, not per candle passed — and equal to :func:`features.volatility` bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from quantum_trader.core.checks import clamp
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.features import (
    ATR_PERIOD,
    REGIME_WINDOW,
    VOLATILITY_MAX,
    VOLATILITY_MIN_HISTORY,
    F64Array,
    regime_of,
)
from quantum_trader.core.sorted_window import SortedWindow
from quantum_trader.core.types import Candle, Regime

#: a backtest's columns by name: float64, and the times int64 (a float buffer takes them exactly);
#: ``atr_pct`` is not one of them: it is ``atr / close``, divided here as :meth:`append` divides
Columns = Mapping[str, npt.NDArray[Any]]
_COLS = ("ts", "open", "high", "low", "close", "volume", "atr", "atr_pct")


def _column(arrays: Columns, name: str, start: int, stop: int) -> npt.NDArray[Any]:
    if name == "atr_pct":
        out: npt.NDArray[Any] = arrays["atr"][start:stop] / arrays["close"][start:stop]
        return out
    return arrays[name][start:stop]


class SymbolHistory:
    def __init__(self, capacity: int, vol_window: int, atr_period: int = ATR_PERIOD) -> None:
        if capacity < 60:
            raise InvalidInput("capacity", f"must be >= 60 candles, got {capacity}")
        self.capacity = capacity
        self.vol_window = vol_window
        self.period = atr_period
        self._buf = {name: np.full(2 * capacity, np.nan) for name in _COLS}
        self._n = 0  # filled length of the buffer
        self.count = 0  # candles seen in total
        self._tr_seed: list[float] = []
        self._atr = math.nan
        self._prev_close = math.nan
        self.last_ts = -1
        self._vol = SortedWindow(vol_window)  # valid atr_pct values of the trailing window

    def __len__(self) -> int:
        return self._n

    def append(self, candle: Candle) -> None:
        if candle.ts <= self.last_ts:
            raise InvalidInput("candle.ts", f"{candle.ts} is not after the last {self.last_ts}")
        h, lo, c = candle.high, candle.low, candle.close
        tr = h - lo
        if not math.isnan(self._prev_close):
            tr = max(tr, max(abs(h - self._prev_close), abs(lo - self._prev_close)))
        if len(self._tr_seed) < self.period:
            self._tr_seed.append(tr)
            if len(self._tr_seed) == self.period:
                self._atr = float(np.array(self._tr_seed).mean())
        else:
            self._atr = self._atr * ((self.period - 1) / self.period) + tr / self.period
        if self._n == 2 * self.capacity:
            for arr in self._buf.values():
                arr[: self.capacity] = arr[self.capacity :]
            self._n = self.capacity
        row = (candle.ts, candle.open, h, lo, c, candle.volume, self._atr, self._atr / c)
        for name, value in zip(_COLS, row, strict=True):
            self._buf[name][self._n] = value
        self._n += 1
        self.count += 1
        self._track(self._atr / c)
        self._prev_close = c
        self.last_ts = candle.ts

    def restore(self, arrays: Columns, n: int, true_ranges: F64Array) -> None:
        """Become exactly the history of a symbol after its first ``n`` candles, from arrays of
        every column (``atr`` from :func:`features.wilder_atr`, the same recursion). Backtests
        skip quiet stretches and restore before the next candle that matters."""
        m = min(n, self.capacity)
        for name, arr in self._buf.items():
            arr[:m] = _column(arrays, name, n - m, n)
        self._n, self.count = m, n
        self._tr_seed = true_ranges[: min(n, self.period)].tolist()
        self._atr = float(arrays["atr"][n - 1]) if n else math.nan
        self._prev_close = float(arrays["close"][n - 1]) if n else math.nan
        self.last_ts = int(arrays["ts"][n - 1]) if n else -1
        pct = _column(arrays, "atr_pct", 0, n)
        self._vol = SortedWindow(self.vol_window)
        self._vol.extend(pct[~np.isnan(pct)][-self.vol_window :])

    def extend(self, arrays: Columns, n: int, true_ranges: F64Array) -> None:
        """Catch up from ``count`` to the first ``n`` candles of the same arrays as
        :meth:`restore` — equal to appending each, at the cost of the candles added, not of the
        window (a backtest's short stretches inside positions)."""
        start = self.count
        if not 0 < start < n:
            self.restore(arrays, n, true_ranges)
            return
        if start < self.period:
            self._tr_seed += true_ranges[start : min(n, self.period)].tolist()
        added = n - start
        if self._n + added > 2 * self.capacity:  # compact, keeping what a full buffer keeps
            keep = min(self._n, self.capacity)
            for arr in self._buf.values():
                arr[:keep] = arr[self._n - keep : self._n]
            self._n = keep
        if self._n + added > 2 * self.capacity:
            self.restore(arrays, n, true_ranges)
            return
        for name, arr in self._buf.items():
            arr[self._n : self._n + added] = _column(arrays, name, start, n)
        self._n += added
        self.count = n
        self._atr = float(arrays["atr"][n - 1])
        self._prev_close = float(arrays["close"][n - 1])
        self.last_ts = int(arrays["ts"][n - 1])
        pct = _column(arrays, "atr_pct", start, n)
        self._vol.extend(pct[~np.isnan(pct)])

    def tail(self, name: str, n: int | None = None) -> F64Array:
        """The last ``n`` values of a column (all retained values when None)."""
        start = 0 if n is None else max(0, self._n - n)
        return self._buf[name][start : self._n]

    @property
    def close(self) -> float:
        return float(self._buf["close"][self._n - 1]) if self._n else math.nan

    @property
    def atr(self) -> float:
        return self._atr

    @property
    def atr_pct(self) -> float:
        return self._atr / self.close if self._n else math.nan

    def _track(self, value: float) -> None:
        if not math.isnan(value):
            self._vol.append(value)

    def volatility(self) -> float:
        """:func:`features.volatility` over the trailing window, from the sorted window."""
        if len(self._vol) < VOLATILITY_MIN_HISTORY:
            return 1.0
        median = self._vol.median()
        if median <= 0.0:
            return 1.0
        return clamp(self._vol.last() / median, 0.0, VOLATILITY_MAX)

    def regime(self) -> Regime:
        w = REGIME_WINDOW
        return regime_of(
            self.tail("high", w).tolist(),
            self.tail("low", w).tolist(),
            self.tail("close", w).tolist(),
        )
