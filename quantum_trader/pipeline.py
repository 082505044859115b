"""Builds the trading pipeline of SPEC §0 on one bus: every service, subscribed in one place.

The daemon (``app.py``) adds the lifecycle around it; component tests drive it directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from loguru import logger

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import (
    CandleEvent,
    HealthAlert,
    LevelsEvent,
    OrderEvent,
    PnlExperience,
    PositionClosed,
    PositionOpened,
    PriceTick,
    SignalEvent,
    Topic,
)
from quantum_trader.core.admission import Limits
from quantum_trader.core.buckets import ratio
from quantum_trader.core.edge import parse_trade_intent
from quantum_trader.core.ensemble import EnsembleSeries
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.exits import ExitParams
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.models import SignalModel
from quantum_trader.core.risk import RiskGuard, RiskTrip
from quantum_trader.core.shadow import ShadowOutcome
from quantum_trader.core.types import Fill
from quantum_trader.exchange.base import Exchange
from quantum_trader.exchange.monitored import monitored
from quantum_trader.exchange.paper import PaperExchange
from quantum_trader.exchange.paper_rules import PaperConfig
from quantum_trader.execution.book import Book
from quantum_trader.execution.exits import ExitManager
from quantum_trader.execution.invariants import InvariantWatch
from quantum_trader.execution.ledger import Ledger
from quantum_trader.execution.risk_service import RiskService
from quantum_trader.execution.service import ExecutionService
from quantum_trader.feeds.base import Feed
from quantum_trader.feeds.service import FeedService
from quantum_trader.monitoring.metrics import Metrics
from quantum_trader.params import (
    decision_params,
    filter_params,
    gate_params,
    shadow_costs,
    wall_clock,
)
from quantum_trader.runtime.clock import SimClock, WallClock
from quantum_trader.runtime.fatal import FatalLatch
from quantum_trader.runtime.health import HealthMonitor
from quantum_trader.settings import TIMEFRAME_MS, ConfigError, Settings
from quantum_trader.signals.calibrator import Calibrator
from quantum_trader.signals.edge_gate import EdgeGate
from quantum_trader.signals.http_source import HttpSignalSource
from quantum_trader.signals.plugins import load_models
from quantum_trader.signals.reference import Reference
from quantum_trader.signals.service import SignalService
from quantum_trader.signals.strategy import StrategyService
from quantum_trader.sizing.sizer import FallbackSizer, Sizer
from quantum_trader.store.journal import Journal

log = logger.bind(component="pipeline")


@dataclass(frozen=True, slots=True)
class Simulation:
    """What a backtest hands the pipeline instead of computing it live: the ensemble over each
    whole series, the calibrator answered from the precomputed timeline, every symbol's ATR % at
    the event being delivered (the volatility rank), a reference venue from a file, and the edge
    gate's shadow outcomes carried across walk-forward windows (appended to)."""

    precomputed: dict[str, EnsembleSeries] | None = None
    calibrator: Calibrator | None = None
    volatilities: Callable[[], Mapping[str, float]] | None = None
    reference: Reference | None = None
    edge_history: list[ShadowOutcome] | None = None


def decision_ms(settings: Settings, feed_ms: int | None) -> int:
    """``signals.decision_timeframe`` in ms (0: the feed's own), checked against the feed's."""
    decide = TIMEFRAME_MS.get(settings.signals.decision_timeframe, 0)
    if decide and feed_ms:
        try:
            ratio(decide, int(feed_ms))
        except InvalidInput as exc:
            raise ConfigError(str(exc)) from None
    return decide


@dataclass
class Pipeline:
    settings: Settings
    bus: Bus
    exchange: Exchange
    paper: PaperExchange | None
    clock: SimClock
    book: Book
    health: HealthMonitor
    sizer: Sizer
    feed: FeedService
    signals: SignalService
    strategy: StrategyService
    execution: ExecutionService
    exits: ExitManager
    ledger: Ledger
    invariants: InvariantWatch
    risk: RiskService
    fatal: FatalLatch
    metrics: Metrics
    wall: WallClock  # live: the real clock (the fake exchange's may run fast)


def paper_exchange(settings: Settings) -> PaperExchange:
    p = settings.paper
    params = decision_params(settings)
    return PaperExchange(
        PaperConfig(
            starting_balance=p.starting_balance,
            taker_fee=p.taker_fee,
            maker_fee=p.maker_fee,
            slippage=p.slippage,
            default_rules=params.rules,
            brackets=params.brackets,
        )
    )


def admission_limits(settings: Settings) -> Limits:
    return Limits(settings.risk.max_positions, decision_params(settings).sizing)


def exit_params(settings: Settings) -> ExitParams:
    e = settings.exits
    return ExitParams(
        tp_mode=e.tp_mode,
        trailing=e.trailing,
        trail_distance=e.trail_distance,
        loss_guard_roe=e.loss_guard_roe,
        time_stop_ms=int(e.time_stop_minutes * 60_000),
        fee_rate=settings.paper.taker_fee,
        on_signal=e.on_signal,
        predictive=e.predictive,
    )


