"""The equity curve keeps one row per close time — the account after the last candle of that
time — whether the events come one by one (every candle through the pipeline) or as a skipped run
of arrays (the fast-forward): several symbols closing at one time are one point of the curve, not
several half-updated ones."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from quantum_trader.backtest.recorder import Marks


def _one_by_one(ts: list[int], eq: list[float], ex: list[bool]) -> Marks:
    m = Marks()
    for t, e, x in zip(ts, eq, ex, strict=True):
        m.add(t, e, x)
    return m


def test_one_row_per_close_time_the_last_event_wins() -> None:
    m = _one_by_one([60, 60, 120, 120, 120, 180], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                    [True, False, False, False, True, False])  # fmt: skip
    assert list(m.ts) == [60, 120, 180]
    assert list(m.equity) == [2.0, 5.0, 6.0]
    assert list(m.exposed) == [0, 1, 0]


Case = tuple[list[int], list[float], list[bool], list[int]]  # ts, equity, exposed, run ends


@st.composite
def _events(draw: st.DrawFn) -> Case:
    steps = draw(st.lists(st.integers(0, 2), min_size=1, max_size=60))
    ts = (60_000 * (1 + np.cumsum(steps))).tolist()  # repeats: several symbols at one close
    eq = draw(st.lists(st.floats(1.0, 1e6), min_size=len(ts), max_size=len(ts)))
    cuts = sorted(set(draw(st.lists(st.integers(1, len(ts)), max_size=6))) | {len(ts)})
    # a run's exposure is one flag for the whole run (no position opens or closes inside it)
    flags = [draw(st.booleans()) for _ in cuts]
    ex, lo = [], 0
    for cut, flag in zip(cuts, flags, strict=True):
        ex += [flag] * (cut - lo)
        lo = cut
    return ts, eq, ex, cuts


@given(_events())
def test_runs_of_arrays_equal_events_one_by_one(case: Case) -> None:
    ts, eq, ex, cuts = case
    fast, lo = Marks(), 0
    for cut in cuts:
        fast.extend(np.array(ts[lo:cut], np.int64), np.array(eq[lo:cut]), ex[lo])
        lo = cut
    slow = _one_by_one(ts, eq, ex)
    assert fast.ts == slow.ts
    assert fast.equity == slow.equity
    assert fast.exposed == slow.exposed
    assert list(fast.ts) == sorted(set(ts))
