"""Planning a position from an intent: the levels at a leverage, the leverage the liquidation
guard allows, and the managed position of a filled entry. Used by execution for new entries and
by reconciliation for entries it adopts after a restart."""

from __future__ import annotations

from collections.abc import Callable

from quantum_trader.bus.messages import PositionOpened
from quantum_trader.core.decision import DecisionParams
from quantum_trader.core.exits import build_plan, start
from quantum_trader.core.guard import guard_leverage
from quantum_trader.core.levels import LevelInputs, Levels, compute_levels
from quantum_trader.core.types import TradeIntent
from quantum_trader.exchange.base import Exchange, Order
from quantum_trader.execution.book import Book, EntryContext, ManagedPosition
from quantum_trader.runtime.clock import Clock


class Planner:
    def __init__(
        self, exchange: Exchange, book: Book, clock: Clock, params: DecisionParams
    ) -> None:
        self.exchange, self.book, self.clock, self.params = exchange, book, clock, params
        self.last_guard_reason = ""

    def _levels_for(self, intent: TradeIntent) -> Callable[[int], Levels]:
        def at(leverage: int) -> Levels:
            return compute_levels(
                LevelInputs(
                    leverage=leverage,
                    side=intent.side,
                    funding_rate=intent.funding_rate,
                    exchange_divergence=intent.exchange_divergence,
                    volatility=intent.volatility,
                    atr_pct=intent.atr_value / intent.entry_price if intent.atr_value else None,
                ),
                self.params.levels,
            )

        return at

    async def guarded_levels(self, intent: TradeIntent) -> tuple[int, Levels] | None:
        """ILFv2's leverage lowered by the liquidation guard until the stop triggers first."""
        brackets = await self.exchange.brackets(intent.symbol)
        guard = guard_leverage(
            intent.leverage,
            intent.side,
            intent.entry_price,
            intent.margin_usd,
            self._levels_for(intent),
            brackets,
            self.params.leverage.max_leverage,
            self.params.liq_safety,
        )
        self.last_guard_reason = guard.reason
        if guard.refused or guard.levels is None:
            return None
        return guard.leverage, guard.levels

    async def managed_from(
        self, intent: TradeIntent, order: Order, levels: Levels, lev: int
    ) -> ManagedPosition:
        """The managed position of a filled entry (no exchange call but the market rules)."""
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
        ctx = self.book.entry_context.pop(intent.intent_id, None) or EntryContext(
            (
                intent.confidence,
                intent.volatility,
                0.0,
                intent.exchange_divergence,
                intent.funding_rate,
                0.0,
            ),
            1.0,
        )
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
            ctx.rl_state,
            ctx.multiplier,
            ctx.target_leverage or lev,
            intent.voters,
            ctx.logp,
        )
        return ManagedPosition(opened, start(plan))
