"""Reconciliation at start: the journal against the exchange, the exchange being the truth.

1. Entries in flight (intent journaled, entry maybe sent, no position record): looked up by their
   client id. Filled and the position is there → adopted as ours; otherwise abandoned.
2. Journal positions: re-armed — their resting orders watched again for fills (fills that happened
   while the daemon was away are read back and booked by the exit manager); missing TP orders of
   ours adopted by client id.
3. Exchange positions the journal does not know: adopted with a plan at their leverage
   (``unknown = "adopt"``) or closed at market (``"close"``), with the reason logged.
4. Open orders of ours (``qt…`` client ids) that no position owns: cancelled.
5. Every open position gets a live stop: the journaled one if it is live, else a stop of ours
   found on the exchange (extra ones cancelled), else a new one at once — at the journaled stop
   price; a price already through it closes the position at market.

:meth:`settle` then closes out what the exchange shows flat but no fill explained, and aligns
quantities. Any failure to read the exchange raises :class:`ReconcileError` naming what failed:
the daemon refuses to trade rather than guess.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from loguru import logger

from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.levels import LevelInputs, Levels, compute_levels
from quantum_trader.core.pnl import ClosingFill
from quantum_trader.core.types import OrderSide, Regime, Side
from quantum_trader.exchange.base import (
    Exchange,
    ExchangeError,
    Order,
    OrderStatus,
    OrderType,
    Position,
)
from quantum_trader.execution.book import Book, ManagedPosition, client_id, ours
from quantum_trader.execution.exits import ExitManager
from quantum_trader.execution.service import ExecutionService
from quantum_trader.store.codec import loads
from quantum_trader.store.journal import Journal

log = logger.bind(component="reconcile")


class ReconcileError(Exception):
    """The book cannot be reconciled with the exchange: trading is refused."""


@dataclass
class Report:
    adopted: list[str] = field(default_factory=list)
    closed_out: list[str] = field(default_factory=list)
    stops_placed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{k} {len(v)}" for k, v in vars(self).items() if v]
        return ", ".join(parts) or "nothing to do"


class Reconciler:
    def __init__(
        self,
        exchange: Exchange,
        journal: Journal,
        book: Book,
        execution: ExecutionService,
        exits: ExitManager,
        unknown: str = "adopt",
        symbols: tuple[str, ...] = (),
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.ex, self.journal, self.book = exchange, journal, book
        #: the market's time (paper: the last candle's; live: the wall clock) — an adopted
        #: position is "opened" now, and the exit manager ignores candles from before that
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self.symbols = symbols
        self.execution, self.exits, self.unknown = execution, exits, unknown
        self.report = Report()
        self.positions: dict[str, Position] = {}

    def _note(self, kind: str, detail: str) -> None:
        log.warning("reconcile: {} — {}", kind, detail)
        self.journal.event(kind, detail)

    async def run(self) -> Report:
        try:
            self.positions = {p.symbol: p for p in await self.ex.fetch_positions()}
            records = self._records()
            # open orders per symbol (Binance weight 1 each, 40 for all symbols at once): the
            # traded symbols, the journal's and the exchange's positions — where ours can be
            orders = []
            for symbol in sorted({*self.symbols, *records, *self.positions}):
                orders += await self.ex.fetch_open_orders(symbol)
            for intent, _ in self.journal.intents_in("received", "entering"):
                await self._entry_in_flight(intent, records)
            for mp in records.values():
                await self._resume(mp, orders)
            for symbol, pos in self.positions.items():
                if symbol not in self.book.positions:
                    await self._unknown(pos)
            await self._cancel_orphans(orders)
            for mp in list(self.book.positions.values()):
                if mp.symbol in self.positions:
                    await self._ensure_stop(mp, await self.ex.fetch_open_orders(mp.symbol))
        except ExchangeError as exc:
            raise ReconcileError(f"cannot reconcile with the exchange: {exc}") from None
        log.info("reconciled: {}", self.report.summary())
        return self.report

    def _records(self) -> dict[str, ManagedPosition]:
        out: dict[str, ManagedPosition] = {}
        for intent_id, symbol, record in self.journal.open_positions():
            try:
                out[symbol] = loads(ManagedPosition, record)
            except (ValueError, KeyError, TypeError) as exc:
                self._note("unreadable", f"{intent_id}: position record unreadable ({exc})")
                self.journal.save_position(intent_id, symbol, record, "unreadable")
        return out

    async def _entry_in_flight(
        self, intent: TradeIntent, records: dict[str, ManagedPosition]
    ) -> None:
        if any(mp.opened.intent_id == intent.intent_id for mp in records.values()):
            return
        self.book.seen_intents.add(intent.intent_id)
        cid = client_id(intent.intent_id, "entry")
        row = self.journal.order(cid)
        found = None if row is None else await self.ex.fetch_order_by_client_id(intent.symbol, cid)
        pos = self.positions.get(intent.symbol)
        if found is None or found.filled_qty <= 0:
            self.journal.intent_state(intent.intent_id, "abandoned", "entry not on the exchange")
            self.report.abandoned.append(intent.intent_id)
            self._note("abandoned", f"{intent.intent_id}: entry {cid} never filled")
            return
        if pos is None or pos.side is not intent.side or intent.symbol in records:
            self.journal.intent_state(intent.intent_id, "closed", "filled, flat at restart")
            self._note("flat", f"{intent.intent_id}: entry filled but no such position now")
            return
        plan = intent.plan
        if plan is not None and plan.levels is not None:  # the plan it was entered with
            leverage, levels = plan.leverage, plan.levels
        else:  # an intent from outside, planned at execution: its levels at the order's leverage
            leverage = _leverage(row) or pos.leverage
            levels = _levels(leverage, intent.side, intent)
        mp = await self.execution.planner.managed_from(intent, found, levels, leverage)
        self.execution.ledger.orders.answered(found)
        self.execution.ledger.position(mp)
        self.journal.intent_state(intent.intent_id, "open", "adopted at restart")
        records[intent.symbol] = mp
        self.report.adopted.append(intent.intent_id)
        self._note("adopted", f"{intent.intent_id}: entry {cid} filled while away; adopted")

    async def _resume(self, mp: ManagedPosition, orders: list[Order]) -> None:
        intent_id = mp.opened.intent_id
        self.book.positions[mp.symbol] = mp
        self.book.seen_intents.add(intent_id)
        ours = {o.client_id: o for o in orders if o.symbol == mp.symbol}
        for leg in (1, 2, 3):  # TP legs placed but not journaled before the crash
            o = ours.get(client_id(intent_id, f"tp{leg}"))
            if o is not None and o.id not in mp.tp_orders:
                mp.tp_orders[o.id] = leg
        for oid in [mp.stop_order_id, *mp.tp_orders]:
            if oid is not None:
                await self.ex.track(_watch(oid, mp, oid == mp.stop_order_id, orders))
        self.execution.ledger.position(mp)
        self.report.resumed.append(intent_id)
        log.info(
            "resumed {} {} {} {:g} left, stop {:.6g}",
            intent_id,
            mp.symbol,
            mp.opened.plan.side,
            mp.state.remaining,
            mp.state.stop_price,
        )

    async def _unknown(self, pos: Position) -> None:
        side = OrderSide.to_close(pos.side)
        if self.unknown == "close":
            cid = client_id(f"reconcile-{pos.symbol}-{pos.qty}", "x")
            await self.ex.create_market_order(pos.symbol, side, pos.qty, cid, reduce_only=True)
            self.report.closed_out.append(pos.symbol)
            self._note("closed_out", f"{pos.symbol} {pos.side} {pos.qty:g}: not in the journal")
            return
        intent = TradeIntent(
            intent_id=f"adopted-{pos.symbol.split(':')[0].replace('/', '')}-{pos.side}",
            ts=self.now_ms(),
            symbol=pos.symbol,
            side=pos.side,
            confidence=0.0,
            entry_price=pos.entry_price,
            stop_loss=pos.entry_price * (1 - 0.01 * pos.side.sign),  # the plan below decides
            take_profit=pos.entry_price * (1 + 0.01 * pos.side.sign),
            margin_usd=pos.margin or pos.qty * pos.entry_price / max(1, pos.leverage),
            leverage=float(pos.leverage),
            atr_value=0.0,
            volatility=0.0,
            exchange_divergence=0.0,
            funding_rate=0.0,
            regime=Regime.NORMAL,
            source="reconcile",
            reason="position found on the exchange, not in the journal",
        )
        fill = Order(
            "",
            "",
            pos.symbol,
            OrderSide.to_open(pos.side),
            OrderType.MARKET,
            pos.qty,
            OrderStatus.FILLED,
        )
        filled = _filled(fill, pos)
        mp = await self.execution.planner.managed_from(
            intent, filled, _levels(pos.leverage, pos.side), pos.leverage
        )
        self.journal.record_intent(intent)
        self.journal.intent_state(intent.intent_id, "open", intent.reason)
        self.execution.ledger.position(mp)
        self.book.positions[pos.symbol] = mp
        self.report.adopted.append(intent.intent_id)
        self._note("adopted", f"{pos.symbol} {pos.side} {pos.qty:g} @ {pos.entry_price:.6g}")

    async def _cancel_orphans(self, orders: list[Order]) -> None:
        for o in orders:
            mp = self.book.positions.get(o.symbol)
            owned = mp is not None and (mp.owns(o.id) or mp.symbol in self.positions)
            if not ours(o.client_id) or owned:
                continue
            await self._cancel(o, "no open position owns it")

    async def _cancel(self, o: Order, why: str) -> None:
        try:
            await self.ex.cancel_order(o.symbol, o.id)
        except ExchangeError as exc:
            self._note("cancel_failed", f"{o.client_id} on {o.symbol}: {exc}")
            return
        self.report.cancelled.append(o.client_id)
        self._note("cancelled", f"{o.client_id} on {o.symbol}: {why}")

    async def _ensure_stop(self, mp: ManagedPosition, orders: list[Order]) -> None:
        stops = [
            o
            for o in orders
            if o.symbol == mp.symbol
            and o.type is OrderType.STOP_MARKET
            and o.client_id.startswith(client_id(mp.opened.intent_id, "sl"))
        ]
        # the newest stop of ours is the latest decision (moves are new-first-then-cancel)
        live = max(stops, key=lambda o: _seq(o.client_id)) if stops else None
        if live is not None and live.id != mp.stop_order_id:
            mp.stop_order_id = live.id
            mp.state = replace(mp.state, stop_price=live.stop_price)
            mp.stop_seq = max(mp.stop_seq, _seq(live.client_id))
            self._note("stop_adopted", f"{mp.opened.intent_id}: stop {live.client_id} adopted")
        for extra in (o for o in stops if live is not None and o.id != live.id):
            await self._cancel(extra, "a second stop for one position")
        if live is not None:
            await self.ex.track(live)
            self.execution.ledger.position(mp)
            await self.execution.replace_missing_tps(mp)
            return
        if mp.stop_order_id is None:
            self.book.positions.pop(mp.symbol, None)
            if await self.execution.arm(mp):  # a fresh entry never protected: stop + TP legs
                self.report.stops_placed.append(mp.opened.intent_id)
                self.execution.ledger.intent(mp.opened.intent_id, "open")
            return
        await self.exits.restore_stop(mp)
        self.report.stops_placed.append(mp.opened.intent_id)
        self._note("stop_placed", f"{mp.opened.intent_id}: stop missing, placed at once")

    async def settle(self) -> None:
        """After the missed fills are booked: flat on the exchange but open here → closed out with
        the exchange's own closing trades since the entry; only what its history cannot explain
        is estimated at the stop price (and the trade named so). A quantity that differs → the
        exchange's."""
        positions = {p.symbol: p for p in await self.ex.fetch_positions()}
        for mp in list(self.book.positions.values()):
            pos = positions.get(mp.symbol)
            if pos is None or pos.side is not mp.opened.plan.side:
                exits, estimated = await self._closing_trades(mp)
                reason = "closed_while_away" + ("_estimated" if estimated else "")
                await self.exits.settle_external(mp, exits, reason)
                self.report.settled.append(mp.opened.intent_id)
                self._note(
                    "settled",
                    f"{mp.opened.intent_id}: flat on the exchange; {len(exits)} closing fill(s)"
                    + (f", {estimated:g} estimated at the stop price" if estimated else ""),
                )
            elif abs(pos.qty - mp.state.remaining) > 1e-12:
                self._note("qty", f"{mp.symbol}: {mp.state.remaining:g} here, {pos.qty:g} there")
                mp.state = replace(mp.state, remaining=pos.qty)
                self.execution.ledger.position(mp)

    async def _closing_trades(self, mp: ManagedPosition) -> tuple[list[ClosingFill], float]:
        """The exchange's closing executions of this trade not yet booked, in time order, up to
        its remaining size; and the quantity left unexplained (estimated at the stop price)."""
        plan = mp.opened.plan
        closing = OrderSide.to_close(plan.side)
        booked = self.journal.booked_order_ids(mp.opened.intent_id)
        trades = sorted(
            (
                t
                for t in await self.ex.fetch_trades_since(mp.symbol, plan.opened_ts)
                if t.side is closing and t.order_id not in booked
            ),
            key=lambda t: t.ts,
        )
        need, exits = mp.state.remaining, []
        for t in trades:
            if need <= 1e-12:
                break
            qty = min(t.qty, need)
            exits.append(ClosingFill(qty, t.price, t.fee * qty / t.qty, "closed_while_away"))
            need -= qty
        if need > 1e-12:
            exits.append(ClosingFill(need, mp.state.stop_price, 0.0, "estimated_at_stop"))
        return exits, need if need > 1e-12 else 0.0


