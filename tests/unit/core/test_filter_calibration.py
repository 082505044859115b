"""Trade filter (SPEC §4) and confidence calibration + performance adaptations (SPEC §8)."""

from __future__ import annotations

import pytest

from quantum_trader.core.calibration import (
    calibrate_confidence,
    exit_adaptation,
    performance_factor,
)
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.filter import FilterContext, FilterParams, Rejection, filter_signal
from quantum_trader.core.types import Consensus, Side, Signal

TS = 1_700_000_000_000


def _signal(
    conf: float = 0.8, consensus: Consensus = Consensus.STRONG, symbol: str = "BTC"
) -> Signal:
    return Signal(symbol=symbol, side=Side.LONG, confidence=conf, consensus=consensus, ts=TS)


@pytest.mark.parametrize(
    ("signal", "ctx", "rejection"),
    [
        (_signal(), FilterContext(overall_health=79.9), Rejection.HEALTH_OVERALL),
        (_signal(), FilterContext(source_health=69), Rejection.HEALTH_SOURCE),
        (_signal(consensus=Consensus.SPLIT), FilterContext(), Rejection.CONSENSUS),
        (_signal(consensus=Consensus.WEAK), FilterContext(), Rejection.CONSENSUS),
        (_signal(conf=0.64), FilterContext(), Rejection.CONFIDENCE),
        (_signal(conf=0.79), FilterContext(atr_pct=0.051), Rejection.CONFIDENCE_HIGH_VOL),
        (_signal(), FilterContext(kill_switch=True), Rejection.KILL_SWITCH),
        (_signal(), FilterContext(circuit_breaker=True), Rejection.CIRCUIT_BREAKER),
        (_signal(), FilterContext(open_symbols={"A", "B", "C", "D", "E"}), Rejection.MAX_POSITIONS),
        (_signal(), FilterContext(open_symbols={"BTC"}), Rejection.SYMBOL_OPEN),
    ],
)
def test_each_rejection(signal: Signal, ctx: FilterContext, rejection: Rejection) -> None:
    decision = filter_signal(signal, ctx)
    assert not decision.accepted
    assert decision.rejection is rejection
    assert decision.reason


def test_checks_run_in_spec_order() -> None:
    # Everything is wrong: the health gate speaks first, then consensus, then confidence.
    ctx = FilterContext(overall_health=10, kill_switch=True, open_symbols={"BTC"})
    bad = _signal(conf=0.1, consensus=Consensus.WEAK)
    assert filter_signal(bad, ctx).rejection is Rejection.HEALTH_OVERALL
    assert filter_signal(bad, FilterContext(kill_switch=True)).rejection is Rejection.CONSENSUS
    assert (
        filter_signal(_signal(conf=0.1), FilterContext(kill_switch=True)).rejection
        is Rejection.CONFIDENCE
    )


def test_accepts_at_the_thresholds() -> None:
    assert filter_signal(
        _signal(conf=0.65), FilterContext(overall_health=80, source_health=70)
    ).accepted
    assert filter_signal(_signal(conf=0.80), FilterContext(atr_pct=0.06)).accepted
    unanimous = _signal(consensus=Consensus.UNANIMOUS)
    assert filter_signal(unanimous, FilterContext(open_symbols={"ETH"})).accepted


def test_allowed_consensus_is_configurable() -> None:
    params = FilterParams(allowed_consensus=frozenset({Consensus.UNANIMOUS}))
    assert filter_signal(_signal(), FilterContext(), params).rejection is Rejection.CONSENSUS


def test_filter_bad_input() -> None:
    with pytest.raises(InvalidInput, match="overall_health"):
        filter_signal(_signal(), FilterContext(overall_health=float("nan")))
    with pytest.raises(InvalidInput, match="min_confidence"):
        FilterParams(min_confidence=2)


def test_calibration_formula() -> None:
    # model says 0.8, right 60 % of the time: factor 0.75 → 0.8 × (0.7 × 0.75 + 0.3) = 0.66
    c = calibrate_confidence(0.8, accuracy=0.6, resolved=20)
    assert c.applied and c.factor == pytest.approx(0.75)
    assert c.calibrated == pytest.approx(0.66)


def test_calibration_clamps() -> None:
    assert calibrate_confidence(0.9, 1.0, 50).calibrated == 0.95  # 0.97 → 0.95
    assert calibrate_confidence(0.6, 0.1, 50).factor == 0.5  # 0.1667 → 0.5
    assert calibrate_confidence(0.6, 0.1, 50).calibrated == pytest.approx(0.6 * 0.65)
    low = calibrate_confidence(0.05, 0.9, 50)  # below 0.5 the factor is 1, then clamp to 0.1
    assert (low.factor, low.calibrated) == (1.0, 0.1)


def test_calibration_needs_20_resolved_signals() -> None:
    c = calibrate_confidence(0.8, accuracy=0.6, resolved=19)
    assert (c.applied, c.calibrated) == (False, 0.8)
    assert calibrate_confidence(0.8, None, 100).calibrated == 0.8


def test_calibration_bad_input() -> None:
    with pytest.raises(InvalidInput, match="raw_confidence"):
        calibrate_confidence(1.7, 0.5, 30)
    with pytest.raises(InvalidInput, match="accuracy"):
        calibrate_confidence(0.7, float("nan"), 30)
    with pytest.raises(InvalidInput, match="resolved"):
        calibrate_confidence(0.7, 0.5, -1)


def test_performance_factor() -> None:
    assert performance_factor(None, None) == 1.0
    assert performance_factor(0.75, 90) == 1.2
    assert performance_factor(0.59, 90) == 0.7
    assert performance_factor(0.65, 40) == 0.8
    assert performance_factor(0.5, 10) == pytest.approx(0.56)


def test_exit_adaptation() -> None:
    assert exit_adaptation(None, None) == (1.0, 1.0)
    assert exit_adaptation(0.81, 90) == (1.2, 1.0)
    assert exit_adaptation(0.49, 90) == (0.8, 1.0)
    assert exit_adaptation(0.6, 69) == (0.8, 0.8)
    assert exit_adaptation(0.9, 50) == pytest.approx((0.96, 0.8))
