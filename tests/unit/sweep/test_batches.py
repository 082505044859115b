"""How a sweep's trials are cut into Ray tasks: large batches while many are left, single trials
at the end, every trial sent once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from quantum_trader.sweep.runner import MOST_IN_A_BATCH, batch_size


def schedule(n: int, workers: int) -> list[int]:
    sizes, left = [], n
    while (size := batch_size(left, workers)) > 0:
        sizes.append(size)
        left -= size
    return sizes


def test_the_benchmark_sweeps_64_trials_on_two_workers() -> None:
    # left // 8: 64 → 8, 56 → 7, 49 → 6, 43 → 5, 38 → 4, 34 → 4, 30 → 3, 27 → 3, 24 → 3, …
    assert schedule(64, 2) == [8, 7, 6, 5, 4, 4, 3, 3, 3, 2, 2, 2] + [1] * 15  # 27 tasks
    assert schedule(64, 1) == [8] * 5 + [6, 4, 3, 2, 2] + [1] * 7


def test_few_trials_go_one_a_task() -> None:
    assert schedule(3, 2) == [1, 1, 1]
    assert batch_size(0, 2) == 0 and batch_size(-1, 2) == 0


@given(st.integers(0, 5_000), st.integers(1, 64))
def test_every_trial_is_sent_once_in_bounded_batches(n: int, workers: int) -> None:
    sizes = schedule(n, workers)
    assert sum(sizes) == n
    assert all(1 <= s <= MOST_IN_A_BATCH for s in sizes)
    assert sizes == sorted(sizes, reverse=True)  # never a larger batch after a smaller one
    if n >= workers:
        assert sizes[-workers:] == [1] * workers  # the end goes one trial a task
