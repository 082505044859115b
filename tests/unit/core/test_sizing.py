"""Sizing caps and quantities (SPEC §7)."""

from __future__ import annotations

import math

import pytest

from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.sizing import (
    MarketRules,
    SizingInputs,
    SizingParams,
    fallback_multiplier,
    round_down_to_step,
    rules_for_price,
    size_position,
)


def test_unbound_sizing() -> None:
    s = size_position(SizingInputs(entry_price=50_000, leverage=10, sl=0.01, equity=10_000))
    assert (s.margin_requested, s.margin, s.notional, s.qty) == (200, 200, 2_000, 0.04)
    assert s.caps["risk_per_trade"] == pytest.approx(1_000)  # 0.01 × 10,000 / 0.01 / 10
    assert s.caps["margin_util"] == pytest.approx(6_000)
    assert s.caps_bound == ()
    assert s.risk_at_stop == pytest.approx(20.0)
    assert s.accepted


def test_risk_per_trade_binds() -> None:
    s = size_position(
        SizingInputs(entry_price=50_000, leverage=10, sl=0.05, equity=10_000, multiplier=1.5)
    )
    assert s.margin_requested == 300
    assert s.caps_bound == ("risk_per_trade",)
    assert (s.margin, s.notional, s.qty) == pytest.approx((200, 2_000, 0.04))
    assert s.risk_at_stop == pytest.approx(100.0)  # = 1 % of equity


def test_risk_cap_counts_fees_slippage_and_the_gap_allowance() -> None:
    """Issue 10, item 4: the loss a stopped trade can realise — stop distance, the round trip's
    taker fees and slippage (2 × (0.0005 + 0.0002) = 0.0014) and the gap allowance (0.002) — stays
    inside 1 % of equity: margin ≤ 0.01 × 10,000 / (0.05 + 0.0034) / 10 = 187.266 USDT."""
    params = SizingParams(round_trip_cost=0.0014, gap_allowance=0.002, slippage=0.0002)
    s = size_position(
        SizingInputs(entry_price=50_000, leverage=10, sl=0.05, equity=10_000, multiplier=1.5),
        params=params,
    )
    assert s.caps["risk_per_trade"] == pytest.approx(100 / 0.0534 / 10)  # 187.2659
    assert s.caps_bound == ("risk_per_trade",)
    assert s.qty == pytest.approx(0.037)  # 1,872.66 / 50,000 rounded down to 0.001
    assert s.risk_at_stop == pytest.approx(0.037 * 50_000 * 0.0534)  # 98.79 ≤ 100
    assert s.caps["margin_util"] == pytest.approx(6_000 / 1.0002)  # holds after the fill


def test_margin_util_binds() -> None:
    s = size_position(
        SizingInputs(entry_price=50_000, leverage=10, sl=0.01, equity=10_000, used_margin=5_900)
    )
    assert s.caps_bound == ("margin_util",)
    assert (s.margin, s.qty) == pytest.approx((100, 0.02))


def test_bracket_notional_binds() -> None:
    s = size_position(
        SizingInputs(entry_price=100, leverage=10, sl=0.001, equity=1e6, bracket_max_notional=1_000)
    )
    assert s.caps_bound == ("bracket_notional",)
    assert s.notional == pytest.approx(1_000)


def test_quantity_rounds_down_to_the_step() -> None:
    s = size_position(SizingInputs(entry_price=30_000, leverage=7, sl=0.01, equity=10_000))
    # 200 × 7 / 30,000 = 0.04666… → 0.046; notional 1,380; margin 1,380 / 7
    assert s.qty == 0.046
    assert s.notional == pytest.approx(1_380)
    assert s.margin == pytest.approx(197.142857, abs=1e-6)


def test_max_qty_binds() -> None:
    s = size_position(
        SizingInputs(entry_price=1, leverage=10, sl=0.01, equity=10_000),
        MarketRules(qty_step=1, min_qty=1, max_qty=500, min_notional=5),
    )
    assert s.qty == 500
    assert "max_qty" in s.caps_bound


