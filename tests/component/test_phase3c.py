"""Phase 3C's consumers change decisions: what the benchmarker measured sizes the margin
(performance-weighted sizing) and spaces the TPs (exit adaptation), visible in the intent, the
levels event and /health's snapshot. Fed through the pipeline's own signal and close paths."""

from __future__ import annotations

from typing import Any

import pytest

from quantum_trader.bus.messages import Features, LevelsEvent, PositionClosed, SignalEvent, Topic
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.types import Consensus, Regime, Side, Signal
from quantum_trader.pipeline import Pipeline, build_pipeline
from quantum_trader.settings import Settings
from tests.component.fakes import ScriptedFeed

SYM, T = "BTC/USDT:USDT", 1_767_225_600_000


def pipeline() -> tuple[Pipeline, list[Any]]:
    p = build_pipeline(Settings(signals={"symbols": (SYM,)}), ScriptedFeed(SYM, [], T))
    p.execution.accepting = False  # the decision is what is under test, not the order
    for module in ("market_data", "signals", "exchange"):
        p.health.ok(module)  # inputs that have delivered: the health gate is open
    seen: list[Any] = []
    p.bus.add_tap(
        lambda topic, m: seen.append(m) if topic in (Topic.INTENT, Topic.LEVELS) else None
    )
    return p, seen


async def decide(p: Pipeline, seen: list[Any]) -> tuple[TradeIntent, LevelsEvent]:
    p.clock.set(T)
    sig = Signal(SYM, Side.LONG, 0.8, Consensus.UNANIMOUS, T)
    await p.strategy.on_signal(SignalEvent(sig, Features(30_000.0, 60.0, 0.002, 1.0, Regime.RANGE)))
    [intent] = [m for m in seen if isinstance(m, TradeIntent)]
    [levels] = [m for m in seen if isinstance(m, LevelsEvent)]
    return intent, levels


def resolve(p: Pipeline, n: int, correct: float) -> None:
    """``n`` traded signals resolved at their horizon, a share ``correct`` of them right (the
    calibrator's record, which the benchmarker reads for the traded signal)."""
    c = p.signals.calibrator
    for k in range(n):
        c.track(SYM, Side.LONG, 100.0, T + k)
        c.resolve(SYM, 101.0 if k < correct * n else 99.0, T + k)


def closed(legs: int) -> PositionClosed:
    return PositionClosed("x", SYM, Side.LONG, 1.0, 100.0, 101.0, 10, 10.0, 1.0, 0.1, 0.0, 0.9,
                          0.09, "tp3" if legs == 3 else "breakeven", legs, T, T)  # fmt: skip


async def test_poor_accuracy_shrinks_the_margin_and_good_accuracy_grows_it() -> None:
    base_p, base_seen = pipeline()
    base, _ = await decide(base_p, base_seen)
    poor_p, poor_seen = pipeline()
    resolve(poor_p, 60, correct=0.5)  # < 60 %: × 0.7
    poor, _ = await decide(poor_p, poor_seen)
    assert poor.margin_usd == pytest.approx(base.margin_usd * 0.7, rel=0.01)
    good_p, good_seen = pipeline()
    resolve(good_p, 60, correct=0.8)  # ≥ 75 %: × 1.2
    good, _ = await decide(good_p, good_seen)
    assert good.margin_usd == pytest.approx(base.margin_usd * 1.2, rel=0.01)
    snap = good_p.signals.benchmark.snapshot()
    assert snap["models"]["ensemble"]["sizing_factor"] == 1.2  # type: ignore[index]


async def test_too_few_resolved_signals_change_nothing() -> None:
    base_p, base_seen = pipeline()
    base, _ = await decide(base_p, base_seen)
    p, seen = pipeline()
    resolve(p, 49, correct=0.0)  # below min_resolved: no adjustment yet
    intent, _ = await decide(p, seen)
    assert intent.margin_usd == base.margin_usd


async def test_a_high_tp_hit_rate_widens_the_take_profits() -> None:
    base_p, base_seen = pipeline()
    _, base_levels = await decide(base_p, base_seen)
    p, seen = pipeline()
    for k in range(20):  # 19 of 20 closed trades reached TP1: > 0.8 → TPs × 1.2
        await p.bus.publish(Topic.POSITION_CLOSED, closed(3 if k else 0))
    _, levels = await decide(p, seen)
    assert levels.levels.tp1 > base_levels.levels.tp1
    assert levels.levels.sl == base_levels.levels.sl  # health is fine: the stop is not tightened
    assert p.signals.benchmark.exit_rates() == {"tp1": 0.95, "tp2": 0.95, "tp3": 0.95, "sl": 0.0}


async def test_the_intent_names_the_models_that_voted_for_it() -> None:
    """Attribution: the models on the trade's side travel intent → opened → closed (and so into
    the backtest's trades.csv and its per-model PnL)."""
    from quantum_trader.core.types import ModelVote, Vote

    p, seen = pipeline()
    p.clock.set(T)
    votes = (
        ModelVote("trend", Vote.LONG, 0.8),
        ModelVote("momentum", Vote.SHORT, 0.7),
        ModelVote("breakout", Vote.LONG, 0.9),
    )
    sig = Signal(SYM, Side.LONG, 0.8, Consensus.STRONG, T, model_votes=votes)
    await p.strategy.on_signal(SignalEvent(sig, Features(30_000.0, 60.0, 0.002, 1.0, Regime.RANGE)))
    [intent] = [m for m in seen if isinstance(m, TradeIntent)]
    assert intent.voters == ("trend", "breakout")


async def test_a_filtered_signal_is_detail_not_a_line_to_watch() -> None:
    """INFO is what a person watches (entries, exits, stops, risk, health): the filter's
    per-decision refusals are DEBUG (the first 90 s paper run wrote 3,959 of its 4,092 lines
    as "filtered" at INFO — issue 31, item 2)."""
    from loguru import logger

    p, _ = pipeline()
    p.clock.set(T)
    lines: list[tuple[str, str]] = []
    sink = logger.add(lambda m: lines.append((m.record["level"].name, m.record["message"])),
                      level="DEBUG")  # fmt: skip
    try:
        sig = Signal(SYM, Side.LONG, 0.3, Consensus.UNANIMOUS, T)  # below min_confidence
        await p.strategy.on_signal(SignalEvent(sig, Features(30_000.0, 60.0, 0.002, 1.0,
                                                             Regime.RANGE)))  # fmt: skip
    finally:
        logger.remove(sink)
    filtered = [level for level, text in lines if "filtered" in text]
    assert filtered == ["DEBUG"]
