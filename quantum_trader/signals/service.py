"""Signal service: candles → symbol history → ensemble (or HTTP engine) call → calibrated
``signal.generated`` with the features the strategy needs."""

from __future__ import annotations

import time

from loguru import logger

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import CandleEvent, Features, SignalEvent, Topic
from quantum_trader.core.buckets import Aggregator
from quantum_trader.core.ensemble import EnsembleCall, EnsembleSeries, call_at
from quantum_trader.core.history import SymbolHistory
from quantum_trader.core.models import BUILTIN, Bars, SignalModel, models_series, window_of
from quantum_trader.core.types import Candle, Consensus, ModelVote, Side, Signal, Vote
from quantum_trader.runtime.health import HealthMonitor
from quantum_trader.signals.benchmark import PerformanceBenchmarker
from quantum_trader.signals.calibrator import Calibrator
from quantum_trader.signals.http_source import HttpSignalSource
from quantum_trader.signals.reference import Reference, divergence

log = logger.bind(component="signals")
HORIZON_BARS = 15


class SignalService:
    def __init__(
        self,
        bus: Bus,
        health: HealthMonitor,
        calibrator: Calibrator,
        volatility_days: float = 30.0,
        external: HttpSignalSource | None = None,
        timeframe: str = "15m",
        force_confidence: float = 0.0,
        precomputed: dict[str, EnsembleSeries] | None = None,
        benchmark: PerformanceBenchmarker | None = None,
        *,
        models: tuple[SignalModel, ...] | None = None,
        decide_ms: int = 0,
        reference: Reference | None = None,
    ) -> None:
        self.bus, self.health, self.calibrator = bus, health, calibrator
        self.benchmark = benchmark or PerformanceBenchmarker()
        # Backtests hand in the ensemble computed over each whole series: the indicators are
        # windowed, so its values equal the per-window ones bit for bit (tested).
        self.precomputed = precomputed or {}
        self.volatility_days = volatility_days
        self.external, self.timeframe = external, timeframe
        self.benchmark.traded_model = self.model_name
        self.benchmark.traded = lambda: self.calibrator.record()  # the calibrator in use now
        self.force_confidence = force_confidence  # stress tests only (paper, backtest)
        self.histories: dict[str, SymbolHistory] = {}
        self.funding: dict[str, float] = {}
        self.generated = 0
        self.reference = reference  # the divergence's other venue (if any)
        #: decide on candles of this timeframe, aggregated from the feed's finer ones (backtests
        #: and replays of 1m files on the live 15m); 0: on the feed's candles
        self.decide_ms = decide_ms
        self.buckets: dict[str, Aggregator] = {}
        self.models = models or tuple(BUILTIN.values())  # signals.models

    def decision_ms(self, feed_ms: int) -> int:
        return self.decide_ms if self.decide_ms > feed_ms else feed_ms

    def decision_candle(self, event: CandleEvent) -> Candle | None:
        """The decision candle this feed candle completes (itself when not aggregating)."""
        if self.decision_ms(event.timeframe_ms) == event.timeframe_ms:
            return event.candle
        agg = self.buckets.get(event.symbol)
        if agg is None:
            agg = self.buckets[event.symbol] = Aggregator(self.decide_ms, event.timeframe_ms)
        return agg.add(event.candle)

    def history(self, event: CandleEvent) -> SymbolHistory:
        h = self.histories.get(event.symbol)
        if h is None:
            tf = self.decision_ms(event.timeframe_ms)
            window = max(60, int(self.volatility_days * 86_400_000 // tf))
            capacity = max(window, window_of(self.models)) + 30
            h = SymbolHistory(capacity=capacity, vol_window=window)
            self.histories[event.symbol] = h
        return h

    def volatilities(self) -> dict[str, float]:
        """Each symbol's ATR as a fraction of price, now (the symbol risk's volatility rank)."""
        return {s: h.atr_pct for s, h in self.histories.items() if h.count}

    async def on_candle(self, event: CandleEvent) -> None:
        if event.funding_rate is not None:
            self.funding[event.symbol] = event.funding_rate
        candle = self.decision_candle(event)
        if candle is None:  # inside a decision candle: exits and fills see it, signals do not
            return
        tf = self.decision_ms(event.timeframe_ms)
        h = self.history(event)
        h.append(candle)
        close_ts = candle.ts + tf
        self.calibrator.resolve(event.symbol, h.close, close_ts)
        self.benchmark.resolve(event.symbol, h.close, close_ts)
        if h.count < max(m.warmup for m in self.models):
            return
        call = await self._call(event.symbol, candle, h)
        for alert in self.benchmark.take_alerts():  # a latency or error trend (Phase 3C)
            log.warning("{} {}: {}", alert.module, alert.status, alert.message)
            await self.bus.publish(Topic.HEALTH_ALERT, alert)
        if call is None or call.side is None:
            return
        horizon_ms = HORIZON_BARS * tf
        self._track(event.symbol, call, h.close, close_ts + horizon_ms)
        calibration = self.calibrator.calibrate(call.confidence)
        self.calibrator.track(
            event.symbol, call.side, h.close, close_ts + horizon_ms, call.confidence
        )
        source = "builtin" if self.external is None else "http"
        confidence, consensus = calibration.calibrated, call.consensus
        if self.force_confidence:  # stress tests: every call is confident and unanimous
            confidence, consensus = self.force_confidence, Consensus.UNANIMOUS
        signal = Signal(
            event.symbol,
            call.side,
            confidence,
            consensus,
            close_ts,
            horizon_ms,
            call.votes,
            source,
            call.confidence,
            "forced" if self.force_confidence else calibration.method,
        )
        features = Features(
            h.close,
            h.atr,
            h.atr_pct,
            h.volatility(),
            h.regime(),
            self.funding.get(event.symbol, 0.0),
            self._divergence(event.symbol, h.close, close_ts),
        )
        self.generated += 1
        log.debug(
            "{} {} conf {:.3f} (raw {:.3f}) {} votes {}",
            event.symbol,
            call.side,
            signal.confidence,
            call.confidence,
            call.consensus,
            " ".join(f"{v.model}:{v.vote}" for v in call.votes),
        )
        await self.bus.publish(Topic.SIGNAL, SignalEvent(signal, features))

    def _divergence(self, symbol: str, price: float, ts: int) -> float:
        if self.reference is None:
            return 0.0
        return divergence(price, self.reference.price(symbol, ts))

    @property
    def model_name(self) -> str:
        """The signal as traded, in the benchmarker: the ensemble, or the external engine."""
        return "ensemble" if self.external is None else "http"

    def _track(self, symbol: str, call: EnsembleCall, price: float, due_ts: int) -> None:
        """Each model's vote, resolved at the horizon (Phase 3C)."""
        for v in call.votes:  # the traded signal's own record is the calibrator's
            if v.vote is not Vote.FLAT and self.external is None:
                self.benchmark.track(symbol, v.model, Side(v.vote.value), price, due_ts)

    async def _call(self, symbol: str, candle: Candle, h: SymbolHistory) -> EnsembleCall | None:
        if self.external is None:
            whole = self.precomputed.get(symbol)
            if whole is not None:
                self.health.ok("signals")
                self.benchmark.call("ensemble", 0.0, True)  # in-process: no latency to speak of
                return call_at(whole, h.count - 1)
            n = window_of(self.models)
            bars = Bars(
                h.tail("open", n), h.tail("high", n), h.tail("low", n), h.tail("close", n),
                h.tail("volume", n), h.tail("atr_pct", n),
            )  # fmt: skip
            series = models_series(self.models, bars)
            self.health.ok("signals")
            self.benchmark.call("ensemble", 0.0, True)
            return call_at(series, series.votes.shape[0] - 1)
        started = time.perf_counter()
        answer = await self.external.ask(symbol, candle.close, candle.volume, self.timeframe)
        latency_ms = (time.perf_counter() - started) * 1000
        if answer is None:
            self.health.error("signals", self.external.last_error)
            self.benchmark.call("http", latency_ms, False)
            return None
        self.health.ok("signals", latency_ms)
        self.benchmark.call("http", latency_ms, True)
        side = Side(answer.side) if answer.side else None
        vote = ModelVote("http", Vote(answer.side) if answer.side else Vote.FLAT, answer.confidence)
        return EnsembleCall(side, answer.confidence, Consensus.UNANIMOUS, (vote,))
