"""The net edge per trade and its bootstrap interval."""

from __future__ import annotations

import numpy as np
import pytest

from quantum_trader.core.stats import net_edge


def test_the_mean_and_its_interval_lie_within_the_trades() -> None:
    e = net_edge([10.0, 30.0])
    assert e.trades == 2 and e.mean == pytest.approx(20.0)
    assert 10.0 <= e.low <= e.high <= 30.0


def test_a_coin_flip_shows_no_edge_and_a_real_one_does() -> None:
    rng = np.random.default_rng(1)
    noise = list(rng.normal(0.0, 0.01, 400))
    assert net_edge(noise).verdict == "no evidence of an edge"
    skill = list(rng.normal(0.003, 0.01, 400))  # +30 bp a trade, 6 standard errors out
    assert net_edge(skill).verdict == "an edge at this confidence"
    fees = list(rng.normal(-0.003, 0.01, 400))
    assert net_edge(fees).verdict == "a loss at this confidence"


def test_few_trades_say_so() -> None:
    assert net_edge([]).verdict == "too few trades to say (0 of 30 needed)"
    assert net_edge([0.01]).verdict == "too few trades to say (1 of 30 needed)"


def test_three_winners_are_no_verdict() -> None:
    """A bootstrap of 3 values is [min, max]: three winning trades are not an edge."""
    three = net_edge([1.0, 2.0, 3.0])
    assert three.low > 0  # the interval alone would call it an edge
    assert three.verdict == "too few trades to say (3 of 30 needed)"


def test_the_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    covered = sum(
        (e := net_edge(list(rng.normal(0.001, 0.01, 60)), resamples=500)).low <= 0.001 <= e.high
        for _ in range(200)
    )
    assert 0.88 <= covered / 200 <= 0.99
