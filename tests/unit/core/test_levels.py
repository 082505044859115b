"""Adaptive TP/SL levels (SPEC §6): check values, modifiers, floors, clamps, harvest, prices."""

from __future__ import annotations

import math

import pytest

from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.levels import (
    LevelInputs,
    LevelParams,
    compute_levels,
    funding_delta,
    harvest_scheme,
    level_prices,
    lsf,
)
from quantum_trader.core.types import Side

CHECK = LevelParams(base_tp=0.01, base_sl=0.005)


def test_spec_check_values_at_20x() -> None:
    lv = compute_levels(LevelInputs(leverage=20), CHECK)
    assert lv.lsf == pytest.approx(0.247248, abs=5e-7)
    assert lv.tp1 == pytest.approx(0.0084725, abs=5e-8)
    assert lv.tp2 == pytest.approx(0.0132362, abs=5e-8)
    assert lv.tp3 == pytest.approx(0.0186181, abs=5e-8)
    assert lv.sl == pytest.approx(0.0080110, abs=5e-8)
    assert lv.bits == ()
    assert lv.harvest == (0.4, 0.4, 0.2)


@pytest.mark.parametrize(
    ("leverage", "scheme"),
    [
        (1, (0.3, 0.3, 0.4)),
        (5, (0.3, 0.3, 0.4)),
        (10, (0.3, 0.3, 0.4)),
        (11, (0.4, 0.4, 0.2)),
        (20, (0.4, 0.4, 0.2)),
        (30, (0.4, 0.4, 0.2)),
        (31, (0.5, 0.3, 0.2)),
        (50, (0.5, 0.3, 0.2)),
        (80, (0.5, 0.3, 0.2)),
    ],
)
def test_harvest_scheme(leverage: int, scheme: tuple[float, float, float]) -> None:
    assert harvest_scheme(leverage) == scheme
    assert math.isclose(sum(scheme), 1.0)


def test_lsf_values() -> None:
    assert lsf(1) == pytest.approx(1 / (1 + math.log(2)))
    assert lsf(20) == pytest.approx(0.24724798, abs=1e-8)


def test_funding_delta_is_signed_in_our_favour_and_clamped() -> None:
    assert funding_delta(Side.LONG, -0.01) == pytest.approx(0.01)  # longs receive
    assert funding_delta(Side.SHORT, -0.01) == pytest.approx(-0.01)  # shorts pay
    assert funding_delta(Side.SHORT, 0.05) == 0.02
    assert funding_delta(Side.LONG, 0.05) == -0.02


def test_funding_modifier_scales_every_tp() -> None:
    base = compute_levels(LevelInputs(leverage=20), CHECK)
    long_gets = compute_levels(LevelInputs(leverage=20, funding_rate=-0.01), CHECK)
    short_pays = compute_levels(
        LevelInputs(leverage=20, side=Side.SHORT, funding_rate=-0.01), CHECK
    )
    capped = compute_levels(LevelInputs(leverage=20, funding_rate=0.05), CHECK)
    for name in ("tp1", "tp2", "tp3"):
        assert getattr(long_gets, name) == pytest.approx(getattr(base, name) * 1.008)
        assert getattr(short_pays, name) == pytest.approx(getattr(base, name) * 0.992)
        assert getattr(capped, name) == pytest.approx(getattr(base, name) * 0.984)
    assert long_gets.sl == base.sl


def test_sl_modifier_from_divergence_and_volatility() -> None:
    base = compute_levels(LevelInputs(leverage=20), CHECK)
    lv = compute_levels(LevelInputs(leverage=20, exchange_divergence=0.1, volatility=1.5), CHECK)
    # × (1 + 0.4 × 0.1 + 0.2 × 0.5) = × 1.14
    assert lv.sl == pytest.approx(base.sl * 1.14)
    stormy = compute_levels(LevelInputs(leverage=20, volatility=9.0), CHECK)
    assert stormy.sl == pytest.approx(base.sl * 1.2)  # vf clamps at 1


def test_tp_floor_keeps_the_ladder_strict() -> None:
    lv = compute_levels(LevelInputs(leverage=20), LevelParams(base_tp=0.001, base_sl=0.005))
    assert lv.tp1 == 0.003
    assert lv.tp1 < lv.tp2 < lv.tp3
    assert {"tp1_floor", "tp2_floor", "tp3_floor", "tp_ladder"} <= set(lv.bits)
    # the ladder keeps the natural spacing ratio tp2/tp1 = (1.2 + LSF/2)/(0.6 + LSF)
    f = lsf(20)
    assert lv.tp2 / lv.tp1 == pytest.approx((1.2 + f / 2) / (0.6 + f))


def test_sl_floor_and_clamps() -> None:
    floored = compute_levels(LevelInputs(leverage=1), LevelParams(base_sl=0.0005))
    assert floored.sl == 0.0015
    assert "sl_floor" in floored.bits
    clamped = compute_levels(LevelInputs(leverage=50), LevelParams(base_sl=0.02))
    assert clamped.sl == 0.02
    assert "sl_clamp_max" in clamped.bits


def test_atr_scaled_bases() -> None:
    params = LevelParams(atr_scaled=True)
    lv = compute_levels(LevelInputs(leverage=20, atr_pct=0.004), params)
    assert (lv.base_tp, lv.base_sl) == pytest.approx((0.012, 0.006))
    with pytest.raises(InvalidInput, match="atr_pct: required"):
        compute_levels(LevelInputs(leverage=20), params)


def test_tp_and_sl_scales_carry_exit_adaptation() -> None:
    base = compute_levels(LevelInputs(leverage=20), CHECK)
    lv = compute_levels(LevelInputs(leverage=20, tp_scale=1.2, sl_scale=0.8), CHECK)
    assert lv.tp2 == pytest.approx(base.tp2 * 1.2)
    assert lv.sl == pytest.approx(base.sl * 0.8)


def test_prices_round_toward_entry() -> None:
    lv = compute_levels(LevelInputs(leverage=20), CHECK)
    long = level_prices(50_000, Side.LONG, lv, tick=0.1)
    assert long.tp1 == 50_423.6  # 50,000 × 1.0084725 = 50,423.62 → down
    assert long.sl == 49_599.5  # 50,000 × 0.991989 = 49,599.45 → up, toward entry
    short = level_prices(50_000, Side.SHORT, lv, tick=0.1)
    assert short.tp1 == 49_576.4  # 49,576.37 → up, toward entry
    assert short.sl == 50_400.5  # 50,400.55 → down, toward entry


@pytest.mark.parametrize("leverage", [0, 0.5, 126, math.nan])
def test_bad_leverage_raises(leverage: float) -> None:
    with pytest.raises(InvalidInput, match="leverage"):
        compute_levels(LevelInputs(leverage=leverage))


def test_bad_params_raise() -> None:
    with pytest.raises(InvalidInput, match="sl_min"):
        LevelParams(sl_min=0.05, sl_max=0.02)
    with pytest.raises(InvalidInput, match="base_tp"):
        LevelParams(base_tp=-0.01)
    with pytest.raises(InvalidInput, match="volatility"):
        compute_levels(LevelInputs(leverage=5, volatility=-1))
