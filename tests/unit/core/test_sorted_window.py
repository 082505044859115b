"""The sorted window's median equals numpy's median of the last ``size`` values, bit for bit,
whatever mix of single appends, bulk extends (shorter or longer than the window) and reads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantum_trader.core.sorted_window import MERGE_LOOP, SortedWindow

values = st.integers(0, 4).map(float)  # few distinct values: many duplicates
ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), values),
        st.tuples(st.just("extend"), st.lists(values, max_size=60)),
        st.tuples(st.just("read"), st.none()),
    ),
    max_size=150,
)


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 48), steps=ops)
def test_the_median_is_numpys_over_the_last_values(size: int, steps: list) -> None:
    _check(size, steps)


# windows wide enough that a sync merges more than MERGE_LOOP values in and out (through masks)
wide_ops = st.lists(
    st.one_of(
        st.tuples(st.just("extend"), st.lists(values, min_size=MERGE_LOOP // 2, max_size=120)),
        st.tuples(st.just("read"), st.none()),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(size=st.integers(4 * MERGE_LOOP, 600), steps=wide_ops)
def test_the_median_is_numpys_when_many_values_move_at_once(size: int, steps: list) -> None:
    _check(size, steps)


def _check(size: int, steps: list) -> None:
    w, seen = SortedWindow(size), []
    for op, arg in steps:
        if op == "append":
            w.append(arg)
            seen.append(arg)
        elif op == "extend":
            w.extend(np.array(arg, dtype=np.float64))
            seen.extend(arg)
        elif seen:
            tail = np.array(seen[-size:])
            assert w.median() == float(np.median(tail))
            assert w.window().tolist() == tail.tolist() and len(w) == tail.size
            assert w.last() == seen[-1]
    assert w.total == len(seen)


def test_a_read_after_each_value_and_after_long_gaps() -> None:
    rng = np.random.default_rng(5)
    x = np.round(rng.lognormal(size=7_000), 1)  # rounded: equal values expire together
    w, at = SortedWindow(400), 0
    for step in [1] * 300 + [7, 90, 99, 1, 401, 3, 1_000, 2, 5, 60] * 3:
        w.extend(x[at : at + step])
        at += step
        assert w.median() == float(np.median(x[max(0, at - 400) : at]))


def test_equal_values_expiring_in_one_step_each_leave() -> None:
    w = SortedWindow(16)
    w.extend(np.array([1.0] * 8 + [3.0] * 8))
    assert w.median() == 2.0
    w.extend(np.array([2.0, 2.0]))  # two 1.0s leave at once
    assert w.median() == float(np.median([1.0] * 6 + [3.0] * 8 + [2.0, 2.0])) == 2.5


def test_a_window_of_no_values_is_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        SortedWindow(0)
