"""Each rule's two faces agree (issue 27, item 4): wherever an exit rule acts on a bar, its
``could_act`` flagged that bar; wherever a filter rule passes a signal, its ``could_pass`` let it
through (exactly, for the rules the arrays decide). These properties are what lets the backtester
skip on the rules' word — a rule added with a wrong declaration fails here."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quantum_trader.core.exit_rules import RULES, Bars, Tick, running_peak
from quantum_trader.core.exits import ExitParams, ExitState, build_plan, start
from quantum_trader.core.filter import (
    CONSENSUS_CODES,
    FilterContext,
    FilterParams,
    SignalArrays,
)
from quantum_trader.core.filter import RULES as FILTER_RULES
from quantum_trader.core.levels import LevelInputs, compute_levels
from quantum_trader.core.types import Consensus, Side, Signal

T0 = 1_704_067_200_000


@st.composite
def held(draw: st.DrawFn) -> tuple[ExitState, ExitParams, Bars]:
    side = draw(st.sampled_from(list(Side)))
    leverage = draw(st.integers(1, 50))
    entry = 100.0
    levels = compute_levels(LevelInputs(leverage=leverage, side=side))
    plan = build_plan("BTC/USDT:USDT", side, entry, 10.0, leverage, levels, T0, 0.001, 0.01)
    state = start(plan)
    legs = draw(st.integers(0, 2))
    stop = (
        draw(st.sampled_from([plan.sl_price, entry, plan.tp_prices[0]])) if legs else plan.sl_price
    )
    state = replace(state, legs_done=legs, stop_price=stop, remaining=10.0 - 3.0 * legs)
    params = ExitParams(
        tp_mode=draw(st.sampled_from(["exchange", "internal"])),
        trailing=draw(st.booleans()),
        trail_distance=draw(st.sampled_from([0.0, 0.002, 0.01])),
        loss_guard_roe=draw(st.sampled_from([-0.5, -0.1, -0.02])),
        time_stop_ms=draw(st.sampled_from([0, 30 * 60_000])),
    )
    n = draw(st.integers(1, 40))
    moves = draw(st.lists(st.floats(-0.02, 0.02), min_size=n, max_size=n))
    close = entry * np.cumprod(1.0 + np.asarray(moves))
    wiggle = np.asarray(draw(st.lists(st.floats(0.0, 0.01), min_size=n, max_size=n)))
    high, low = close * (1 + wiggle), close * (1 - wiggle)
    ts = T0 + 60_000 * np.arange(1, n + 1, dtype=np.int64)
    return state, params, Bars(high, low, close, ts, running_peak(side, state.peak, high, low))


@settings(max_examples=300, deadline=None)
@given(held())
def test_every_exit_rule_flags_each_bar_it_acts_on(
    case: tuple[ExitState, ExitParams, Bars],
) -> None:
    state, params, bars = case
    for rule in RULES:
        mask = rule.could_act(state, params, bars)
        if mask is None:
            continue
        for i in range(bars.close.size):
            before = bars.peak[i - 1] if i else state.peak
            seen = replace(state, peak=float(bars.peak[i] if rule.after_peak else before))
            tick = Tick(float(bars.high[i]), float(bars.low[i]), float(bars.close[i]),
                        int(bars.close_ts[i]))  # fmt: skip
            if rule.act(seen, tick, params):
                assert mask[i], (rule.name, i)


consensus = st.sampled_from(list(Consensus))


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from(list(Side)),
    agreed=consensus,
    confidence=st.floats(0.0, 1.0),
    atr_pct=st.floats(0.0, 0.2),
    sides=st.sampled_from(["both", "long", "short"]),
    allowed=st.sets(consensus, min_size=1),
    min_confidence=st.floats(0.0, 1.0),
)
def test_every_filter_rule_lets_through_what_it_passes(
    side: Side, agreed: Consensus, confidence: float, atr_pct: float, sides: str,
    allowed: set[Consensus], min_confidence: float,
) -> None:  # fmt: skip
    p = FilterParams(sides=sides, allowed_consensus=frozenset(allowed),
                     min_confidence=min_confidence)  # fmt: skip
    signal = Signal("BTC/USDT:USDT", side, confidence, agreed, T0)
    ctx = FilterContext(atr_pct=atr_pct)
    arrays = SignalArrays(
        np.array([side.sign], dtype=np.int8),
        np.array([CONSENSUS_CODES.index(agreed.value)], dtype=np.int8),
        np.array([confidence]),
        np.array([atr_pct]),
    )
    for rule in FILTER_RULES:
        mask = rule.could_pass(arrays, p)
        if mask is None:
            continue  # the daemon's state decides: any may pass
        assert bool(mask[0]) == (rule.check(signal, ctx, p) is None), rule.name
