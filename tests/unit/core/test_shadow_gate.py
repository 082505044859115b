"""Shadow trades and the edge gate: exact outcomes on hand-made candles, the gate's verdicts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quantum_trader.core.exits import ExitParams
from quantum_trader.core.gate import GateAction, GateParams, gate
from quantum_trader.core.levels import Levels
from quantum_trader.core.shadow import ShadowCosts, open_shadow, step
from quantum_trader.core.sizing import MarketRules, SizingInputs, minimum_margin, size_position
from quantum_trader.core.types import Side

T = 1_700_000_000_000
M = 60_000
LV = Levels(10, 1.0, 0.01, 0.02, 0.03, 0.01, (0.4, 0.4, 0.2), 0.01, 0.01, ())
FEES = ShadowCosts(taker_fee=0.0005, maker_fee=0.0002, slippage=0.0)
EXITS = ExitParams(trailing=False, fee_rate=0.0005)


def run(candles, side=Side.LONG, costs=FEES, exits=EXITS):  # type: ignore[no-untyped-def]
    s = open_shadow("k", "X/USDT:USDT", side, 100.0, 10, LV, T, 0.0, costs)
    for i, (o, h, lo, c) in enumerate(candles, start=1):
        s, done = step(s, T + i * M, o, h, lo, c, exits, costs)
        if done is not None:
            return s, done
    return s, None


def test_a_stopped_long_loses_the_stop_distance_and_both_taker_fees() -> None:
    s, done = run([(100.0, 100.2, 98.5, 98.8)])
    assert done == "stop"
    assert s.realised == pytest.approx(-0.0005 - 0.01 - 0.99 * 0.0005, abs=1e-12)


def test_slippage_moves_the_entry_and_the_stop_fill_against_the_trade() -> None:
    costs = ShadowCosts(0.0005, 0.0002, 0.001)
    s, done = run([(100.0, 100.2, 98.5, 98.8)], costs=costs)
    entry = 100.1
    stop_fill = entry * 0.99 * 0.999
    expected = -0.0005 + (stop_fill - entry) / entry - 0.0005 * stop_fill / entry
    assert done == "stop"
    assert s.realised == pytest.approx(expected, abs=1e-12)


def test_tp1_then_the_breakeven_stop() -> None:
    # candle 1 fills TP1 (0.4 at 101); after it the stop moves to 100 × (1 + 2 × 0.0005)
    s, done = run([(100.0, 101.5, 100.0, 101.2), (101.2, 101.3, 99.9, 100.0)])
    assert done == "stop"
    expected = -0.0005 + 0.4 * (0.01 - 1.01 * 0.0002) + 0.6 * (0.001 - 1.001 * 0.0005)
    assert s.realised == pytest.approx(expected, abs=1e-12)


def test_a_tp_leg_and_the_stop_in_one_candle_book_both_legs() -> None:
    # open → high (TP1) → low (the stop, not yet moved) → close: nothing is lost
    s, done = run([(100.0, 101.5, 98.5, 100.0)])
    assert done == "stop"
    expected = -0.0005 + 0.4 * (0.01 - 1.01 * 0.0002) + 0.6 * (-0.01 - 0.99 * 0.0005)
    assert s.realised == pytest.approx(expected, abs=1e-12)
    assert s.state.remaining == 0.0


def test_the_stop_first_when_the_low_comes_first() -> None:
    s, done = run([(100.0, 101.4, 98.9, 100.0)])
    # |h − o| = 1.4 > |o − l| = 1.1: the low comes first, the stop takes the whole position
    assert done == "stop"
    assert s.realised == pytest.approx(-0.0005 - 0.01 - 0.99 * 0.0005, abs=1e-12)


def test_a_gap_through_the_stop_fills_at_the_open() -> None:
    s, done = run([(100.0, 100.1, 99.5, 100.0), (97.0, 97.5, 96.5, 97.2)])
    assert done == "stop"
    assert s.realised == pytest.approx(-0.0005 - 0.03 - 0.97 * 0.0005, abs=1e-12)


def test_all_three_legs_in_one_candle() -> None:
    s, done = run([(100.0, 103.5, 99.8, 103.0)])
    assert done == "tp3"
    legs = 0.4 * (0.01 - 1.01 * 0.0002) + 0.4 * (0.02 - 1.02 * 0.0002)
    assert s.realised == pytest.approx(-0.0005 + legs + 0.2 * (0.03 - 1.03 * 0.0002), abs=1e-12)


def test_a_short_mirrors_a_long() -> None:
    s, done = run([(100.0, 101.5, 99.8, 101.2)], side=Side.SHORT)
    assert done == "stop"
    assert s.realised == pytest.approx(-0.0005 - 0.01 - 1.01 * 0.0005, abs=1e-12)


def test_candles_up_to_the_entry_are_not_walked() -> None:
    s = open_shadow("k", "X/USDT:USDT", Side.LONG, 100.0, 10, LV, T, 0.0, FEES)
    same, done = step(s, T, 100.0, 100.0, 90.0, 95.0, EXITS, FEES)
    assert done is None and same == s


def test_the_loss_guard_closes_at_the_close() -> None:
    exits = ExitParams(trailing=False, loss_guard_roe=-0.05, fee_rate=0.0005)
    # ROE at the close 99.4: −0.6 % × 10 = −6 % ≤ −5 %; the stop (99) is not touched
    s, done = run([(100.0, 100.1, 99.3, 99.4)], exits=exits)
    assert done == "loss_guard"
    assert s.realised == pytest.approx(-0.0005 - 0.006 - 0.994 * 0.0005, abs=1e-12)


@given(st.lists(st.tuples(st.floats(-0.02, 0.02), st.floats(0, 0.02), st.floats(0, 0.02)),
                min_size=1, max_size=80))  # fmt: skip
def test_a_shadow_never_loses_more_than_its_stop_plus_costs_without_gaps(moves) -> None:  # type: ignore[no-untyped-def]
    """No gap (each candle opens at the last close): the stop caps the loss."""
    s = open_shadow("k", "X/USDT:USDT", Side.LONG, 100.0, 10, LV, T, 0.0, FEES)
    close = 100.0
    for i, (d, up, down) in enumerate(moves, start=1):
        c = close * (1 + d)
        s, done = step(s, T + i * M, close, max(close, c) * (1 + up), min(close, c) * (1 - down),
                       c, EXITS, FEES)  # fmt: skip
        close = c
        if done is not None:
            break
    assert s.realised >= -0.01 - 0.0005 - 0.0005 - 1e-12
    assert 0.0 <= s.state.remaining <= 1.0


def test_the_gate_off_trades_everything() -> None:
    v = gate([-0.01] * 50, 0, GateParams(mode="off"))
    assert v.action is GateAction.TRADE and v.edge.trades == 50


def test_probes_first_then_shadows_until_enough_outcomes() -> None:
    p = GateParams(min_trades=30, probe_trades=2)
    assert gate([], 0, p).action is GateAction.PROBE
    assert gate([0.01] * 5, 1, p).action is GateAction.PROBE
    v = gate([0.01] * 29, 2, p)
    assert v.action is GateAction.SHADOW and "30 needed" in v.reason


def test_the_gate_opens_only_on_a_positive_lower_bound() -> None:
    p = GateParams(min_trades=30, probe_trades=0)
    sure = [0.002 + 0.0001 * (i % 3) for i in range(40)]
    assert gate(sure, 0, p).action is GateAction.TRADE
    noisy = [0.05 if i % 2 else -0.049 for i in range(40)]  # mean +5 bp, interval spans 0
    v = gate(noisy, 0, p)
    assert v.edge.mean > 0 and v.edge.low < 0 and v.action is GateAction.SHADOW
    assert gate([-0.001] * 40, 0, p).action is GateAction.SHADOW


def test_only_the_window_counts() -> None:
    p = GateParams(min_trades=30, window=30, probe_trades=0)
    assert gate([-0.01] * 200 + [0.003] * 30, 0, p).action is GateAction.TRADE


def test_a_probe_asks_for_the_exchange_minimum() -> None:
    rules = MarketRules(qty_step=0.001, min_qty=0.001, min_notional=100.0, price_tick=0.1)
    assert minimum_margin(27_000.0, 20, rules) == pytest.approx(0.004 * 27_000 / 20)
    s = size_position(
        SizingInputs(entry_price=27_000.0, leverage=20, sl=0.01, equity=10_000.0, probe=True),
        rules,
    )
    assert s.accepted and s.qty == 0.004 and s.notional == pytest.approx(108.0)


def test_a_probe_is_big_enough_for_every_tp_leg() -> None:
    """BTC on paper: step 0.0001, minimum 5 USDT → 0.0002; legs 0.4/0.4/0.2 need 3 steps."""
    rules = MarketRules(qty_step=0.0001, min_qty=0.0001, min_notional=5.0, price_tick=0.1)
    assert minimum_margin(30_000.0, 10, rules) == pytest.approx(0.0002 * 30_000 / 10)
    harvest = (0.4, 0.4, 0.2)
    assert minimum_margin(30_000.0, 10, rules, harvest) == pytest.approx(0.0003 * 30_000 / 10)
    s = size_position(
        SizingInputs(30_000.0, 10, 0.01, 10_000.0, probe=True, harvest=harvest), rules
    )
    assert s.qty == 0.0003


def test_the_confidence_is_spent_over_the_looks() -> None:
    from quantum_trader.core.gate import look_alpha

    p = GateParams(min_trades=30, confidence=0.9, window=200)
    assert look_alpha(30, p) == pytest.approx(0.1 * 30 / (30 * 31))
    assert look_alpha(5, p) == look_alpha(30, p)  # before min_trades: the first look's
    assert look_alpha(500, p) == look_alpha(200, p)  # a full window keeps the last
    spent = sum(look_alpha(k, p) for k in range(30, 201))
    assert spent == pytest.approx(0.1 * 30 * (1 / 30 - 1 / 201))


def test_without_an_edge_the_gate_rarely_ever_opens_and_a_per_look_bound_often_does() -> None:
    """Seeded simulation: 400 symbols with no edge (iid, mean 0), each looked at after every one
    of 200 outcomes. Spending the confidence over the looks, at most ~10 % ever open; a fixed
    one-sided 90 % bound at every look lets several times as many through."""
    from statistics import NormalDist

    import numpy as np

    p = GateParams(min_trades=30, confidence=0.9, window=200, probe_trades=0)
    rng = np.random.default_rng(7)
    spent = naive = 0
    z = NormalDist().inv_cdf(0.9)
    for _ in range(400):
        r = rng.normal(0.0, 0.01, 200)
        ks = range(30, 201)
        spent += any(gate(r[:k], 0, p).action is GateAction.TRADE for k in ks)
        naive += any(r[:k].mean() - z * r[:k].std(ddof=1) / k**0.5 > 0 for k in ks)
    assert spent / 400 <= 0.12
    assert naive / 400 >= 3 * max(spent, 1) / 400
