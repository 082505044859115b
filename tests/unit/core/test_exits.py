"""The exit state machine: legs, ratchet, trailing, loss guard, time stop, internal checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quantum_trader.core.exit_rules import on_tick
from quantum_trader.core.exits import (
    ActionKind,
    ExitParams,
    apply_stop,
    breakeven_price,
    build_plan,
    on_leg_filled,
    split_legs,
    start,
)
from quantum_trader.core.levels import LevelInputs, compute_levels
from quantum_trader.core.types import Side

T = 1_704_067_200_000


def plan(side: Side = Side.LONG, lev: int = 10):  # type: ignore[no-untyped-def]
    levels = compute_levels(LevelInputs(leverage=lev, side=side))
    return build_plan("BTC/USDT:USDT", side, 100.0, 10.0, lev, levels, T, 0.001, 0.01)


def test_split_legs_sum_to_the_position() -> None:
    assert split_legs(10.0, (0.3, 0.3, 0.4), 0.001) == (3.0, 3.0, 4.0)
    assert split_legs(0.007, (0.4, 0.4, 0.2), 0.001) == (0.002, 0.002, 0.003)
    assert split_legs(0.001, (0.4, 0.4, 0.2), 0.001) == (0.0, 0.0, 0.001)
    q = split_legs(1.234, (0.5, 0.3, 0.2), 0.001)
    assert sum(q) == pytest.approx(1.234)


def test_plan_prices_follow_the_fill() -> None:
    p = plan()
    assert p.tp_prices == (101.34, 102.02, 102.81)  # 100 × (1 + 1.34145/2.02073/2.81036 %)
    assert p.sl_price == 98.91  # 100 × (1 − 1.09519 %) = 98.905 → up, toward entry
    assert p.leg_qtys == (3.0, 3.0, 4.0) and p.margin == 100.0


def test_breakeven_covers_round_trip_fees() -> None:
    assert breakeven_price(plan(), 0.0005) == 100.1
    assert breakeven_price(plan(Side.SHORT), 0.0005) == 99.9


def test_tp1_moves_stop_to_breakeven_or_closes_when_price_is_through_it() -> None:
    params = ExitParams()
    s, actions = on_leg_filled(start(plan()), 3.0, 101.34, params)
    assert s.remaining == 7.0 and s.legs_done == 1
    assert actions[0].kind is ActionKind.MOVE_STOP and actions[0].price == 100.1
    _, through = on_leg_filled(start(plan()), 3.0, 100.05, params)  # price fell back already
    assert through[0].kind is ActionKind.CLOSE and through[0].reason == "breakeven_at_market"


def test_tp2_moves_stop_to_tp1() -> None:
    params = ExitParams()
    s, _ = on_leg_filled(start(plan()), 3.0, 101.34, params)
    s = apply_stop(s, 100.1)
    s, actions = on_leg_filled(s, 3.0, 102.02, params)
    assert actions[0].price == 101.34 and actions[0].reason == "stop_to_tp1"


def test_internal_stop_checks_the_last_price_only() -> None:
    s = start(plan())
    _, actions = on_tick(s, 101.0, 98.0, 99.5, T, ExitParams())  # low pierced, last did not
    assert actions == []
    _, actions = on_tick(s, 99.0, 98.0, 98.5, T, ExitParams())
    assert actions[0].reason == "stop_internal"


def test_loss_guard_on_roe() -> None:
    s = start(plan(lev=50))
    # 50x: a 1 % fall is −50 % ROE → close; the plan's stop is further away than that here
    s = apply_stop(s, 90.0)
    _, actions = on_tick(s, 100.0, 99.0, 99.0, T, ExitParams(loss_guard_roe=-0.5))
    assert actions[0].kind is ActionKind.CLOSE and actions[0].reason == "loss_guard"


def test_time_stop() -> None:
    params = ExitParams(time_stop_ms=3_600_000)
    _, early = on_tick(start(plan()), 100.5, 99.5, 100.0, T + 3_599_999, params)
    _, late = on_tick(start(plan()), 100.5, 99.5, 100.0, T + 3_600_000, params)
    assert early == [] and late[0].reason == "time_stop"


def test_trailing_only_runs_the_last_leg() -> None:
    params = ExitParams()
    s = start(plan())
    s, actions = on_tick(s, 101.0, 100.0, 100.8, T, params)
    assert actions == []  # no trailing before TP2
    s, _ = on_leg_filled(s, 3.0, 101.34, params)
    s, _ = on_leg_filled(apply_stop(s, 100.1), 3.0, 102.02, params)
    s = apply_stop(s, 101.34)
    s, actions = on_tick(s, 103.5, 102.5, 103.0, T, params)
    # peak 103.5 × (1 − 1.09519 %) = 102.366 → 102.37, tighter than 101.34
    assert actions[0].kind is ActionKind.MOVE_STOP and actions[0].price == 102.37


def test_internal_tp_mode_closes_legs_at_market() -> None:
    params = ExitParams(tp_mode="internal")
    _, actions = on_tick(start(plan()), 101.5, 100.0, 101.2, T, params)
    assert actions[0].kind is ActionKind.CLOSE_PARTIAL and actions[0].leg == 1
    assert actions[0].qty == 3.0


def test_bad_ticks_raise() -> None:
    from quantum_trader.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="high"):
        on_tick(start(plan()), 99.0, 100.0, 99.5, T, ExitParams())
    with pytest.raises(InvalidInput, match="last"):
        on_tick(start(plan()), 101.0, 99.0, float("nan"), T, ExitParams())
    with pytest.raises(InvalidInput, match="tp_mode"):
        ExitParams(tp_mode="sometimes")


@settings(max_examples=200, deadline=None)
@given(side=st.sampled_from(Side), moves=st.lists(st.floats(-0.03, 0.03), min_size=1, max_size=60))
def test_the_stop_only_ever_tightens(side: Side, moves: list[float]) -> None:
    params = ExitParams(loss_guard_roe=-10.0)
    s = start(plan(side))
    s, _ = on_leg_filled(s, 3.0, s.plan.tp_prices[0], params)
    s, _ = on_leg_filled(s, 3.0, s.plan.tp_prices[1], params)
    price = s.plan.tp_prices[1]
    for move in moves:
        price *= 1 + move
        before = s.stop_price
        s, actions = on_tick(s, price * 1.001, price * 0.999, price, T, params)
        for a in actions:
            if a.kind is ActionKind.MOVE_STOP:
                assert (a.price > before) if side is Side.LONG else (a.price < before)
                s = apply_stop(s, a.price)
        if any(a.kind is ActionKind.CLOSE for a in actions):
            break
