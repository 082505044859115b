"""Per-symbol candle history with incremental Wilder ATR — the daemon's view of one market.

Arrays grow in a buffer of twice the capacity and are compacted when full (amortised O(1)). The
ATR recursion is the one in :func:`features.wilder_atr`, operation for operation, so the daemon and
a full-series backtest compute identical floats.
"""

from __future__ import annotations

import math

import numpy as np

from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.features import ATR_PERIOD, F64Array, regime, volatility
from quantum_trader.core.types import Candle, Regime

_COLS = ("ts", "open", "high", "low", "close", "volume", "atr", "atr_pct")


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
        self._prev_close = c
        self.last_ts = candle.ts

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

    def volatility(self) -> float:
        return volatility(self.tail("atr_pct", self.vol_window + self.period), self.vol_window)

    def regime(self) -> Regime:
        return regime(self.tail("high", 20), self.tail("low", 20), self.tail("close", 20))