def register_topics(bus: Bus, symbols: frozenset[str]) -> None:
    types: dict[Topic, type[Any]] = {
        Topic.CANDLE: CandleEvent,
        Topic.PRICE: PriceTick,
        Topic.SIGNAL: SignalEvent,
        Topic.LEVELS: LevelsEvent,
        Topic.ORDER_SUBMITTED: OrderEvent,
        Topic.ORDER_REJECTED: OrderEvent,
        Topic.ORDER_CANCELLED: OrderEvent,
        Topic.ORDER_FILLED: Fill,
        Topic.POSITION_OPENED: PositionOpened,
        Topic.POSITION_CLOSED: PositionClosed,
        Topic.PNL: PnlExperience,
        Topic.RISK_TRIPPED: RiskTrip,
        Topic.HEALTH_ALERT: HealthAlert,
    }
    for topic, payload in types.items():
        bus.register(topic, payload)
    bus.register(Topic.INTENT, TradeIntent, lambda raw: parse_trade_intent(raw, symbols))


def build_pipeline(
    settings: Settings,
    feed: Feed,
    exchange: Exchange | None = None,
    sizer: Sizer | None = None,
    journal: Journal | None = None,
    sim: Simulation | None = None,
    models: tuple[SignalModel, ...] | None = None,
) -> Pipeline:
    bus = Bus(inline=feed.simulated)  # simulated time: deterministic depth-first delivery
    if exchange is None:
        exchange = paper_exchange(settings)
    paper = exchange if isinstance(exchange, PaperExchange) else None
    # live: a closed candle is due every timeframe, seen within a few polls of closing
    candle_s = getattr(feed, "timeframe_ms", 0) / 1000
    live_stale = candle_s + 3 * settings.feed.poll_seconds
    stale = 30.0 if feed.simulated else live_stale
    streams = not feed.simulated and hasattr(exchange, "note_price") and settings.exchange.streams
    stall = settings.exchange.stream_stall_seconds
    reference = bool(settings.reference.exchange) and not feed.simulated
    extra = {**({"streams": 0.1} if streams else {}), **({"reference": 0.05} if reference else {})}
    health = HealthMonitor(  # signals come per candle; streams (live) a mark price a second
        {
            "market_data": stale,
            "signals": stale,
            "streams": 3 * stall,
            "reference": settings.reference.stale_seconds,
        },
        extra or None,
    )
    if journal is not None:  # a journal the disk refuses: CRITICAL, no entries, exits go on
        journal.on_fault(lambda reason: health.fault("journal", reason))
    fatal = FatalLatch()
    metrics = Metrics()
    ex = monitored(exchange, health, fatal.trip, metrics.observe_exchange)
    clock = SimClock()
    wall = wall_clock(settings)
    book = Book()
    sizer = sizer or FallbackSizer("no sizer configured")
    params = decision_params(settings)
    register_topics(bus, frozenset(feed.symbols))
    r = settings.risk
    risk = RiskGuard(
        r.daily_loss_limit,
        r.circuit_breaker_drawdown,
        int(r.circuit_breaker_cooldown_minutes * 60_000),
        r.max_drawdown,
        int(r.peak_window_days * 86_400_000),
        flatten=r.on_limit == "flatten",
    )
    invariants = InvariantWatch(book)
    sim = sim or Simulation()
    sig = settings.signals
    external = (
        HttpSignalSource(sig.http_url, sig.http_timeout_seconds) if sig.source == "http" else None
    )
    timeframe_ms = getattr(feed, "timeframe_ms", None)
    decide_ms = decision_ms(settings, timeframe_ms)
    signals = SignalService(
        bus,
        health,
        sim.calibrator or calibrator(settings),
        settings.feed.volatility_days,
        external,
        sig.timeframe,
        sig.force_confidence,
        sim.precomputed,
        models=models if models is not None else load_models(sig.models),
        decide_ms=decide_ms,
        reference=sim.reference or live_reference(settings, feed, health),
    )
    live_age = None if feed.simulated or timeframe_ms is None else 2 * int(timeframe_ms)
    # the shadows' outcomes: carried from window to window (walk-forward), or journaled
    history = sim.edge_history
    save = history.append if history is not None else journal.record_shadow if journal else None
    edge = EdgeGate(gate_params(settings), shadow_costs(settings), exit_params(settings), save)
    if history is not None:
        edge.load(list(history))
    elif journal is not None:
        edge.load(journal.shadow_outcomes())
    ledger = Ledger(journal)
    by_rank = settings.leverage.symbol_risk_from == "volatility_rank"
    strategy = StrategyService(
        bus,
        ex,
        book,
        health,
        sizer,
        risk,
        clock,
        filter_params(settings),
        params,
        live_age,
        wall,
        benchmark=signals.benchmark,
        edge=edge,
        symbol_risk=settings.leverage.symbol_risk,
        volatilities=(sim.volatilities or signals.volatilities) if by_rank else None,
        # backtests keep no journal: nothing to build the record for
        record=ledger.decision if journal is not None else None,
    )
    exits = ExitManager(bus, ex, book, health, clock, exit_params(settings), ledger, live_age, wall)
    execution = ExecutionService(
        bus,
        ex,
        book,
        health,
        clock,
        params,
        tp_on_exchange=settings.exits.tp_mode == "exchange",
        ledger=ledger,
        limits=admission_limits(settings),
        risk=risk,
        book_close=exits.book_close,
    )
    # one candle's fills are booked before any is acted on (the queued bus: as they come)
    settling = exits.settling if bus.inline else None
    feed_service = FeedService(feed, bus, health, paper, clock, invariants, settling)
    fatal.on_trip.append(lambda: setattr(strategy, "accepting", False))
    fatal.on_trip.append(lambda: setattr(execution, "accepting", False))

    risk_service = RiskService(bus, ex, book, risk, clock, journal, live_age, wall)
    exit_topics = [
        Topic.ORDER_FILLED,
        Topic.CANDLE,
        Topic.SIGNAL,  # before the strategy: a signal exit frees the symbol for its entry
        Topic.PRICE,
        Topic.RISK_TRIPPED,
        Topic.HEALTH_ALERT,
    ]
    bus.subscribe("exits", exit_topics, exits.on_message)
    bus.subscribe("risk", Topic.CANDLE, risk_service.on_candle)  # before the signals read it
    bus.subscribe("edge", Topic.CANDLE, edge.on_candle)  # shadows move before the next decision
    bus.subscribe("signals", Topic.CANDLE, signals.on_candle)
    bus.subscribe("strategy", Topic.SIGNAL, strategy.on_signal)
    bus.subscribe("execution", Topic.INTENT, execution.on_intent)
    bus.subscribe("sizer", Topic.PNL, sizer.learn)
    bus.subscribe("benchmark", Topic.POSITION_CLOSED, _benchmark_exits(bus, signals))
    if journal is not None:
        bus.subscribe("journal", Topic.PNL, _journal_experience(ledger))
    return Pipeline(
        settings,
        bus,
        ex,
        paper,
        clock,
        book,
        health,
        sizer,
        feed_service,
        signals,
        strategy,
        execution,
        exits,
        ledger,
        invariants,
        risk_service,
        fatal,
        metrics,
        wall,
    )


