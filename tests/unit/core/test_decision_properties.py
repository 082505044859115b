"""The whole entry decision: exact composition and hypothesis properties of every invariant.

Properties over wide and extreme inputs: final leverage in [1, 80]; after the guard
``sl ≤ 0.8 × liquidation distance`` (recomputed independently from the final size) or the trade is
refused; the stop price lies before the liquidation price; tp1 < tp2 < tp3; harvest sums to 1;
sizing never breaks a cap; quantities are exchange-valid.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantum_trader.core.decision import Decision, DecisionInputs, DecisionParams, decide
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.guard import guard_leverage
from quantum_trader.core.levels import LevelInputs, LevelParams, compute_levels
from quantum_trader.core.liquidation import (
    DEFAULT_BRACKETS,
    BracketTable,
    liquidation_distance,
    liquidation_price,
)
from quantum_trader.core.sizing import MarketRules, SizingParams
from quantum_trader.core.types import Side

EPS = 1e-9


def test_spec_example_decision() -> None:
    d = decide(
        DecisionInputs(
            side=Side.LONG,
            entry_price=50_000,
            equity=10_000,
            confidence=0.85,
            volatility=1.2,
            pnl_trend=0.4,
            margin_util=0.3,
            used_margin=3_000,
            exchange_divergence=0.02,
            funding_rate=-0.001,
        )
    )
    assert d.accepted
    assert d.ilf.raw == pytest.approx(13.867189875)
    assert d.leverage == 13
    assert d.multiplier_source == "fallback"
    assert d.sizing is not None and d.sizing.multiplier == pytest.approx(0.841)
    # margin 168.2 × 13 = 2,186.6 notional → 0.043 BTC → 2,150 notional
    assert d.sizing.qty == 0.043
    assert d.sizing.notional == pytest.approx(2_150)


def test_policy_multiplier_is_used_when_given() -> None:
    d = decide(
        DecisionInputs(side=Side.SHORT, entry_price=100, equity=1e5, confidence=0.9, multiplier=1.3)
    )
    assert d.multiplier_source == "policy"
    assert d.sizing is not None and d.sizing.margin_requested == pytest.approx(260)


def test_refusal_carries_the_guard_reason() -> None:
    params = DecisionParams(brackets=BracketTable.single(125, 0.98))
    d = decide(DecisionInputs(side=Side.SHORT, entry_price=100, equity=1e5, confidence=0.9), params)
    assert not d.accepted and d.refused is not None and "even at 1x" in d.refused
    assert d.sizing is None and d.levels is None


def test_decision_bad_input() -> None:
    with pytest.raises(InvalidInput, match="confidence"):
        decide(DecisionInputs(side=Side.LONG, entry_price=100, equity=1e4, confidence=math.nan))
    with pytest.raises(InvalidInput, match="equity"):
        decide(DecisionInputs(side=Side.LONG, entry_price=100, equity=0, confidence=0.5))


# ---------------------------------------------------------------- properties

finite = {"allow_nan": False, "allow_infinity": False}
brackets = st.one_of(
    st.just(DEFAULT_BRACKETS),
    st.builds(
        BracketTable.single,
        st.integers(1, 125),
        st.floats(0.0, 0.9, **finite),
        st.floats(0.0, 5_000, **finite),
    ),
)
rules = st.builds(
    MarketRules,
    qty_step=st.sampled_from([1e-6, 0.001, 0.01, 0.1, 1.0, 10.0]),
    min_qty=st.sampled_from([0.0, 0.001, 1.0]),
    max_qty=st.sampled_from([1e9, 1_000.0, 5.0]),
    min_notional=st.sampled_from([0.0, 5.0, 100.0]),
    price_tick=st.sampled_from([0.0, 0.0001, 0.1, 1.0]),
)
level_params = st.builds(
    LevelParams,
    base_tp=st.floats(0.0005, 0.2, **finite),
    base_sl=st.floats(0.0005, 0.2, **finite),
)
sizing_params = st.builds(
    SizingParams,
    base_margin_usd=st.floats(1, 50_000, **finite),
    max_risk_per_trade=st.floats(0.0001, 0.2, **finite),
    max_margin_util=st.floats(0.01, 1.0, **finite),
)


@st.composite
def decision_cases(draw: st.DrawFn) -> tuple[DecisionInputs, DecisionParams]:
    equity = draw(st.floats(10, 1e8, **finite))
    util = draw(st.floats(0, 1.2, **finite))
    inputs = DecisionInputs(
        side=draw(st.sampled_from(Side)),
        entry_price=draw(st.floats(1e-3, 1e6, **finite)),
        equity=equity,
        confidence=draw(st.floats(0, 1, **finite)),
        volatility=draw(st.floats(0, 10, **finite)),
        pnl_trend=draw(st.floats(-3, 3, **finite)),
        symbol_risk=draw(st.floats(0.1, 3, **finite)),
        margin_util=util,
        used_margin=util * equity,
        exchange_divergence=draw(st.floats(0, 2, **finite)),
        funding_rate=draw(st.floats(-0.2, 0.2, **finite)),
        multiplier=draw(st.one_of(st.none(), st.floats(-1, 3, **finite))),
    )
    params = DecisionParams(
        levels=draw(level_params),
        sizing=draw(sizing_params),
        rules=draw(rules),
        brackets=draw(brackets),
    )
    return inputs, params


def _is_multiple(qty: float, step: float) -> bool:
    return Decimal(repr(qty)) % Decimal(repr(step)) == 0


def _assert_invariants(d: Decision, params: DecisionParams) -> None:
    x, lv, s = d.inputs, d.levels, d.sizing
    assert d.leverage <= d.ilf.leverage, "the guard never raises leverage"
    if not d.accepted:
        assert d.refused
        return
    assert lv is not None and s is not None and d.prices is not None
    assert 1 <= d.leverage <= 80
    assert lv.tp1 < lv.tp2 < lv.tp3
    assert math.isclose(sum(lv.harvest), 1.0)
    assert params.levels.sl_min <= lv.sl <= params.levels.sl_max
    # liquidation guard, recomputed independently from the final position
    bracket = params.brackets.for_notional(s.notional)
    liq = liquidation_price(x.side, x.entry_price, s.qty, s.margin, bracket.mmr, bracket.cum)
    distance = liquidation_distance(x.side, x.entry_price, liq) if liq > 0 else 1.0
    assert lv.sl <= 0.8 * distance + EPS
    if liq > 0:
        assert (d.prices.sl > liq) if x.side is Side.LONG else (d.prices.sl < liq)
        # and in the tier of the notional at that price, where Binance (and paper) compute it
        there = params.brackets.for_notional(liq * s.qty)
        liq2 = liquidation_price(x.side, x.entry_price, s.qty, s.margin, there.mmr, there.cum)
        if liq2 > 0:
            assert (d.prices.sl > liq2) if x.side is Side.LONG else (d.prices.sl < liq2)
    # caps
    assert s.notional * lv.sl <= params.sizing.max_risk_per_trade * x.equity * (1 + EPS)
    assert x.used_margin + s.margin <= params.sizing.max_margin_util * x.equity * (1 + EPS)
    assert s.notional <= params.brackets.max_notional(d.leverage) * (1 + EPS)
    assert s.margin <= s.margin_requested * (1 + EPS)
    # exchange validity
    r = params.rules
    assert _is_multiple(s.qty, r.qty_step)
    assert s.qty >= r.min_qty and s.qty <= r.max_qty
    assert s.qty * x.entry_price >= r.min_notional * (1 - EPS)
    assert s.notional == pytest.approx(s.qty * x.entry_price)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(decision_cases())
def test_decision_invariants(case: tuple[DecisionInputs, DecisionParams]) -> None:
    inputs, params = case
    _assert_invariants(decide(inputs, params), params)


@settings(max_examples=300, deadline=None)
@given(
    requested=st.floats(1, 125, **finite),
    side=st.sampled_from(Side),
    margin=st.floats(1, 1e6, **finite),
    table=brackets,
    base_sl=st.floats(0.0005, 0.3, **finite),
)
def test_guard_invariant_over_extreme_brackets(
    requested: float, side: Side, margin: float, table: BracketTable, base_sl: float
) -> None:
    params = LevelParams(base_sl=base_sl)
    result = guard_leverage(
        requested,
        side,
        100.0,
        margin,
        lambda lev: compute_levels(LevelInputs(leverage=lev, side=side), params),
        table,
    )
    if result.refused:
        assert result.leverage == 0
        return
    assert result.check is not None
    assert 1 <= result.leverage <= min(80, math.floor(requested + 1e-9))
    assert result.check.sl <= 0.8 * result.check.liquidation_distance + EPS
    assert result.leverage <= table.for_notional(margin * result.leverage).max_leverage


@settings(max_examples=300, deadline=None)
@given(
    leverage=st.floats(1, 125, **finite),
    side=st.sampled_from(Side),
    params=level_params,
    funding=st.floats(-1, 1, **finite),
    divergence=st.floats(0, 5, **finite),
    volatility=st.floats(0, 50, **finite),
)
def test_levels_properties(
    leverage: float,
    side: Side,
    params: LevelParams,
    funding: float,
    divergence: float,
    volatility: float,
) -> None:
    lv = compute_levels(
        LevelInputs(
            leverage=leverage,
            side=side,
            funding_rate=funding,
            exchange_divergence=divergence,
            volatility=volatility,
        ),
        params,
    )
    assert params.tp_floor <= lv.tp1 < lv.tp2 < lv.tp3
    assert params.sl_min <= lv.sl <= params.sl_max
    assert math.isclose(sum(lv.harvest), 1.0)
    assert 0 < lv.lsf <= 1
