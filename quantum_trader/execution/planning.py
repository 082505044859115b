"""Planning at execution: the plan of an intent that came without one, the plan re-checked
against the exchange now, and the managed position of a filled entry. Used by execution for new
entries and by reconciliation for entries it adopts after a restart.

An intent from the strategy carries its plan (:class:`~quantum_trader.core.decision.Decision`),
and execution places exactly it. An intent from outside has none: it is planned here by the one
:func:`~quantum_trader.core.decision.decide`, with its leverage and margin as given (the guard
and the caps still bind) — never by a second set of rules.
"""

from __future__ import annotations

from quantum_trader.bus.messages import PositionOpened
from quantum_trader.core.decision import Decision, DecisionInputs, DecisionParams, decide
from quantum_trader.core.exits import build_plan, start
from quantum_trader.core.guard import check_liquidation
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.levels import Levels
from quantum_trader.exchange.base import Exchange, Order, market_params
from quantum_trader.execution.book import ManagedPosition
from quantum_trader.runtime.clock import Clock


class Planner:
    def __init__(self, exchange: Exchange, clock: Clock, params: DecisionParams) -> None:
        self.exchange, self.clock, self.params = exchange, clock, params

    async def plan_for(self, intent: TradeIntent, equity: float, used_margin: float) -> Decision:
        """The intent's own plan, or — for an intent without one — :func:`decide` with the
        intent's leverage and margin as given, on the exchange's rules and brackets."""
        if intent.plan is not None:
            return intent.plan
        params = await market_params(self.exchange, self.params, intent.symbol)
        return decide(
            DecisionInputs(
                side=intent.side,
                entry_price=intent.entry_price,
                equity=equity,
                confidence=intent.confidence,
                volatility=intent.volatility,
                used_margin=used_margin,
                margin_util=min(1.0, used_margin / equity) if equity > 0 else 0.0,
                exchange_divergence=intent.exchange_divergence,
                funding_rate=intent.funding_rate,
                atr_pct=intent.atr_pct,
                multiplier=1.0,
                multiplier_source="fixed",
                leverage=int(intent.leverage),
                margin_usd=intent.margin_usd,
            ),
            params,
        )

    async def liquidation_refusal(self, symbol: str, plan: Decision) -> str | None:
        """The liquidation guard on the exchange's brackets now: the stop triggers first, or
        the plan is refused (never re-planned here)."""
        assert plan.sizing is not None and plan.levels is not None  # noqa: S101 - accepted plans
        check = check_liquidation(
            plan.inputs.side,
            plan.inputs.entry_price,
            plan.sizing.margin,
            plan.leverage,
            plan.levels.sl,
            await self.exchange.brackets(symbol),
            self.params.liq_safety,
        )
        return None if check.safe else f"liquidation guard on the exchange's brackets: {check}"

    async def managed_from(
        self, intent: TradeIntent, order: Order, levels: Levels, lev: int
    ) -> ManagedPosition:
        """The managed position of a filled entry (no exchange call but the market rules): the
        plan's levels from the fill price, and what the sizer chose (from the intent's plan)."""
        rules = await self.exchange.market_rules(intent.symbol)
        now = max(self.clock.now_ms(), intent.ts)
        plan = build_plan(
            intent.symbol,
            intent.side,
            order.avg_price,
            order.filled_qty,
            lev,
            levels,
            now,
            rules.qty_step,
            rules.price_tick,
        )
        d = intent.plan
        state = d.inputs.sizer_state if d is not None else (
            intent.confidence, intent.volatility, 0.0, intent.exchange_divergence,
            intent.funding_rate, 0.0,
        )  # fmt: skip
        multiplier = d.sizing.multiplier if d is not None and d.sizing is not None else 1.0
        opened = PositionOpened(
            intent.intent_id,
            order.id,
            plan,
            order.fee,
            intent.confidence,
            intent.atr_value,
            intent.volatility,
            intent.exchange_divergence,
            intent.funding_rate,
            intent.regime,
            state,
            multiplier,
            d.target_leverage if d is not None else lev,
            intent.voters,
            d.logp if d is not None else None,
        )
        return ManagedPosition(opened, start(plan))