def calibrator(settings: Settings) -> Calibrator:
    c = settings.calibration
    return Calibrator(c.min_resolved, c.window, c.method, c.min_bin, c.prior)


def live_reference(settings: Settings, feed: Feed, health: HealthMonitor) -> Any:
    """Live and paper-live with ``reference.exchange``: the venue's public tickers, polled (its
    task is the app's, as ``Pipeline.reference``); the signal service reads it for the
    divergence. None otherwise."""
    r = settings.reference
    if not r.exchange or feed.simulated:
        return None
    import ccxt.async_support as ccxt_async  # public data only: no keys

    from quantum_trader.signals.reference import LiveReference

    klass = getattr(ccxt_async, r.exchange, None)
    if klass is None:
        raise ConfigError(f"reference.exchange = {r.exchange!r} is not a ccxt exchange id")
    symbols = {s: r.symbols.get(s, s) for s in feed.symbols}
    return LiveReference(
        klass({"enableRateLimit": True}), symbols, health, r.poll_seconds, r.stale_seconds
    )


def live_streams(p: Pipeline, exchange: Exchange | None) -> Any:
    """Live on Binance: the mark-price and user-data websockets (``exchange.streams``); None
    elsewhere (paper, backtests) or when they are turned off."""
    if exchange is None or not hasattr(exchange, "note_price") or not p.settings.exchange.streams:
        return None
    from quantum_trader.exchange.binance_streams import BinanceStreams  # ccxt: live only

    async def on_price(symbol: str, price: float, ts: int) -> None:
        await p.bus.publish(Topic.PRICE, PriceTick(symbol, price, ts))

    async def on_fill(fill: Fill) -> None:
        await p.bus.publish(Topic.ORDER_FILLED, fill)

    return BinanceStreams(
        cast(Any, exchange),
        tuple(p.feed.feed.symbols),
        on_price,
        p.health,
        p.fatal.trip,
        p.settings.exchange.stream_stall_seconds,
        on_fill=on_fill,
    )


def _benchmark_exits(bus: Bus, signals: SignalService) -> Any:
    async def closed(trade: PositionClosed) -> None:
        signals.benchmark.closed(trade)
        for alert in signals.benchmark.take_alerts():
            log.warning("{} {}: {}", alert.module, alert.status, alert.message)
            await bus.publish(Topic.HEALTH_ALERT, alert)

    return closed


def _journal_experience(ledger: Ledger) -> Any:
    async def record(exp: PnlExperience) -> None:
        ledger.experience(exp)

    return record
