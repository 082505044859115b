"""Strategy service: ``signal.generated`` → trade filter → ILFv2 + levels + guard + sizing →
``exitbrain.adaptive_levels`` and ``trade.intent``. One log line per decision, with its numbers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from loguru import logger

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import LevelsEvent, SignalEvent, Topic, to_jsonable
from quantum_trader.core.decision import Decision, DecisionInputs, DecisionParams, decide
from quantum_trader.core.features import margin_util, pnl_trend
from quantum_trader.core.filter import FilterContext, FilterParams, filter_signal
from quantum_trader.core.gate import GateAction, GateVerdict
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.leverage import LeverageStats, volatility_rank_risk
from quantum_trader.core.risk import RiskGuard
from quantum_trader.exchange.base import Exchange, market_params
from quantum_trader.execution.book import Book
from quantum_trader.explain import decision_dict, decision_table
from quantum_trader.runtime.clock import Clock, WallClock
from quantum_trader.runtime.health import HealthMonitor
from quantum_trader.signals.benchmark import PerformanceBenchmarker
from quantum_trader.signals.edge_gate import EdgeGate
from quantum_trader.sizing.sizer import Sizer

log = logger.bind(component="strategy")


class StrategyService:
    def __init__(
        self,
        bus: Bus,
        exchange: Exchange,
        book: Book,
        health: HealthMonitor,
        sizer: Sizer,
        risk: RiskGuard,
        clock: Clock,
        filter_params: FilterParams,
        decision_params: DecisionParams,
        max_signal_age_ms: int | None = None,
        wall: Clock | None = None,
        *,
        benchmark: PerformanceBenchmarker | None = None,
        edge: EdgeGate | None = None,
        symbol_risk: Mapping[str, float] | None = None,
        volatilities: Callable[[], Mapping[str, float]] | None = None,
        record: Callable[[str, int, dict[str, Any]], None] | None = None,
    ) -> None:
        self.bus, self.exchange, self.book, self.health = bus, exchange, book, health
        self.sizer, self.risk, self.clock = sizer, risk, clock
        self.filter_params, self.params = filter_params, decision_params
        self.accepting = True
        self.rejections: Counter[str] = Counter()
        self.leverage_stats = LeverageStats()
        self.intents = 0
        self.max_signal_age_ms = max_signal_age_ms  # live feeds: history is not traded
        self.wall = wall or WallClock()
        self.symbol_risk = dict(symbol_risk or {})  # leverage.symbol_risk
        #: symbols not in it: their volatility rank (ATR % now, per symbol) — or 1.0 if None
        self.volatilities = volatilities
        #: where each entry decision is kept whole (the journal, for ``qtrader explain TRADE_ID``)
        self.record = record
        #: Phase 3C: performance-weighted sizing and exit adaptation (the signal service's)
        self.benchmark = benchmark
        #: the edge gate: full size only while the measured net edge is positive
        self.edge = edge

    async def on_signal(self, event: SignalEvent) -> None:
        if not self.accepting:
            return
        sig, f = event.signal, event.features
        if self.max_signal_age_ms is not None:
            age = self.wall.now_ms() - sig.ts
            if age > self.max_signal_age_ms:
                self.rejections["stale"] += 1
                log.debug("{} {} not traded: {:.0f} s old", sig.symbol, sig.side, age / 1000)
                return
        balance = await self.exchange.fetch_balance()
        self.book.equity, self.book.wallet = balance.equity, balance.wallet
        now = self.clock.now_ms()
        risk = self.risk.update(balance.equity, now)  # the risk service reports its trips
        ctx = FilterContext(
            overall_health=self.health.overall(),
            source_health=self.health.score("signals"),
            atr_pct=f.atr_pct,
            kill_switch=risk.kill_switch,
            circuit_breaker=risk.circuit_breaker,
            halted=risk.halted,
            open_symbols=self.book.open_symbols() | frozenset(self.book.entering),
        )
        verdict = filter_signal(sig, ctx, self.filter_params)
        if not verdict.accepted:
            self.rejections[str(verdict.rejection)] += 1
            log.debug("{} {} filtered: {}", sig.symbol, sig.side, verdict.reason)
            return
        if self.edge is not None and self.edge.busy(sig.symbol):
            self.rejections["edge"] += 1
            log.debug("{} {} not decided: edge gate shut, a shadow open", sig.symbol, sig.side)
            return
        trend = pnl_trend(list(self.book.recent_roe))
        util = margin_util(balance.used_margin, balance.equity)
        state = (sig.confidence, f.volatility, trend, f.exchange_divergence, f.funding_rate, util)
        chosen = self.sizer.choose(state)
        perf, tp_scale, sl_scale = self._phase3c(sig.source, ctx.overall_health)
        params = await market_params(self.exchange, self.params, sig.symbol)
        inputs = DecisionInputs(
            side=sig.side,
            entry_price=f.price,
            equity=balance.equity,
            confidence=sig.confidence,
            volatility=f.volatility,
            pnl_trend=trend,
            margin_util=util,
            used_margin=balance.used_margin,
            exchange_divergence=f.exchange_divergence,
            symbol_risk=self._symbol_risk(sig.symbol),
            funding_rate=f.funding_rate,
            atr_pct=f.atr_pct,
            multiplier=chosen.multiplier,
            multiplier_source=chosen.source,
            logp=chosen.logp,
            performance_factor=perf,
            tp_scale=tp_scale,
            sl_scale=sl_scale,
        )
        d = decide(inputs, params)
        gated = self._gate(sig.symbol, d)
        if gated is not None and gated.action is GateAction.PROBE:
            d = decide(replace(inputs, probe=True), params)
        if not d.accepted or d.sizing is None or d.levels is None or d.prices is None:
            self.rejections["decision"] += 1
            log.info("{} {} refused: {} | {}", sig.symbol, sig.side, d.refused, d.ilf.reasoning)
            return
        s, lv = d.sizing, d.levels
        intent_id = f"{sig.symbol.split(':')[0].replace('/', '')}-{sig.ts}-{sig.side}"
        tick = params.rules.price_tick
        if gated is not None and self._shadowed(event, gated, d, intent_id, tick):
            if self.record is not None:
                record = _decision_record(event, ctx, verdict.reason, state, d)
                self.record(intent_id, now, {**record, "edge": _edge(gated)})
            return
        log.info(
            "{} {} conf {:.3f} {} | {} | guard {} | tp {:.4%}/{:.4%}/{:.4%} sl {:.4%} harvest {} "
            "| mult {:.3f} ({}) margin {:,.2f} notional {:,.2f} qty {:g} caps {} "
            "| 3C perf ×{:.2f} tp ×{:.2f} sl ×{:.2f} | edge {}",
            sig.symbol,
            sig.side,
            sig.confidence,
            sig.consensus,
            d.ilf.reasoning,
            d.guard.reason,
            lv.tp1,
            lv.tp2,
            lv.tp3,
            lv.sl,
            lv.harvest,
            s.multiplier,
            d.multiplier_source,
            s.margin,
            s.notional,
            s.qty,
            ",".join(s.caps_bound) or "none",
            perf,
            tp_scale,
            sl_scale,
            "off" if gated is None else f"{gated.action}: {gated.reason}",
        )
        intent = TradeIntent(
            intent_id=intent_id,
            ts=now,
            symbol=sig.symbol,
            side=sig.side,
            confidence=sig.confidence,
            entry_price=f.price,
            stop_loss=d.prices.sl,
            take_profit=d.prices.tp1,
            margin_usd=s.margin,
            leverage=d.leverage,
            atr_value=f.atr,
            volatility=f.volatility,
            exchange_divergence=f.exchange_divergence,
            funding_rate=f.funding_rate,
            regime=f.regime,
            source=sig.source,
            reason=f"{sig.consensus} ensemble; {d.guard.reason}",
            voters=tuple(v.model for v in sig.model_votes if v.vote.value == sig.side.value),
            plan=d,
        )
        if self.record is not None:
            record = _decision_record(event, ctx, verdict.reason, state, d)
            if gated is not None:
                record["edge"] = _edge(gated)
            record["phase3c"] = {"performance_factor": perf, "tp_scale": tp_scale,
                                 "sl_scale": sl_scale}  # fmt: skip
            self.record(intent_id, now, record)
        self.leverage_stats.record(d.leverage)
        self.intents += 1
        await self.bus.publish(
            Topic.LEVELS,
            LevelsEvent(
                intent_id,
                sig.symbol,
                sig.side,
                d.leverage,
                lv,
                d.ilf.reasoning,
                d.ilf.raw,
                d.ilf.factors,
                d.guard.reason,
            ),
        )
        await self.bus.publish(Topic.INTENT, intent)

    def _symbol_risk(self, symbol: str) -> float:
        if symbol in self.symbol_risk or self.volatilities is None:
            return self.symbol_risk.get(symbol, 1.0)
        return volatility_rank_risk(self.volatilities(), symbol)

    def _shadowed(
        self, event: SignalEvent, v: GateVerdict, d: Decision, intent_id: str, tick: float
    ) -> bool:
        """Follow the decision as a shadow trade; True when the gate keeps it from trading."""
        assert self.edge is not None and d.levels is not None  # noqa: S101 - gated decisions
        sig, price = event.signal, event.features.price
        self.edge.follow(
            intent_id, sig.symbol, sig.side, price, d.leverage, d.levels, sig.ts, tick, v.action
        )
        if v.action is not GateAction.SHADOW:
            return False
        self.rejections["edge"] += 1
        log.info("{} {} shadow {}: {}", sig.symbol, sig.side, intent_id, v.reason)
        return True

    def _gate(self, symbol: str, d: Decision) -> GateVerdict | None:
        """The edge gate's verdict for an accepted decision (None: no gate, or refused)."""
        if self.edge is None or not self.edge.enabled or not d.accepted:  # off: no shadows
            return None
        return self.edge.verdict(symbol)

    def _phase3c(self, source: str, health: float) -> tuple[float, float, float]:
        """(performance factor, TP scale, SL scale) from what the benchmarker has measured."""
        if self.benchmark is None:
            return 1.0, 1.0, 1.0
        model = "ensemble" if source == "builtin" else source
        tp_scale, sl_scale = self.benchmark.exit_scales(health)
        return self.benchmark.sizing_factor(model), tp_scale, sl_scale


def _edge(v: GateVerdict) -> dict[str, Any]:
    e = v.edge
    return {"action": str(v.action), "reason": v.reason, "trades": e.trades, "mean": e.mean,
            "low": e.low, "high": e.high, "confidence_level": e.level}  # fmt: skip


def _decision_record(
    event: SignalEvent,
    ctx: FilterContext,
    verdict: str,
    state: tuple[float, ...],
    d: Decision,
) -> dict[str, Any]:
    sig = event.signal
    return {
        "signal": {
            "symbol": sig.symbol,
            "side": str(sig.side),
            "confidence": sig.confidence,
            "raw_confidence": sig.raw_confidence,
            "calibration": sig.calibration,
            "consensus": str(sig.consensus),
            "source": sig.source,
            "ts": sig.ts,
            "horizon_ms": sig.horizon_ms,
            "votes": [
                {"model": v.model, "vote": str(v.vote), "probability": v.probability}
                for v in sig.model_votes
            ],
        },
        "features": to_jsonable(event.features),
        "filter": {**to_jsonable(ctx), "verdict": verdict},
        "sizer_state": list(state),
        "decision": decision_dict(d),
        "table": decision_table(d),
    }