def _seq(cid: str) -> int:
    tail = cid.rsplit("-sl", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _leverage(row: dict[str, object] | None) -> int:
    detail = json.loads(str((row or {}).get("detail") or "{}"))
    return int(detail.get("leverage") or 0)


def _levels(leverage: int, side: Side, intent: TradeIntent | None = None) -> Levels:
    if intent is None:
        return compute_levels(LevelInputs(leverage=leverage, side=side))
    return compute_levels(
        LevelInputs(
            leverage,
            side,
            intent.funding_rate,
            intent.exchange_divergence,
            intent.volatility,
            intent.atr_pct,
        )  # fmt: skip
    )


def _filled(order: Order, pos: Position) -> Order:
    return replace(order, filled_qty=pos.qty, avg_price=pos.entry_price)


def _watch(oid: str, mp: ManagedPosition, is_stop: bool, orders: list[Order]) -> Order:
    live = next((o for o in orders if o.id == oid), None)
    if live is not None:
        return live
    plan = mp.opened.plan
    kind = OrderType.STOP_MARKET if is_stop else OrderType.LIMIT
    suffix = f"sl{mp.stop_seq}" if is_stop else f"tp{mp.tp_orders.get(oid, 0)}"
    cid = client_id(mp.opened.intent_id, suffix)
    return Order(oid, cid, plan.symbol, OrderSide.to_close(plan.side), kind, 0.0, OrderStatus.NEW)
