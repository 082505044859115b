"""Exit manager: one inbox for ``order.filled`` and ``market.candle`` (FIFO), the pure exit state
machine in between, and the exchange as the hands. Every stop move is new-first-then-cancel-old;
a position is finalised with its realised PnL (fees and funding included) when it is flat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from loguru import logger

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import (
    CandleEvent,
    HealthAlert,
    PriceTick,
    SignalEvent,
)
from quantum_trader.core.exit_rules import on_tick
from quantum_trader.core.exits import (
    ActionKind,
    ExitAction,
    ExitParams,
    apply_stop,
    on_leg_filled,
    on_part_filled,
    on_predicted_breach,
)
from quantum_trader.core.order_state import OrderState
from quantum_trader.core.pnl import ClosingFill
from quantum_trader.core.risk import RiskTrip
from quantum_trader.core.types import Fill, OrderSide
from quantum_trader.exchange.base import (
    LIQUIDATION_PREFIX,
    Exchange,
    ExchangeError,
    Order,
    OrderRejected,
)
from quantum_trader.execution.book import Book, ManagedPosition, client_id
from quantum_trader.execution.closing import Closing
from quantum_trader.execution.ledger import Ledger
from quantum_trader.execution.placing import send_stop
from quantum_trader.execution.ticks import TickGate
from quantum_trader.runtime.clock import Clock, WallClock
from quantum_trader.runtime.crash import crashpoint
from quantum_trader.runtime.health import HealthMonitor

log = logger.bind(component="exits")
REDUCE_ONLY_REJECTED = "-2022"  # Binance: nothing (or less) to reduce — the position is flat
TIGHTEN_WITHIN_H = 4.0  # SPEC §8: a breach predicted this close moves open stops


class ExitManager(Closing):
    def __init__(
        self,
        bus: Bus,
        exchange: Exchange,
        book: Book,
        health: HealthMonitor,
        clock: Clock,
        params: ExitParams,
        ledger: Ledger | None = None,
        max_candle_age_ms: int | None = None,
        wall: Clock | None = None,
    ) -> None:
        self.bus, self.exchange, self.book, self.health = bus, exchange, book, health
        self.ledger = ledger or Ledger()
        self.wall = wall or WallClock()
        self.clock, self.params = clock, params
        self.stop_moves = 0
        self.tightened_for: set[str] = set()  # alert episodes that have tightened the stops
        #: while settling a batch of fills: the actions they call for, by intent, acted on after
        self._deferred: dict[str, tuple[ManagedPosition, list[ExitAction]]] | None = None
        self.retry_base = 0.25
        self.max_candle_age_ms = max_candle_age_ms
        self.ticks = TickGate(params)
        self.last: dict[str, float] = {}  # symbol → the last price seen (candle close, tick)

    async def on_message(self, message: object) -> None:
        if isinstance(message, Fill):
            await self.on_fill(message)
        elif isinstance(message, CandleEvent):
            await self.on_candle(message)
        elif isinstance(message, PriceTick):
            await self.on_price(message)
        elif isinstance(message, SignalEvent):
            await self.on_signal(message)
        elif isinstance(message, RiskTrip) and message.flatten:
            await self.flatten(f"risk_{message.kind.value}")
        elif isinstance(message, HealthAlert):
            await self.on_alert(message)

    async def on_signal(self, event: SignalEvent) -> None:
        """``exits.on_signal``: a signal against an open position closes it at market."""
        sig = event.signal
        mp = self.book.positions.get(sig.symbol)
        if not self.params.on_signal or mp is None or mp.closing:
            return
        if sig.side is mp.opened.plan.side:
            return
        log.info(
            "{} closed on a {} signal (conf {:.3f}) at {:.6g}",
            mp.opened.intent_id, sig.side, sig.confidence, event.features.price,
        )  # fmt: skip
        await self._close(mp, "signal")

    async def on_alert(self, alert: HealthAlert) -> None:
        """Predictive tightening: a performance breach predicted within ``TIGHTEN_WITHIN_H`` (or
        reached) moves every open stop halfway to breakeven (where the price allows) — once per
        episode of the alert: again only after it has CLEARED."""
        if not alert.module.startswith("performance.") or not self.params.predictive:
            return
        if alert.status == "CLEARED":
            self.tightened_for.discard(alert.module)
            return
        due = alert.status == "BREACHED" or (
            alert.status == "PREDICTED" and alert.score <= TIGHTEN_WITHIN_H
        )
        if not due or alert.module in self.tightened_for:
            return
        self.tightened_for.add(alert.module)
        for mp in list(self.book.positions.values()):
            last = self.last.get(mp.symbol)
            if mp.closing or last is None:
                continue
            for action in on_predicted_breach(mp.state, last, self.params):
                log.warning(
                    "{} stop tightened {:.6g} → {:.6g}: {} predicted in {:.1f} h",
                    mp.opened.intent_id, mp.state.stop_price, action.price, alert.module,
                    alert.score,
                )  # fmt: skip
                await self._move_stop(mp, action)

    async def flatten(self, reason: str) -> None:
        """Every position closed at market (a risk limit's ``flatten``, ``qtrader flatten``)."""
        for mp in list(self.book.positions.values()):
            if not mp.closing:
                log.warning("{} flattened: {}", mp.opened.intent_id, reason)
                await self._close(mp, reason)

    async def on_fill(self, fill: Fill) -> None:
        mp = self.book.by_order(fill.order_id)
        liquidated = mp is None and fill.client_id.startswith(LIQUIDATION_PREFIX)
        if liquidated:  # the exchange's own close of our position
            mp = self.book.positions.get(fill.symbol)
        if mp is None or not self.ledger.orders.fill(fill):
            return
        reason = "liquidation" if liquidated else mp.stop_reason_of(fill.order_id)
        if reason is None and not mp.closing:
            await self._leg_filled(mp, fill)
            return
        # a stop (the current one, or a replaced one whose fill won the race), a liquidation, or
        # any fill while the position is closing: booked, and the trade is final once the exits
        # cover the entry — fills from the same moment still on their way are not lost
        if liquidated:
            log.critical("{} LIQUIDATED: the guard failed", mp.opened.intent_id)
        reason = reason or f"tp{mp.tp_orders.get(fill.order_id, 0)}"
        mp.exits.append(ClosingFill(fill.qty, fill.price, fill.fee, reason))
        mp.closing = True
        mp.close_reason = mp.close_reason or reason
        await self._finalise_when_flat(mp)

    async def _finalise_when_flat(self, mp: ManagedPosition) -> None:
        booked = sum(e.qty for e in mp.exits)
        if booked >= mp.opened.plan.qty - 1e-9:
            await self._finalise(mp, mp.close_reason)
            return
        self.ledger.position(mp)
        log.info(
            "{} closing: {:g} of {:g} booked, the rest's fills are on their way",
            mp.opened.intent_id,
            booked,
            mp.opened.plan.qty,
        )

    async def _leg_filled(self, mp: ManagedPosition, fill: Fill) -> None:
        leg = mp.tp_orders[fill.order_id]
        mp.exits.append(ClosingFill(fill.qty, fill.price, fill.fee, f"tp{leg}"))
        done = mp.tp_filled.pop(fill.order_id, 0.0) + fill.qty
        if done < mp.opened.plan.leg_qtys[leg - 1] - 1e-12:  # a partial fill: more to come
            mp.tp_filled[fill.order_id] = done
            mp.state = on_part_filled(mp.state, fill.qty)
            self.ledger.position(mp)
            log.info(
                "{} TP{} part-filled {:g} @ {:.6g}", mp.opened.intent_id, leg, fill.qty, fill.price
            )
            return
        del mp.tp_orders[fill.order_id]
        mp.state, actions = on_leg_filled(mp.state, fill.qty, fill.price, self.params)
        log.info(
            "{} TP{} filled {:g} @ {:.6g}; {:g} left",
            mp.opened.intent_id,
            leg,
            fill.qty,
            fill.price,
            mp.state.remaining,
        )
        if mp.state.remaining <= 0:
            await self._finalise(mp, f"tp{leg}")
            return
        self.ledger.position(mp)
        crashpoint(f"tp{leg}_filled")
        await self._react(mp, actions)

    @asynccontextmanager
    async def settling(self) -> AsyncIterator[None]:
        """Fills that arrive together — one candle's walk on the paper exchange — are all booked
        before any of them is acted on: a TP leg's stop move waits until the stop's or the last
        leg's fill of the same walk is booked, so the exchange is never asked to move a stop of,
        or close, a position it has already closed."""
        self._deferred = {}
        try:
            yield
        finally:
            deferred, self._deferred = self._deferred, None
            for mp, actions in deferred.values():
                if self.book.positions.get(mp.symbol) is mp and not mp.closing:
                    await self._act(mp, actions)

    async def _react(self, mp: ManagedPosition, actions: list[ExitAction]) -> None:
        if self._deferred is None:
            await self._act(mp, actions)
            return
        _, before = self._deferred.get(mp.opened.intent_id, (mp, []))
        self._deferred[mp.opened.intent_id] = (mp, [*before, *actions])

    async def on_candle(self, event: CandleEvent) -> None:
        self.last[event.symbol] = event.candle.close
        mp = self.book.positions.get(event.symbol)
        if mp is None or mp.closing:
            return
        c = event.candle
        close_ts = c.ts + event.timeframe_ms
        if close_ts <= mp.opened.plan.opened_ts:
            return  # a candle from before the entry (history replayed after a restart)
        if (
            self.max_candle_age_ms is not None
            and self.wall.now_ms() - close_ts > self.max_candle_age_ms
        ):
            return  # live: old candles say nothing about the price now
        mp.state, actions = on_tick(
            mp.state, c.high, c.low, c.close, self.clock.now_ms(), self.params
        )
        await self._act(mp, actions)

    async def on_price(self, tick: PriceTick) -> None:
        """A mark price from the stream: the trailing stop, loss guard, time stop and internal
        legs act on it at once, not at the next closed candle (SPEC §9)."""
        self.last[tick.symbol] = tick.price
        mp = self.book.positions.get(tick.symbol)
        if mp is None or mp.closing:
            return
        now = self.clock.now_ms()
        mp.state, proposed = on_tick(mp.state, tick.price, tick.price, tick.price, now, self.params)
        actions = self.ticks.admit(mp, proposed, tick.price)
        if actions:
            what = ", ".join(f"{a.kind.value} {a.reason}" for a in actions)
            log.info("{} price {:.6g}: {}", mp.opened.intent_id, tick.price, what)
        await self._act(mp, actions)

    async def _act(self, mp: ManagedPosition, actions: list[ExitAction]) -> None:
        for action in actions:
            if mp.closing:
                return
            if action.kind is ActionKind.MOVE_STOP:
                await self._move_stop(mp, action)
            elif action.kind is ActionKind.CLOSE:
                await self._close(mp, action.reason)
            else:
                await self._close_leg(mp, action)

    async def _move_stop(self, mp: ManagedPosition, action: ExitAction) -> None:
        plan = mp.opened.plan
        mp.stop_seq += 1
        cid = client_id(mp.opened.intent_id, f"sl{mp.stop_seq}")
        self.ledger.position(mp)
        try:
            new = await send_stop(
                self.exchange, self.ledger, mp, cid, action.price, self.retry_base
            )
        except OrderRejected as exc:
            if exc.code == "-2021":  # would trigger at once: the price is already through it
                await self._close(mp, f"{action.reason}_at_market")
                return
            log.error(
                "{} stop move to {:.6g} refused ({}); the old stop stays",
                mp.opened.intent_id,
                action.price,
                exc,
            )
            return
        except ExchangeError as exc:
            log.error("{} stop move failed ({}); the old stop stays", mp.opened.intent_id, exc)
            return
        crashpoint("stop_move_placed")
        self.ledger.orders.answered(new)
        old, mp.stop_order_id = mp.stop_order_id, new.id
        if old is not None:
            mp.retired[old] = mp.stop_reason
        before = mp.state.stop_price
        mp.state = apply_stop(mp.state, action.price)
        mp.stop_reason = action.reason
        self.ledger.position(mp)
        crashpoint("stop_move_journaled")
        if old is not None:
            await self._cancel(plan.symbol, old)
        crashpoint("stop_move_done")
        self.stop_moves += 1
        log.info(
            "{} stop {:.6g} → {:.6g} ({})", mp.opened.intent_id, before, action.price, action.reason
        )

    async def restore_stop(self, mp: ManagedPosition) -> None:
        """Re-place a missing hard stop at the position's current stop price (after a restart);
        a price already through it closes the position at market."""
        price = mp.state.stop_price
        await self._move_stop(mp, ExitAction(ActionKind.MOVE_STOP, mp.stop_reason, price=price))

    async def book_close(self, mp: ManagedPosition, order: Order, reason: str) -> None:
        """A close someone else sent (execution's emergency close), booked with its real fill."""
        if order.filled_qty > 0:
            self.ledger.position(mp)
            mp.exits.append(ClosingFill(order.filled_qty, order.avg_price, order.fee, reason))
            mp.closing, mp.close_reason = True, reason
            await self._finalise_when_flat(mp)

    async def settle_external(
        self, mp: ManagedPosition, exits: list[ClosingFill], reason: str
    ) -> None:
        """A position the exchange closed while the daemon was away: booked with the closing
        fills reconciliation read from the exchange (an estimate, if any, is named in
        ``reason``, and an estimated trade teaches the sizer nothing)."""
        mp.exits.extend(exits)
        await self._finalise(mp, reason)

    async def _close_leg(self, mp: ManagedPosition, action: ExitAction) -> None:
        plan = mp.opened.plan
        cid = client_id(mp.opened.intent_id, f"tp{action.leg}m")
        side = OrderSide.to_close(plan.side)
        self.ledger.orders.submitted(
            mp.opened.intent_id,
            cid,
            f"tp{action.leg}",
            plan.symbol,
            side.value,
            "MARKET",
            action.qty,
        )
        order = await self.exchange.create_market_order(
            plan.symbol, side, action.qty, cid, reduce_only=True
        )
        self.ledger.orders.answered(order)
        mp.exits.append(ClosingFill(order.filled_qty, order.avg_price, order.fee, action.reason))
        mp.state, actions = on_leg_filled(mp.state, order.filled_qty, order.avg_price, self.params)
        if mp.state.remaining <= 0:
            await self._finalise(mp, action.reason)
            return
        await self._act(mp, actions)

    async def _close(self, mp: ManagedPosition, reason: str) -> None:
        plan = mp.opened.plan
        mp.closing = True
        cid = client_id(mp.opened.intent_id, f"x{len(mp.exits)}")
        side = OrderSide.to_close(plan.side)
        self.ledger.orders.submitted(
            mp.opened.intent_id, cid, "close", plan.symbol, side.value, "MARKET", mp.state.remaining
        )
        try:
            order = await self.exchange.create_market_order(
                plan.symbol, side, mp.state.remaining, cid, reduce_only=True
            )
            self.ledger.orders.answered(order)
        except ExchangeError as exc:
            if isinstance(exc, OrderRejected) and exc.code == REDUCE_ONLY_REJECTED:
                self.ledger.orders.move(cid, OrderState.REJECTED)
                mp.close_reason = mp.close_reason or reason
                log.warning(
                    "{} close at market refused ({}): the exchange has nothing left to close; "
                    "booking the fills that closed it",
                    mp.opened.intent_id,
                    exc,
                )
                return
            self.ledger.orders.move(cid, OrderState.UNKNOWN)
            mp.closing = False
            self.health.error("execution", str(exc))
            log.error(
                "{} close at market failed ({}); the exchange stop stays in place",
                mp.opened.intent_id,
                exc,
            )
            return
        mp.exits.append(ClosingFill(order.filled_qty, order.avg_price, order.fee, reason))
        mp.close_reason = mp.close_reason or reason
        await self._finalise_when_flat(mp)
