"""The decision is one plan (issue 27): it records the exit adaptation's scales in its levels,
names who chose the size, carries a given leverage and stake through the same guard and caps,
travels on the intent (which refuses a plan that disagrees with it) and survives the journal's
encoding whole."""

from __future__ import annotations

from dataclasses import replace

import pytest

from quantum_trader.core.decision import Decision, DecisionInputs, decide
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.types import Regime, Side
from quantum_trader.store.codec import dumps, loads

X = DecisionInputs(
    side=Side.LONG,
    entry_price=100.0,
    equity=10_000.0,
    confidence=0.8,
    volatility=1.0,
    multiplier=1.2,
    multiplier_source="policy",
    logp=-0.7,
)


def intent_of(d: Decision) -> TradeIntent:
    assert d.prices is not None and d.sizing is not None
    return TradeIntent(
        intent_id="BTCUSDT-1-LONG", ts=1_767_225_600_000, symbol="BTC/USDT:USDT", side=Side.LONG,
        confidence=0.8, entry_price=100.0, stop_loss=d.prices.sl, take_profit=d.prices.tp1,
        margin_usd=d.sizing.margin, leverage=d.leverage, atr_value=0.2, volatility=1.0,
        exchange_divergence=0.0, funding_rate=0.0, regime=Regime.NORMAL, source="builtin",
        reason="test", plan=d,
    )  # fmt: skip


def test_the_levels_record_their_scales() -> None:
    plain, scaled = decide(X), decide(replace(X, tp_scale=0.8, sl_scale=0.8))
    assert plain.levels is not None and scaled.levels is not None
    assert (scaled.levels.tp_scale, scaled.levels.sl_scale) == (0.8, 0.8)
    assert (plain.levels.tp_scale, plain.levels.sl_scale) == (1.0, 1.0)
    assert scaled.levels.tp1 == pytest.approx(plain.levels.tp1 * 0.8)
    assert scaled.levels.sl == pytest.approx(plain.levels.sl * 0.8)


def test_the_size_names_its_source() -> None:
    assert decide(X).multiplier_source == "policy" and decide(X).logp == -0.7
    benched = decide(replace(X, multiplier=1.0, multiplier_source="fixed (policy benched)"))
    assert benched.multiplier_source == "fixed (policy benched)"
    assert decide(replace(X, multiplier=None)).multiplier_source == "fallback"
    assert decide(replace(X, multiplier=None)).logp is None
    probe = decide(replace(X, probe=True))
    assert probe.multiplier_source == "probe" and probe.logp is None  # not the sizer's doing
    stake = decide(replace(X, margin_usd=100.0))
    assert stake.multiplier_source == "fixed stake" and stake.logp is None
    assert stake.sizing is not None and stake.sizing.margin == pytest.approx(100.0, rel=1e-3)


def test_a_given_leverage_replaces_ilf_and_the_guard_still_binds() -> None:
    given = decide(replace(X, leverage=10, margin_usd=100.0))
    assert given.leverage == 10 and given.target_leverage == 10
    assert given.ilf.leverage != 10  # ILFv2 is still computed, for the record
    wild = decide(replace(X, leverage=125, margin_usd=100.0))
    assert wild.leverage <= 80  # max_leverage, then the liquidation guard


def test_an_intent_refuses_a_plan_that_disagrees_with_it() -> None:
    d = decide(X)
    intent = intent_of(d)
    assert intent.plan is d
    with pytest.raises(InvalidInput, match="plan"):
        replace(intent, margin_usd=intent.margin_usd * 2)
    with pytest.raises(InvalidInput, match="plan"):
        replace(intent, leverage=intent.leverage - 1)
    refused = decide(replace(X, equity=1.0))
    assert not refused.accepted
    with pytest.raises(InvalidInput, match="refused plan"):
        replace(intent, plan=refused)


def test_the_plan_survives_the_journal_whole() -> None:
    intent = intent_of(decide(replace(X, tp_scale=0.8)))
    back = loads(TradeIntent, dumps(intent))
    assert back == intent
    assert back.plan is not None and back.plan.levels is not None
    assert back.plan.levels.tp_scale == 0.8