def test_below_min_notional_is_rejected_with_a_reason() -> None:
    s = size_position(
        SizingInputs(entry_price=50_000, leverage=5, sl=0.01, equity=1_000, used_margin=590)
    )
    assert not s.accepted
    assert s.rejected is not None
    assert "below the exchange minimum" in s.rejected and "margin_util" in s.rejected


def test_no_margin_left_is_rejected() -> None:
    s = size_position(
        SizingInputs(entry_price=100, leverage=5, sl=0.01, equity=1_000, used_margin=600)
    )
    assert s.rejected is not None and s.rejected.startswith("no margin left")


def test_multiplier_is_clamped_to_its_range() -> None:
    s = size_position(
        SizingInputs(entry_price=100, leverage=5, sl=0.01, equity=1e6, multiplier=3.0)
    )
    assert (s.multiplier, s.margin_requested) == (1.5, 300)
    s = size_position(
        SizingInputs(entry_price=100, leverage=5, sl=0.01, equity=1e6, multiplier=0.0)
    )
    assert (s.multiplier, s.margin_requested) == (0.5, 100)


def test_performance_factor_scales_the_request() -> None:
    s = size_position(
        SizingInputs(entry_price=100, leverage=5, sl=0.01, equity=1e6, performance_factor=1.2)
    )
    assert s.margin_requested == pytest.approx(240)


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [(0.3, 0.1, 0.3), (0.29999, 0.1, 0.2), (12.345, 0.01, 12.34), (7, 5, 5), (0.0, 0.1, 0.0)],
)
def test_round_down_to_step(value: float, step: float, expected: float) -> None:
    assert round_down_to_step(value, step) == expected


def test_fallback_multiplier_formula() -> None:
    # 0.5 + 0.5·0.85 + 0.25·0.4 − 0.15·1.2 − 0.2·0.02 = 0.841
    assert fallback_multiplier(0.85, 0.4, 1.2, 0.02) == pytest.approx(0.841)
    assert fallback_multiplier(0.85, -0.9, 1.2, 0.02) == pytest.approx(0.741)  # max(0, trend)
    assert fallback_multiplier(1.0, 1.0, 0.0, 0.0) == 1.25
    assert fallback_multiplier(0.0, 0.0, 3.0, 1.0) == 0.5


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("entry_price", {"entry_price": 0.0}),
        ("equity", {"equity": -5.0}),
        ("sl", {"sl": math.nan}),
        ("used_margin", {"used_margin": -1.0}),
        ("multiplier", {"multiplier": math.inf}),
        ("leverage", {"leverage": 200}),
    ],
)
def test_bad_input_raises(field: str, kwargs: dict[str, float]) -> None:
    base = {"entry_price": 100.0, "leverage": 5, "sl": 0.01, "equity": 1_000.0}
    with pytest.raises(InvalidInput, match=field):
        size_position(SizingInputs(**{**base, **kwargs}))  # type: ignore[arg-type]


def test_fractional_leverage_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="whole number"):
        size_position(SizingInputs(entry_price=100, leverage=5.5, sl=0.01, equity=1_000))  # type: ignore[arg-type]


def test_bad_params_raise() -> None:
    with pytest.raises(InvalidInput, match="max_margin_util"):
        SizingParams(max_margin_util=1.5)
    with pytest.raises(InvalidInput, match="qty_step"):
        MarketRules(qty_step=0)


@pytest.mark.parametrize(
    ("price", "step", "tick"),
    [(50_000, 0.0001, 0.1), (2_000, 0.001, 0.01), (300, 0.01, 0.001), (0.5, 10, 1e-6)],
)
def test_rules_for_price(price: float, step: float, tick: float) -> None:
    rules = rules_for_price(price)
    assert rules.qty_step == pytest.approx(step)
    assert rules.price_tick == pytest.approx(tick)
    assert rules.min_notional == 5.0
