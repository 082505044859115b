"""The last ``size`` values of a stream and their median, for a window that moves in bulk.

Values are appended one at a time (a live candle) or many at once (a backtest catching up over a
held stretch); the sorted copy is brought up to date only when the median is read, in one step
whatever the number of values that arrived since: the expired ones deleted and the new ones
inserted with numpy (two copies of the window, O(size)), or the window sorted afresh when most of
it is new. A sorted list updated value by value costs microseconds per value in Python; this costs
tens of microseconds per read, so a backtest pays per decision, not per bar passed.

The median is the window's middle order statistic, or the mean of the middle two — the same
numbers as ``numpy.median`` of the window, bit for bit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


class Recent:
    """The last ``size`` values, oldest first, as one contiguous float64 view: a buffer of twice
    the size, compacted when full (amortised O(1) a value, no copy to read)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size = size
        self._buf = np.empty(2 * size)  # the values, oldest first
        self._n = 0  # filled length of the buffer
        self.total = 0  # values appended in all

    def __len__(self) -> int:
        return min(self.total, self.size)

    def append(self, value: float) -> None:
        self._room(1)
        self._buf[self._n] = value
        self._n += 1
        self.total += 1

    def extend(self, values: F64) -> None:
        """Append each of ``values`` in order (only the last ``size`` can stay in the window)."""
        kept = values[-self.size :]
        self._room(kept.size)
        self._buf[self._n : self._n + kept.size] = kept
        self._n += kept.size
        self.total += values.size

    def last(self) -> float:
        return float(self._buf[self._n - 1])

    def window(self) -> F64:
        """The current window, oldest first (a view)."""
        return self._buf[max(0, self._n - self.size) : self._n]

    def _room(self, k: int) -> None:
        if self._n + k <= self._buf.size:
            return
        self._compacting()
        keep = min(self._n, self.size)
        self._buf[:keep] = self._buf[self._n - keep : self._n]
        self._n = keep

    def _compacting(self) -> None:
        """Called before the values older than the window are dropped from the buffer."""


class SortedWindow(Recent):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._sorted = np.empty(0)
        self._synced = 0  # ``total`` when ``_sorted`` was last brought up to date

    def median(self) -> float:
        s = self._sync()
        n = s.size
        mid = n // 2
        return float(s[mid]) if n % 2 else float((s[mid - 1] + s[mid]) / 2)

    def _incremental(self) -> bool:
        fresh = self.total - self._synced
        return 0 < fresh and fresh * 4 < self.size

    def _compacting(self) -> None:
        if self._incremental():  # the values the next sync expires are about to be dropped
            self._sync()

    def _sync(self) -> F64:
        fresh = self.total - self._synced
        if fresh == 0:
            return self._sorted
        window = self.window()
        if not self._incremental():
            self._sorted = np.sort(window)
        else:
            added = np.sort(window[window.size - fresh :])
            before = self._sorted.size
            expire = before + fresh - window.size  # the oldest of the window last synced
            old = self._sorted
            gone = np.empty(0, dtype=np.int64)
            if expire > 0:
                start = self._n - fresh - before
                values = np.sort(self._buf[start : start + expire])
                gone = np.searchsorted(old, values, side="left")
                gone += np.arange(expire) - np.searchsorted(values, values, side="left")  # equals
            at = np.searchsorted(old, added)
            if gone.size + at.size > MERGE_LOOP:
                self._sorted = _merge_masked(old, gone, at, added)
            else:
                self._sorted = _merge(old, gone.tolist(), at.tolist(), added)
        self._synced = self.total
        return self._sorted


#: up to this many values in and out, a sync merges slice by slice; above, through masks
MERGE_LOOP = 96  # the crossover, timed on a 30-day window of 1m values (43,200)


def _merge_masked(
    old: F64, gone: npt.NDArray[np.int64], at: npt.NDArray[np.int64], added: F64
) -> F64:
    """:func:`_merge` through masks: the kept values and the added ones each scattered to their
    places in one new array (a Python step per value costs more above ``MERGE_LOOP`` of them)."""
    out = np.empty(old.size - gone.size + added.size)
    placed = at - np.searchsorted(gone, at) + np.arange(added.size)  # each added value's index
    rest = np.ones(out.size, dtype=bool)
    rest[placed] = False
    kept = np.ones(old.size, dtype=bool)
    kept[gone] = False
    out[rest] = old[kept]
    out[placed] = added
    return out


def _merge(old: F64, gone: list[int], at: list[int], added: F64) -> F64:
    """``old`` without the values at the sorted positions ``gone``, with ``added`` (sorted) put
    before the positions ``at`` — as one concatenation of slices: a copy of the window, where
    ``numpy.delete`` and ``numpy.insert`` make two, each through a mask."""
    pieces: list[F64] = []
    cur, g, a = 0, 0, 0
    while g < len(gone) or a < len(at):
        if a < len(at) and (g == len(gone) or at[a] <= gone[g]):
            pieces.append(old[cur : at[a]])
            pieces.append(added[a : a + 1])
            cur = at[a]
            a += 1
        else:
            pieces.append(old[cur : gone[g]])
            cur = gone[g] + 1
            g += 1
    pieces.append(old[cur:])
    return np.concatenate(pieces)
