"""Binance isolated liquidation price, brackets and the liquidation guard (SPEC §6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.guard import GuardAction, check_liquidation, guard_leverage
from quantum_trader.core.levels import LevelInputs, LevelParams, Levels, compute_levels
from quantum_trader.core.liquidation import (
    DEFAULT_BRACKETS,
    Bracket,
    BracketTable,
    liquidation_distance,
    liquidation_price,
)
from quantum_trader.core.types import Side


def test_spec_binance_example_long() -> None:
    # long 1 BTC at 50,000, 10x → 5,000 margin, mmr 0.004, cum 0:
    # (5,000 + 0 − 50,000) / (0.004 − 1) = 45,180.72
    lp = liquidation_price(Side.LONG, 50_000, 1.0, 5_000, 0.004, 0.0)
    assert lp == pytest.approx(45_180.7229, abs=1e-3)
    assert round(lp) == 45_181


def test_short_mirror_and_maintenance_amount() -> None:
    # (5,000 + 0 + 50,000) / (0.004 + 1) = 54,780.88
    assert liquidation_price(Side.SHORT, 50_000, 1.0, 5_000, 0.004) == pytest.approx(
        54_780.876, 1e-6
    )
    # cum moves a long's liquidation down: (5,000 + 50 − 50,000) / (0.005 − 1) = 45,175.88
    assert liquidation_price(Side.LONG, 50_000, 1.0, 5_000, 0.005, 50) == pytest.approx(
        45_175.879, 1e-6
    )


def test_long_at_1x_can_never_be_liquidated() -> None:
    assert liquidation_price(Side.LONG, 100, 1.0, 100, 0.01) == 0.0


def test_distance_is_about_one_over_leverage_minus_mmr() -> None:
    lp = liquidation_price(Side.LONG, 50_000, 1.0, 5_000, 0.004)
    # exactly (1/L − mmr)/(1 − mmr) for a long without cum
    assert liquidation_distance(Side.LONG, 50_000, lp) == pytest.approx((0.1 - 0.004) / 0.996)


def test_bracket_table_derives_cumulative_amounts() -> None:
    cums = [b.cum for b in DEFAULT_BRACKETS.brackets[:4]]
    # cum_i = cum_{i−1} + floor_i × (mmr_i − mmr_{i−1})
    assert cums == pytest.approx([0.0, 50.0, 950.0, 11_450.0])
    assert DEFAULT_BRACKETS.for_notional(49_999).max_leverage == 125
    assert DEFAULT_BRACKETS.for_notional(50_000).max_leverage == 100
    assert DEFAULT_BRACKETS.for_notional(1e12).max_leverage == 1
    assert DEFAULT_BRACKETS.max_notional(80) == 600_000  # tiers with ≥ 80x: 125x, 100x
    assert DEFAULT_BRACKETS.max_notional(126) == 0.0


def test_bracket_table_rejects_gaps_and_bad_values() -> None:
    with pytest.raises(InvalidInput, match="gap or overlap"):
        BracketTable((Bracket(0, 100, 50, 0.01), Bracket(200, 300, 20, 0.02)))
    with pytest.raises(InvalidInput, match="start at notional 0"):
        BracketTable((Bracket(10, 100, 50, 0.01),))
    with pytest.raises(InvalidInput, match="mmr"):
        Bracket(0, 100, 50, 1.2)


def _levels_for(side: Side = Side.LONG, params: LevelParams | None = None):  # type: ignore[no-untyped-def]
    def at(leverage: int) -> Levels:
        return compute_levels(LevelInputs(leverage=leverage, side=side), params)

    return at


def test_guard_passes_a_safe_leverage() -> None:
    result = guard_leverage(13, Side.LONG, 50_000, 168.2, _levels_for(), DEFAULT_BRACKETS)
    assert result.action is GuardAction.PASS
    assert result.leverage == 13
    assert result.check is not None and result.check.safe


def test_guard_lowers_just_enough() -> None:
    # Default levels at 80x put the stop beyond 0.8 × the liquidation distance.
    result = guard_leverage(80, Side.LONG, 50_000, 200, _levels_for(), DEFAULT_BRACKETS)
    assert result.action is GuardAction.LOWERED
    assert result.requested == 80 and result.after_bracket == 80
    assert 1 <= result.leverage < 80
    assert result.check is not None
    assert result.check.sl <= 0.8 * result.check.liquidation_distance
    one_more = result.leverage + 1
    above = check_liquidation(
        Side.LONG, 50_000, 200, one_more, _levels_for()(one_more).sl, DEFAULT_BRACKETS
    )
    assert not above.safe, "the guard lowered further than it needed to"
    assert "liq distance" in result.reason


def test_guard_clamps_to_the_bracket_for_the_intended_notional() -> None:
    table = BracketTable.from_tiers([(1_000, 20, 0.01), (1e12, 10, 0.02)])
    result = guard_leverage(13, Side.LONG, 200, 200, _levels_for(), table)
    # 200 margin × 13 = 2,600 notional → second tier → at most 10x
    assert result.after_bracket == 10
    assert result.leverage == 10
    assert result.action is GuardAction.LOWERED
    assert "bracket allows 10x" in result.reason


def test_guard_clamps_requests_above_max_leverage() -> None:
    result = guard_leverage(125, Side.LONG, 50_000, 10, _levels_for(), BracketTable.single(125, 0))
    assert result.requested == 80


def test_guard_refuses_when_even_1x_is_unsafe() -> None:
    # A short at 1x with mmr 0.98 is liquidated after a 1.01 % rise: (1 − mmr)/(1 + mmr).
    table = BracketTable.single(125, 0.98)
    short = guard_leverage(5, Side.SHORT, 100, 200, _levels_for(Side.SHORT), table)
    assert short.action is GuardAction.REFUSED
    assert short.leverage == 0 and short.levels is None
    assert short.reason.startswith("refused: even at 1x")
    long = guard_leverage(5, Side.LONG, 100, 200, _levels_for(Side.LONG), table)
    assert long.leverage == 1  # a 1x long cannot be liquidated


def test_stop_price_sits_before_the_liquidation_price() -> None:
    result = guard_leverage(50, Side.SHORT, 30_000, 200, _levels_for(Side.SHORT), DEFAULT_BRACKETS)
    assert result.check is not None and result.levels is not None
    stop_price = 30_000 * (1 + result.levels.sl)
    assert stop_price < result.check.liquidation_price


def test_guard_bad_input() -> None:
    with pytest.raises(InvalidInput, match="requested_leverage"):
        guard_leverage(0, Side.LONG, 100, 10, _levels_for(), DEFAULT_BRACKETS)
    with pytest.raises(InvalidInput, match="margin_usd"):
        guard_leverage(10, Side.LONG, 100, -1, _levels_for(), DEFAULT_BRACKETS)
    with pytest.raises(InvalidInput, match="entry_price"):
        guard_leverage(10, Side.LONG, float("nan"), 10, _levels_for(), DEFAULT_BRACKETS)


def test_the_tier_is_the_one_at_the_liquidation_price() -> None:
    """Binance recomputes with the bracket of the notional *at the liquidation price* (issue 28,
    item 14): short 1 BTC @ 49,000 with 4,900 of wallet opens in the first tier (< 50,000:
    mmr 0.4 %), but at its liquidation price the notional is in the second (mmr 0.5 %, cum 50):
    (4,900 + 50 + 49,000) / 1.005 = 53,681.59, not the entry tier's 53,685.26 — the less
    conservative side for a short."""
    from quantum_trader.core.liquidation import DEFAULT_BRACKETS, tiered_liquidation_price

    lp, bracket = tiered_liquidation_price(Side.SHORT, 49_000, 1.0, 4_900, DEFAULT_BRACKETS)
    assert lp == pytest.approx(53_681.59, abs=0.01)
    assert (bracket.mmr, bracket.cum) == (0.005, 50.0)
    # a long's liquidation price is below entry: a lower tier where it lands there too
    lp, bracket = tiered_liquidation_price(Side.LONG, 51_000, 1.0, 5_100, DEFAULT_BRACKETS)
    assert bracket.mmr == 0.004 and lp == pytest.approx((5_100 - 51_000) / (0.004 - 1), abs=0.01)
    # inside one tier it is the plain formula
    lp, _ = tiered_liquidation_price(Side.LONG, 50_000 / 2, 1.0, 2_500, DEFAULT_BRACKETS)
    assert lp == pytest.approx(liquidation_price(Side.LONG, 25_000, 1.0, 2_500, 0.004))


@given(
    side=st.sampled_from(list(Side)),
    entry=st.floats(10.0, 100_000.0),
    qty=st.floats(0.001, 50.0),
    leverage=st.integers(1, 125),
)
def test_the_tiered_price_sits_in_its_own_tier(
    side: Side, entry: float, qty: float, leverage: int
) -> None:
    from quantum_trader.core.liquidation import DEFAULT_BRACKETS, tiered_liquidation_price

    lp, bracket = tiered_liquidation_price(side, entry, qty, entry * qty / leverage,
                                           DEFAULT_BRACKETS)  # fmt: skip
    if lp > 0:
        assert DEFAULT_BRACKETS.for_notional(lp * qty) == bracket
