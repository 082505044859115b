"""Execution: ``trade.intent`` → its plan re-checked against the account (admission, the per-trade
cap at today's equity, the liquidation guard on the exchange's brackets, the loss budget) →
isolated margin + leverage → an idempotent market entry of exactly the plan's quantity → the
hard stop on the exchange → the TP legs, at exactly the plan's levels.

A stop that cannot be placed means the position is closed at market at once: no position is ever
left without a stop. An entry whose answer is lost is looked up by its client id before any retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import OrderEvent, Topic
from quantum_trader.core.admission import Exposure, Limits, margin_room, risk_refusal, slot
from quantum_trader.core.decision import DecisionParams
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.levels import Levels
from quantum_trader.core.order_state import OrderState
from quantum_trader.core.risk import RiskGuard
from quantum_trader.core.types import Fill, OrderSide, trade_id
from quantum_trader.exchange.base import (
    Exchange,
    ExchangeError,
    Order,
    OrderStatus,
    OrderType,
    TemporaryExchangeError,
)
from quantum_trader.execution.book import Book, ManagedPosition, client_id
from quantum_trader.execution.ledger import Ledger
from quantum_trader.execution.placing import send_once, send_stop, until_known
from quantum_trader.execution.planning import Planner
from quantum_trader.runtime.clock import Clock
from quantum_trader.runtime.crash import crashpoint
from quantum_trader.runtime.health import HealthMonitor

log = logger.bind(component="execution")


class ExecutionService:
    def __init__(
        self,
        bus: Bus,
        exchange: Exchange,
        book: Book,
        health: HealthMonitor,
        clock: Clock,
        params: DecisionParams,
        tp_on_exchange: bool = True,
        retries: int = 5,
        ledger: Ledger | None = None,
        retry_base_seconds: float = 0.25,
        limits: Limits | None = None,
        risk: RiskGuard | None = None,
        book_close: Callable[[ManagedPosition, Order, str], Awaitable[None]] | None = None,
    ) -> None:
        self.bus, self.exchange, self.book, self.health = bus, exchange, book, health
        self.ledger = ledger or Ledger()
        self.clock, self.params = clock, params
        self.tp_on_exchange = tp_on_exchange
        self.retries, self.retry_base = retries, retry_base_seconds
        self.accepting = True
        self.in_flight = 0
        self.entering_ids: set[str] = set()  # intents between admission and protection
        self.rejected = 0
        self.emergency_closes = 0
        self.planner = Planner(exchange, clock, params)
        self.limits = limits or Limits(10**6, params.sizing)
        self.reserved = book.entering  # symbol → margin of the entry in flight
        self._repeat: str | None = None  # a loss-budget refusal repeating the block's first
        self.risk = risk
        #: books an emergency close as a trade (the exit manager's)
        self.book_close = book_close

    async def on_intent(self, intent: TradeIntent) -> None:
        if not self.accepting:
            log.warning("{} ignored: shutting down, no new entries", intent.intent_id)
            return
        if intent.intent_id in self.book.seen_intents or not self.ledger.new_intent(intent):
            log.warning("{} ignored: this intent was already handled", intent.intent_id)
            return
        self.book.seen_intents.add(intent.intent_id)
        crashpoint("intent_journaled")
        journal = self.ledger.journal
        if journal is not None and journal.failing:  # exits go on; nothing new to keep track of
            await self._reject(intent, f"the journal cannot be written ({journal.failing})")
            return
        if self.book.equity <= 0:  # nobody has read the account yet
            balance = await self.exchange.fetch_balance()
            self.book.equity, self.book.wallet = balance.equity, balance.wallet
        exposure = Exposure(
            self.book.open_symbols(), self.reserved, self.book.used_margin(), self.book.equity
        )
        refused = slot(intent.symbol, exposure, self.limits) or margin_room(
            intent.margin_usd, exposure, self.limits
        )
        if refused is not None:
            await self._reject(intent, refused)
            return
        self.reserved[intent.symbol] = intent.margin_usd  # before the first exchange call
        self.in_flight += 1
        self.entering_ids.add(intent.intent_id)
        try:
            await self._enter(intent)
        finally:
            self.in_flight -= 1
            self.entering_ids.discard(intent.intent_id)
            self.reserved.pop(intent.symbol, None)

    async def _enter(self, intent: TradeIntent) -> None:
        """The intent's plan, re-checked against the account and the exchange now, then placed
        exactly: its leverage, its quantity, its stop and TP legs."""
        used = self.book.used_margin() + sum(
            m for s, m in self.reserved.items() if s != intent.symbol
        )
        plan = await self.planner.plan_for(intent, self.book.equity, used)
        if not plan.accepted or plan.sizing is None or plan.levels is None:
            await self._reject(intent, plan.refused or "no plan")
            return
        lev, levels, qty = plan.leverage, plan.levels, plan.sizing.qty
        refused = (
            risk_refusal(plan.sizing.margin, lev, levels.sl, self.book.equity, self.limits)
            or await self.planner.liquidation_refusal(intent.symbol, plan)
            or self._risk_refusal(plan.sizing.notional, levels.sl)
        )
        if refused is not None:
            await self._reject(intent, refused)
            return
        side = OrderSide.to_open(intent.side)
        cid = client_id(intent.intent_id, "entry")
        self.ledger.intent(intent.intent_id, "entering")
        try:
            await self.exchange.prepare_symbol(intent.symbol, lev)
            order = await self._entry_order(intent, side, qty, cid, lev)
        except TemporaryExchangeError as exc:  # the entry may exist: find out before anything
            self.health.error("execution", str(exc))
            self.ledger.orders.move(cid, OrderState.UNKNOWN)
            log.error("{} entry state unknown ({}): asking until the exchange knows", cid, exc)
            found = await until_known(self.exchange, intent.symbol, cid, self.retry_base)
            if found is None:
                await self._reject(intent, f"entry failed: {exc}")
                return
            order = found
        except ExchangeError as exc:
            self.health.error("execution", str(exc))
            self.ledger.orders.move(cid, OrderState.REJECTED)
            await self._reject(intent, f"entry failed: {exc}")
            return
        crashpoint("entry_answered")
        self.ledger.orders.answered(order)
        crashpoint("entry_journaled")
        try:
            mp = await self._protect(intent, order, levels, lev)
        except Exception:
            log.opt(exception=True).error(
                "{} failed right after its entry filled", intent.intent_id
            )
            await self._emergency_close(
                intent.intent_id, intent.symbol, OrderSide.to_close(intent.side), order.filled_qty
            )
            raise
        if mp is None:
            self.ledger.intent(intent.intent_id, "failed", "no stop could be placed: closed")
            return
        self.ledger.intent(intent.intent_id, "open")
        placed = mp.opened.plan
        self.health.ok("execution")
        log.info(
            "{} opened {} {} {:g} @ {:.6g} {}x margin {:,.2f} | stop {:.6g} | tp {} legs {}",
            intent.intent_id,
            intent.symbol,
            intent.side,
            placed.qty,
            placed.entry_price,
            lev,
            placed.margin,
            placed.sl_price,
            "/".join(f"{p:.6g}" for p in placed.tp_prices),
            "/".join(f"{q:g}" for q in placed.leg_qtys),
        )
        await self.bus.publish(
            Topic.ORDER_FILLED,
            Fill(
                order.id,
                cid,
                intent.symbol,
                side,
                order.filled_qty,
                order.avg_price,
                order.fee,
                placed.opened_ts,
                trade_id=trade_id(order.id, order.filled_qty),
            ),
        )
        await self.bus.publish(Topic.POSITION_OPENED, mp.opened)

    def _risk_refusal(self, notional: float, sl: float) -> str | None:
        """The account's limits, checked here whatever the filter saw: a tripped limit, or a loss
        budget that this entry's stop — with every open stop — would overrun."""
        if self.risk is None:
            return None
        s = self.risk.status(self.clock.now_ms())
        if s.halted or s.kill_switch or s.circuit_breaker:
            return f"risk limit tripped: {s.reason}"
        sz = self.limits.sizing
        exit_cost = sz.round_trip_cost / 2 + sz.gap_allowance
        at_stops = self.book.pnl_at_stops(exit_cost)
        worst = self.book.wallet + at_stops - notional * sz.loss_fraction(sl)
        blocked = bool(self.risk.budget_block)
        refusal = self.risk.budget(worst, self.clock.now_ms())
        self._repeat = refusal if blocked else None  # the block said so once already
        return refusal

    async def _protect(
        self, intent: TradeIntent, order: Order, levels: Levels, lev: int
    ) -> ManagedPosition | None:
        """Right after the fill: the plan, the hard stop, then the TP legs — nothing before."""
        mp = await self.planner.managed_from(intent, order, levels, lev)
        self.ledger.position(mp)
        crashpoint("position_journaled")
        return mp if await self.arm(mp) else None

    async def arm(self, mp: ManagedPosition) -> bool:
        """The hard stop (or, failing it, a close at market), then the book, then the TP legs."""
        if not await self._place_stop(mp):
            return False
        self.book.positions[mp.symbol] = mp
        if self.tp_on_exchange:
            await self._place_tps(mp)
        return True

    async def _entry_order(
        self, intent: TradeIntent, side: OrderSide, qty: float, cid: str, lev: int
    ) -> Order:
        """Idempotent (see :mod:`placing`): one intent never yields two entries."""

        async def attempt() -> None:
            await self.bus.publish(
                Topic.ORDER_SUBMITTED,
                OrderEvent(intent.intent_id, "entry", _pending(intent.symbol, side, qty, cid)),
            )
            self.ledger.orders.submitted(
                intent.intent_id, cid, "entry", intent.symbol, side.value, "MARKET", qty, 0.0, lev
            )

        return await send_once(
            self.exchange,
            intent.symbol,
            cid,
            lambda: self.exchange.create_market_order(intent.symbol, side, qty, cid),
            self.retries + 1,
            self.retry_base,
            attempt,
        )

    async def _place_stop(self, mp: ManagedPosition) -> bool:
        plan = mp.opened.plan
        cid = client_id(mp.opened.intent_id, "sl0")
        try:
            order = await send_stop(
                self.exchange, self.ledger, mp, cid, plan.sl_price, self.retry_base
            )
        except ExchangeError as exc:
            log.error(
                "{} STOP PLACEMENT FAILED ({}): closing {} at market now",
                mp.opened.intent_id,
                exc,
                plan.symbol,
            )
            closing = await self._emergency_close(
                mp.opened.intent_id, plan.symbol, OrderSide.to_close(plan.side), plan.qty
            )
            if closing is not None and self.book_close is not None:
                self.book.positions[mp.symbol] = mp  # booked and released at once, as any close
                await self.book_close(mp, closing, "emergency_close")
            return False
        crashpoint("stop_answered")
        self.ledger.orders.answered(order)
        mp.stop_order_id = order.id
        self.ledger.position(mp)
        crashpoint("stop_journaled")
        await self.bus.publish(
            Topic.ORDER_SUBMITTED, OrderEvent(mp.opened.intent_id, "stop", order)
        )
        return True

    async def _emergency_close(
        self, intent_id: str, symbol: str, side: OrderSide, qty: float
    ) -> Order | None:
        self.emergency_closes += 1
        cid = client_id(intent_id, "emergency")
        self.ledger.orders.submitted(intent_id, cid, "emergency", symbol, side.value, "MARKET", qty)
        try:
            order = await self.exchange.create_market_order(
                symbol, side, qty, cid, reduce_only=True
            )
            self.ledger.orders.answered(order)
            log.error("{} emergency close of {:g} {} sent", intent_id, qty, symbol)
            return order
        except ExchangeError as exc:
            self.health.error("execution", f"emergency close failed: {exc}")
            log.critical(
                "{} EMERGENCY CLOSE FAILED for {} ({}): position may be unprotected",
                intent_id,
                symbol,
                exc,
            )
            return None

    async def _place_tps(self, mp: ManagedPosition) -> None:
        plan = mp.opened.plan
        for leg, (qty, price) in enumerate(zip(plan.leg_qtys, plan.tp_prices, strict=True), 1):
            if qty > 0:
                await self._place_tp(mp, leg, qty, price)

    async def replace_missing_tps(self, mp: ManagedPosition) -> None:
        """After a restart: TP legs still due that have no order (placed before the crash or
        never placed) are placed now."""
        if not self.tp_on_exchange:
            return
        plan, placed = mp.opened.plan, set(mp.tp_orders.values())
        for leg in range(mp.state.legs_done + 1, 4):
            qty = min(plan.leg_qtys[leg - 1], mp.state.remaining)
            if leg not in placed and qty > 0:
                await self._place_tp(mp, leg, qty, plan.tp_prices[leg - 1])

    async def _place_tp(self, mp: ManagedPosition, leg: int, qty: float, price: float) -> None:
        plan, intent_id = mp.opened.plan, mp.opened.intent_id
        cid = client_id(intent_id, f"tp{leg}")
        side = OrderSide.to_close(plan.side)
        self.ledger.orders.submitted(
            intent_id, cid, f"tp{leg}", plan.symbol, side.value, "LIMIT", qty, price
        )
        try:
            order = await send_once(
                self.exchange,
                plan.symbol,
                cid,
                lambda: self.exchange.create_limit_order(plan.symbol, side, qty, price, cid),
                2,
                self.retry_base,
                need_fill=False,
            )
        except ExchangeError as exc:
            self.ledger.orders.move(cid, OrderState.REJECTED)
            log.warning("{} TP{} not placed ({}); the exit manager watches it", intent_id, leg, exc)
            return
        self.ledger.orders.answered(order)
        mp.tp_orders[order.id] = leg
        self.ledger.position(mp)
        crashpoint(f"tp{leg}_placed")
        await self.bus.publish(Topic.ORDER_SUBMITTED, OrderEvent(intent_id, f"tp{leg}", order))

    async def _reject(self, intent: TradeIntent, reason: str) -> None:
        self.rejected += 1
        self.ledger.intent(intent.intent_id, "rejected", reason)
        # while the loss budget blocks entries its first refusal and its trip said so: the
        # refusals after are detail
        quiet, self._repeat = reason == self._repeat, None
        (log.debug if quiet else log.warning)("{} rejected: {}", intent.intent_id, reason)
        await self.bus.publish(
            Topic.ORDER_REJECTED,
            OrderEvent(
                intent.intent_id,
                "entry",
                _pending(
                    intent.symbol,
                    OrderSide.to_open(intent.side),
                    0.0,
                    client_id(intent.intent_id, "entry"),
                ),
                reason,
            ),
        )


def _pending(symbol: str, side: OrderSide, qty: float, cid: str) -> Order:
    return Order("", cid, symbol, side, OrderType.MARKET, qty, OrderStatus.NEW)
