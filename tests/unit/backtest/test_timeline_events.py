"""The timeline's merged events kept narrow (int32 indices, close times computed when asked): the
same order and close times as the replay's merge, and the int32 searches equal numpy's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantum_trader.backtest import precompute as pc
from quantum_trader.backtest.precompute import search, timeline
from quantum_trader.feeds.loader import CandleSeries

MIN = 60_000


def series(symbol: str, start: int, n: int, step: int, seed: int) -> CandleSeries:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    high, low = close * 1.001, close * 0.999
    ts = (start + step * np.arange(n)).astype(np.int64)
    return CandleSeries(symbol, step, ts, close.copy(), high, low, close, np.ones(n))


def test_events_are_the_replays_merge_and_close_times_are_the_candles() -> None:
    parts = [
        series("A/USDT:USDT", 0, 400, MIN, 1),
        series("B/USDT:USDT", 7 * MIN, 300, MIN, 2),
        series("C/USDT:USDT", 0, 90, 5 * MIN, 3),
    ]
    tl = timeline(parts, min_resolved=20)
    # the replay pops (candle time, series index): the merge by brute force
    expected = sorted((int(t), k, i) for k, s in enumerate(parts) for i, t in enumerate(s.ts))
    assert [(int(k), int(i)) for k, i in zip(tl.ev_sym, tl.ev_bar, strict=True)] == [
        (k, i) for _, k, i in expected
    ]
    closes = [int(parts[k].ts[i]) + parts[k].timeframe_ms for _, k, i in expected]
    assert tl.closes(0, len(expected)).tolist() == closes
    assert tl.closes(123, 321).tolist() == closes[123:321]
    assert tl.ev_sym.dtype == np.int32 and tl.position[0].dtype == np.int32
    for k, s in enumerate(parts):  # a series' bar → its event
        assert [int(tl.ev_bar[p]) for p in tl.position[k]] == list(range(len(s)))


def test_one_series_close_times_are_its_own() -> None:
    s = series("A/USDT:USDT", 0, 500, MIN, 4)
    tl = timeline([s], min_resolved=20)
    assert tl.closes(10, 20).tolist() == (s.ts[10:20] + MIN).tolist()


@settings(max_examples=200)
@given(
    st.lists(st.integers(0, 10_000), min_size=0, max_size=50).map(sorted),
    st.integers(-5, 10_005),
    st.sampled_from(["left", "right"]),
)
def test_search_is_searchsorted_in_the_arrays_dtype(
    values: list[int], x: int, side: Literal["left", "right"]
) -> None:
    a = np.array(values, dtype=np.int32)
    assert search(a, x, side=side) == int(np.searchsorted(a.astype(np.int64), x, side=side))


@dataclass
class _Sized:  # a stand-in for a symbol's calls: only its feed's length is read first
    n: int

    @property
    def feed(self) -> _Sized:
        return self

    def __len__(self) -> int:
        return self.n


def test_a_backtest_of_two_billion_events_is_refused() -> None:
    with pytest.raises(ValueError, match="split it"):
        pc._events([_Sized(2**30), _Sized(2**30)])  # type: ignore[list-item]
