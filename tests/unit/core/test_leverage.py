"""ILFv2 (SPEC §5): the worked example, clamps, rounding, bad input, rolling stats."""

from __future__ import annotations

import math

import pytest

from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.leverage import (
    LeverageInputs,
    LeverageParams,
    LeverageStats,
    compute_leverage,
)

SPEC_EXAMPLE = LeverageInputs(
    confidence=0.85,
    volatility=1.2,
    pnl_trend=0.4,
    symbol_risk=1.0,
    margin_util=0.3,
    exchange_divergence=0.02,
    funding_rate=-0.001,
)


def test_spec_worked_example_is_13_87x() -> None:
    result = compute_leverage(SPEC_EXAMPLE)
    f = result.factors
    assert f.base == pytest.approx(68.75)
    assert (f.volatility, f.pnl, f.symbol) == pytest.approx((0.3, 1.1, 1.0))
    assert (f.margin, f.divergence, f.funding, f.safety) == pytest.approx((0.7, 0.98, 0.99, 0.9))
    # 68.75 × 0.3 × 1.1 × 1.0 × 0.7 × 0.98 × 0.99 × 0.9 = 13.867189875
    assert result.raw == pytest.approx(13.867189875, abs=1e-9)
    assert round(result.raw, 2) == 13.87
    assert result.leverage == 13
    assert "13.87x→13x" in result.reasoning and "base 68.75" in result.reasoning


def test_upper_and_lower_clamps() -> None:
    high = compute_leverage(LeverageInputs(confidence=1.0, volatility=0.0))
    assert high.unclamped == pytest.approx(80 * 1.5 * 0.9)  # 108
    assert (high.raw, high.leverage) == (80.0, 80)
    assert "clamped to [5, 80]" in high.reasoning
    low = compute_leverage(LeverageInputs(confidence=0.0, volatility=3.0, margin_util=1.0))
    # 5 × 0.2 × 0.3 × 0.9 = 0.27 → clamped up to 5
    assert low.unclamped == pytest.approx(0.27)
    assert (low.raw, low.leverage) == (5.0, 5)


def test_inputs_are_clamped_and_reported() -> None:
    result = compute_leverage(
        LeverageInputs(confidence=1.4, volatility=7.0, symbol_risk=0.1, funding_rate=0.3)
    )
    assert result.inputs.confidence == 1.0
    assert result.inputs.volatility == 3.0
    assert result.inputs.symbol_risk == 0.5
    assert result.inputs.funding_rate == 0.05
    assert result.factors.symbol == 2.0
    assert result.factors.funding == 0.5
    assert len(result.clamped_inputs) == 4


def test_params_are_configurable() -> None:
    params = LeverageParams(min_leverage=2, max_leverage=50, safety=1.0)
    result = compute_leverage(LeverageInputs(confidence=0.5), params)
    # base 2 + 0.5 × 48 = 26; vol_f 0.5 (1.5 − 1.0); all else 1 → 13
    assert result.raw == pytest.approx(13.0)
    assert result.leverage == 13


def test_whole_leverage_does_not_lose_a_step_to_float_noise() -> None:
    params = LeverageParams(min_leverage=1, max_leverage=81, safety=1.0)
    result = compute_leverage(LeverageInputs(confidence=0.1, volatility=0.5), params)
    assert result.raw == pytest.approx(9.0)
    assert result.leverage == 9


@pytest.mark.parametrize("field", ["confidence", "volatility", "pnl_trend", "funding_rate"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_inputs_raise(field: str, bad: float) -> None:
    kwargs = {"confidence": 0.7, field: bad}
    with pytest.raises(InvalidInput, match=field):
        compute_leverage(LeverageInputs(**kwargs))


def test_wrong_type_raises() -> None:
    with pytest.raises(InvalidInput, match="confidence: expected a number"):
        compute_leverage(LeverageInputs(confidence="0.7"))  # type: ignore[arg-type]


def test_bad_params_raise() -> None:
    with pytest.raises(InvalidInput, match="min_leverage"):
        LeverageParams(min_leverage=90, max_leverage=80)
    with pytest.raises(InvalidInput, match="safety"):
        LeverageParams(safety=0)


def test_rolling_stats() -> None:
    stats = LeverageStats(recent=3)
    assert stats.snapshot() == {"count": 0, "average": 0.0, "recent": ()}
    for lev in (10, 20, 30, 40):
        stats.record(lev)
    assert stats.count == 4
    assert stats.average == 25.0
    assert stats.recent == (20.0, 30.0, 40.0)
    with pytest.raises(InvalidInput):
        stats.record(math.nan)


def test_symbol_risk_from_the_volatility_rank() -> None:
    from quantum_trader.core.leverage import volatility_rank_risk

    v = {"A": 0.01, "B": 0.02, "C": 0.03}
    assert [volatility_rank_risk(v, s) for s in "ABC"] == [0.75, 1.0, 1.25]
    assert volatility_rank_risk({"A": 0.01, "B": 0.01}, "A") == 1.0  # a tie shares the rank
    assert volatility_rank_risk({"A": 0.01}, "A") == 1.0  # nothing to rank against
    assert volatility_rank_risk({"A": 0.01, "B": float("nan")}, "A") == 1.0
    assert volatility_rank_risk(v, "D") == 1.0  # not measured yet
