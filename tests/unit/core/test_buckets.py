"""Decision candles: the daemon's incremental aggregator and the backtest's vectorised resample
agree candle for candle, gaps included; a bucket with a gap is dropped."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantum_trader.backtest.resample import resample
from quantum_trader.core.buckets import Aggregator, ratio
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import Candle
from quantum_trader.feeds.loader import CandleSeries

M = 60_000
T = 1_700_000_100_000 // (15 * M) * (15 * M)


def series(present: list[bool]) -> CandleSeries:
    idx = np.flatnonzero(present)
    close = 100.0 + np.sin(idx / 3.0)
    return CandleSeries(
        "BTC/USDT:USDT", M, (T + idx * M).astype(np.int64), close - 0.1, close + 0.5,
        close - 0.7, close, np.ones(idx.size),
    )  # fmt: skip


def test_a_whole_bucket_is_one_candle() -> None:
    s = series([True] * 15)
    d, bars = resample(s, 15 * M)
    assert len(d) == 1 and bars.tolist() == [14]
    assert (d.ts[0], d.open[0], d.close[0]) == (T, s.open[0], s.close[14])
    assert d.high[0] == s.high.max() and d.low[0] == s.low.min() and d.volume[0] == 15.0


def test_a_bucket_with_a_gap_is_dropped() -> None:
    d, bars = resample(series([True] * 7 + [False] + [True] * 22), 15 * M)
    assert bars.tolist() == [28]  # only the second bucket (its last candle is feed bar 28)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=200), st.sampled_from([3, 5, 15]))
def test_the_aggregator_equals_the_resample(present: list[bool], n: int) -> None:
    s = series(present)
    d, bars = resample(s, n * M)
    agg = Aggregator(n * M, M)
    out = []
    for i in range(len(s)):
        c = Candle(int(s.ts[i]), s.open[i], s.high[i], s.low[i], s.close[i], s.volume[i])
        done = agg.add(c)
        if done is not None:
            out.append((i, done))
    assert [i for i, _ in out] == bars.tolist()
    for (_, c), j in zip(out, range(len(d)), strict=True):
        assert (c.ts, c.open, c.high, c.low, c.close) == (
            d.ts[j],
            d.open[j],
            d.high[j],
            d.low[j],
            d.close[j],
        )
        assert c.volume == pytest.approx(d.volume[j])


def test_the_decision_timeframe_must_be_a_whole_multiple() -> None:
    assert ratio(15 * M, 5 * M) == 3
    with pytest.raises(InvalidInput, match="whole multiple"):
        ratio(15 * M, 2 * M)
    with pytest.raises(InvalidInput):
        ratio(M, 5 * M)
