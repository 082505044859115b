"""Run a backtest: recorded candles through the daemon's own pipeline (paper exchange, signals,
filter, ILFv2, levels + guard, sizing, execution, exit manager, sizer) on the deterministic bus,
recorded and measured. No decision is re-implemented here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from quantum_trader.backtest.fastforward import FastForward, RankVolatilities
from quantum_trader.backtest.metrics import Metrics, compute
from quantum_trader.backtest.precompute import (
    DEFAULT_MODELS,
    Timeline,
    TimelineCalibrator,
    decision_series,
    timeline,
)
from quantum_trader.backtest.recorder import Recorder
from quantum_trader.core.ensemble import EnsembleSeries
from quantum_trader.core.features import wilder_atr
from quantum_trader.core.models import Bars, SignalModel, models_series
from quantum_trader.core.shadow import ShadowOutcome
from quantum_trader.feeds.loader import CandleSeries, FundingSeries
from quantum_trader.feeds.replay import ReplayFeed
from quantum_trader.pipeline import Pipeline, Simulation, build_pipeline, decision_ms
from quantum_trader.settings import TIMEFRAME_MS, Settings
from quantum_trader.signals.plugins import load_models
from quantum_trader.signals.reference import Reference
from quantum_trader.sizing.factory import make_sizer
from quantum_trader.sizing.sizer import Sizer


def whole_series_ensemble(
    s: CandleSeries, models: tuple[SignalModel, ...] = DEFAULT_MODELS
) -> EnsembleSeries:
    """The models over the whole series at once (vectorised; equal to the daemon's windows)."""
    atr_pct = wilder_atr(s.high, s.low, s.close) / s.close
    return models_series(models, Bars(s.open, s.high, s.low, s.close, s.volume, atr_pct))


#: min_resolved, keep, method, min_bin, prior, decide_ms, model names
Depends = tuple[int, int, str, int, float, int, tuple[str, ...]]


def timeline_depends(settings: Settings, models: tuple[SignalModel, ...]) -> Depends:
    """What a fast backtest's timeline depends on besides the candles: the calibration settings,
    the decision timeframe, the models (by name, last) — ``timeline``'s arguments after the
    series, in its order. Runs that agree on these share one timeline (a sweep's trials)."""
    c = settings.calibration
    decide_ms = TIMEFRAME_MS.get(settings.signals.decision_timeframe, 0)
    names = tuple(m.name for m in models)
    return (c.min_resolved, c.window, c.method, c.min_bin, c.prior, decide_ms, names)


def timeline_of(
    series: Sequence[CandleSeries], depends: Depends, models: tuple[SignalModel, ...]
) -> Timeline:
    """The timeline of ``series`` under ``depends`` (from :func:`timeline_depends`)."""
    return timeline(series, *depends[:6], models)


@dataclass
class BacktestRun:
    metrics: Metrics
    recorder: Recorder
    pipeline: Pipeline
    skipped: int = 0  # events stepped over (fast runs)
    skipped_held: int = 0  # of them, while a position or a shadow trade was open


async def run_backtest(
    settings: Settings,
    series: Sequence[CandleSeries],
    funding: dict[str, FundingSeries],
    rl_dir: Path,
    on_bar: Callable[[int], None] | None = None,
    fast: bool = True,
    reference: Reference | None = None,
    sizer: Sizer | None = None,
    edge_history: list[ShadowOutcome] | None = None,
    timelines: dict[tuple[object, ...], Timeline] | None = None,
) -> BacktestRun:
    """``fast``: step over quiet stretches (:mod:`fastforward`); the trades are the same as
    delivering every candle (``fast=False``), which a test checks. ``edge_history``: the edge
    gate starts from these shadow outcomes and appends its own (walk-forward carries them).
    ``timelines``: precomputed timelines kept across runs on the same ``series`` objects (a
    sweep's trials in one worker): the timeline depends on the candles and on the calibration and
    decision settings only, so trials that vary anything else share it; it is only read."""
    feed = ReplayFeed(series, speed=None, funding=funding)
    models = load_models(settings.signals.models)
    sim, tl = Simulation(reference=reference, edge_history=edge_history), None
    if fast and settings.signals.source == "builtin":
        depends = timeline_depends(settings, models)
        key = (tuple(id(s) for s in series), *depends)
        tl = timelines.get(key) if timelines is not None else None
        if tl is None:
            tl = timeline_of(series, depends, models)
            if timelines is not None:
                timelines[key] = tl
        sim = replace(
            sim,
            precomputed={c.series.symbol: c.ensemble for c in tl.calls},
            calibrator=TimelineCalibrator(
                tl, settings.calibration.min_resolved, settings.calibration.window
            ),
            volatilities=RankVolatilities(tl),
        )
    else:
        decide_ms = decision_ms(settings, series[0].timeframe_ms if series else None)
        sim = replace(
            sim,
            precomputed={
                s.symbol: whole_series_ensemble(decision_series(s, decide_ms)[0], models)
                for s in series
            },
        )
    p = build_pipeline(
        settings, feed, sizer=sizer or make_sizer(settings, rl_dir), sim=sim, models=models
    )
    assert p.paper is not None  # noqa: S101 - a backtest always runs on the paper exchange
    recorder = Recorder(p.bus, p.paper, on_bar)
    started = time.perf_counter()  # set-up (imports, sizer) excluded: bars/s measures the run
    if tl is not None:
        ff = FastForward(p, recorder, tl, settings, funding)
        await ff.run()
        skipped = (ff.skipped, ff.skipped_held)
    else:
        skipped = (0, 0)
        await p.feed.run()
    wall = time.perf_counter() - started
    metrics = compute(
        recorder.equity,
        recorder.ts,
        recorder.exposed,
        recorder.trades,
        p.paper.engine.liquidations,
        p.feed.candles,
        wall,
        recorder.trips,
        p.invariants.count,
        recorder.worst_loss_of_equity,
        recorder.max_margin_util,
        _edge(p),
    )
    return BacktestRun(metrics, recorder, p, *skipped)


def _edge(p: Pipeline) -> dict[str, Any]:
    gate = p.strategy.edge
    if gate is None:
        return {}
    return {
        "mode": gate.params.mode,
        "decisions": dict(gate.actions),
        "shadow_trades": gate.closed,
        "symbols": gate.status(),
    }


T = TypeVar("T")


def on_stdlib_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the standard library's event loop, whatever this process's policy is. A Ray
    worker installs uvloop's, whose libuv gives every new loop — a trial's — an io_uring with a
    kernel thread polling it: ~15 % of a core beside each trial, taken from the other worker's
    core when a worker runs on each (its trials were ~40 % slower). ``qtrader backtest`` and a
    sweep's trials both run here."""
    with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
        return runner.run(coro)
