"""SPEC §8 performance score, exact numbers at every threshold."""

from __future__ import annotations

import pytest

from quantum_trader.core.benchmark import performance_score
from quantum_trader.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("accuracy", "p95", "errors", "score"),
    [
        (0.95, 50.0, 0.0, 100.0),
        (0.90, 100.0, 0.05, 100.0),  # every bound is exclusive
        (0.85, 150.0, 0.06, 70.0),  # −10 −10 −10
        (0.75, 250.0, 0.15, 40.0),  # −20 −20 −20
        (0.65, 600.0, 0.25, 10.0),  # −30 −30 −30
        (0.45, 600.0, 0.25, 0.0),  # −40 −30 −30
        (0.49, None, None, 60.0),
        (None, None, None, 100.0),  # nothing measured yet
    ],
)
def test_score_is_100_less_the_penalties(
    accuracy: float | None, p95: float | None, errors: float | None, score: float
) -> None:
    assert performance_score(accuracy, p95, errors) == score


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(InvalidInput):
        performance_score(1.2, None, None)
    with pytest.raises(InvalidInput):
        performance_score(None, None, float("nan"))


def test_attribution_counts_each_trade_for_every_model_that_voted_for_it() -> None:
    from quantum_trader.core.benchmark import attribution

    rows = attribution([(("trend", "momentum"), 10.0), (("trend",), -4.0), ((), 99.0)])
    assert rows == {
        "momentum": {"trades": 1, "wins": 1, "pnl": 10.0},
        "trend": {"trades": 2, "wins": 1, "pnl": 6.0},
    }
