"""The PNG's lines are drawn through each bucket's low and high: every spike and the ends kept,
in time order, a few thousand points for a year of minutes."""

from __future__ import annotations

import numpy as np

from quantum_trader.backtest.report import envelope


def test_the_envelope_keeps_every_extreme_in_order() -> None:
    rng = np.random.default_rng(2)
    y = np.cumsum(rng.normal(size=525_600))
    y[123_457] -= 500.0  # a one-bar crash
    at = envelope(y, 2_000)
    assert at.size <= 4_004 and np.all(np.diff(at) > 0)
    assert at[0] == 0 and at[-1] == y.size - 1
    assert 123_457 in at.tolist() and y[at].min() == y.min() and y[at].max() == y.max()
    size = y.size // 2_000
    for b in (0, 777, 1_999):  # each bucket's own low and high are there
        chunk = y[b * size : (b + 1) * size]
        assert b * size + int(chunk.argmin()) in at and b * size + int(chunk.argmax()) in at


def test_a_short_series_is_drawn_whole() -> None:
    assert envelope(np.arange(10.0), 2_000).tolist() == list(range(10))
