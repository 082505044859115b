"""Decision candles for a whole series at once: :class:`core.buckets.Aggregator`'s rule,
vectorised (whole aligned buckets only), with the feed bar that completes each one."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from quantum_trader.core.buckets import ratio
from quantum_trader.feeds.loader import CandleSeries

I32 = npt.NDArray[np.int32]


def resample(s: CandleSeries, decide_ms: int) -> tuple[CandleSeries, I32]:
    """(the decision series, per decision bar the index of the feed bar that completes it)."""
    n = ratio(decide_ms, s.timeframe_ms)
    if len(s) == 0:
        return s, np.zeros(0, dtype=np.int32)
    bucket = s.ts // decide_ms
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], s.ts.size]
    last = ends - 1
    whole = ((ends - starts) == n) & (
        s.ts[last] + s.timeframe_ms >= (bucket[starts] + 1) * decide_ms
    )
    high = np.maximum.reduceat(s.high, starts)
    low = np.minimum.reduceat(s.low, starts)
    volume = np.add.reduceat(s.volume, starts)
    w = np.flatnonzero(whole)
    out = CandleSeries(
        s.symbol,
        decide_ms,
        (bucket[starts] * decide_ms)[w],
        s.open[starts][w],
        high[w],
        low[w],
        s.close[last][w],
        volume[w],
        s.source,
    )
    return out, last[w].astype(np.int32)
