"""Fills of our resting orders (TP legs, stops), found by REST and, on Binance, hastened by streams.

Which orders are read on a poll:
- every watched order, when the user-data stream is down or ``sweep_s`` has passed (the safety
  net: a stream can stall without a sign);
- otherwise only the orders the streams pointed at: an order update on the user-data stream, or a
  mark price that crossed the order's trigger (stop) or limit (TP leg) price.

A trade on the user-data stream (``ORDER_TRADE_UPDATE``, execution ``TRADE``) is booked from the
stream itself when it accounts for the whole unreported quantity (its last quantity ``l`` equals
the cumulative ``z`` less what was reported: no trade was missed) and its fee is in USDT: the book
stays current while REST fails (a 429 storm). Otherwise the order is pointed at for REST. A stop's
trades come on its child order (``ALGO_UPDATE`` names it, ``ai``; the child's trade may arrive
first and waits for it).

An order that left the open lists, or whose filled quantity grew, becomes one ``Fill`` with its
fee from the trade list, keyed by (order, cumulative quantity): the same fill found twice is the
same trade id, and the order tracker books it once.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quantum_trader.core.types import Fill, OrderSide, trade_id
from quantum_trader.exchange.base import Order, OrderType
from quantum_trader.exchange.binance_orders import plain_order

if TYPE_CHECKING:
    from quantum_trader.exchange.ccxt_futures import CcxtFutures, StopProgress


@dataclass(slots=True)
class Resting:
    symbol: str
    client_id: str
    side: OrderSide
    algo: bool
    price: float  # the stop's trigger, or the leg's limit (0: unknown)
    reported: float = 0.0
    fee_reported: float = 0.0

    def crossed(self, mark: float) -> bool:
        if self.price <= 0:
            return False
        sell = self.side is OrderSide.SELL
        if self.algo:  # a closing stop: a long's (SELL) triggers at or below
            return mark <= self.price if sell else mark >= self.price
        return mark >= self.price if sell else mark <= self.price  # a TP leg's limit


class FillWatch:
    def __init__(self, adapter: CcxtFutures, sweep_s: float = 30.0) -> None:
        self.adapter, self.sweep_s = adapter, sweep_s
        self.resting: dict[str, Resting] = {}
        self.dirty: set[str] = set()
        self.wake = asyncio.Event()  # set when the streams point at an order
        self._streaming = False
        self._last_sweep = float("-inf")
        self.sweeps = 0
        self.ready: list[Fill] = []  # booked from the stream, not yet published
        self.children: dict[str, str] = {}  # a triggered stop's child order id → the stop's id
        self._early: dict[str, dict[str, Any]] = {}  # a child's trade before its ALGO_UPDATE
        self.streamed = 0

    @property
    def streaming(self) -> bool:
        """The user-data stream is connected."""
        return self._streaming

    @streaming.setter
    def streaming(self, up: bool) -> None:
        if up and not self._streaming:  # back: what it missed while down is swept at once
            self._last_sweep = float("-inf")
            self.wake.set()
        self._streaming = up

    def track(self, order: Order) -> None:
        algo = order.type is OrderType.STOP_MARKET
        price = order.stop_price if algo else order.price
        self.resting[order.id] = Resting(
            order.symbol, order.client_id, order.side, algo, price, order.filled_qty
        )

    # ------------------------------------------------------------------ stream hints
    def note_order(self, update: dict[str, Any]) -> None:
        info = update.get("info") or {}
        aid = str(info.get("aid") or "")
        if aid in self.resting:  # ALGO_UPDATE: a stop's status, and its child once triggered
            child = str(info.get("ai") or "")
            if child not in ("", "0"):
                self.children[child] = aid
                early = self._early.pop(child, None)
                if early is not None and self._booked(aid, early):
                    return
            self._point(aid)
            return
        oid = str(update.get("id") or info.get("i") or "")
        key = self.children.get(oid, oid)
        if key not in self.resting:
            if info.get("x") == "TRADE" and len(self._early) < 256:
                self._early[oid] = info  # perhaps a stop's child: its ALGO_UPDATE follows
            return
        if not self._booked(key, info):
            self._point(key)

    def _booked(self, key: str, info: dict[str, Any]) -> bool:
        """A whole trade from the stream booked (True), or REST must read the order."""
        r = self.resting[key]
        fill = stream_fill(key, r, info)
        if fill is None:
            return False
        r.reported, r.fee_reported = r.reported + fill.qty, r.fee_reported + fill.fee
        if str(info.get("X")) in ("FILLED", "CANCELED", "EXPIRED"):
            self.resting.pop(key, None)
            self.children = {c: k for c, k in self.children.items() if k != key}
        self.ready.append(fill)
        self.streamed += 1
        return True

    def take_streamed(self) -> list[Fill]:
        """The fills booked from the stream since the last call (the stream task publishes
        them: a fill poll stuck in REST retries does not hold them back)."""
        ready, self.ready = self.ready, []
        return ready

    def note_price(self, symbol: str, mark: float) -> None:
        for oid, r in self.resting.items():
            if r.symbol == symbol and r.crossed(mark):
                self._point(oid)

    def _point(self, oid: str) -> None:
        self.dirty.add(oid)
        self.wake.set()

    # ------------------------------------------------------------------ polling
    async def take(self) -> list[Fill]:
        now = time.monotonic()
        if not self.streaming or now - self._last_sweep >= self.sweep_s:
            self._last_sweep, self.sweeps = now, self.sweeps + 1
            self.dirty.clear()
            return await self._sweep()
        pointed = sorted(self.dirty & set(self.resting))
        self.dirty.clear()
        fills: list[Fill] = []
        for k, oid in enumerate(pointed):
            try:
                fills.extend(await self._poll(oid, self.resting[oid], None))
            except Exception:
                self.dirty.update(pointed[k:])  # read again on the next poll
                raise
        return fills

    async def _sweep(self) -> list[Fill]:
        fills: list[Fill] = []
        for symbol in sorted({r.symbol for r in self.resting.values()}):
            still_open = {o.id: o for o in await self.adapter.fetch_open_orders(symbol)}
            for oid, r in [(i, r) for i, r in self.resting.items() if r.symbol == symbol]:
                fills.extend(await self._poll(oid, r, still_open.get(oid)))
        return fills

    async def _poll(self, oid: str, r: Resting, live: Order | None) -> list[Fill]:
        a = self.adapter
        if live is not None and (r.algo or live.filled_qty <= r.reported):
            return []
        if r.algo:
            progress = await a.stop_progress(oid, r)
            if progress.finished:
                self.resting.pop(oid, None)
            return self._stop_delta(oid, r, progress)
        order = live or plain_order(await a.fetch_raw(oid, r.symbol))
        if not order.status.live:
            self.resting.pop(oid, None)
        return await self._delta(oid, r, order, oid)

    async def _delta(self, oid: str, r: Resting, order: Order, trades_of: str) -> list[Fill]:
        if order.filled_qty - r.reported <= 1e-12:
            return []
        fee_total = await self.adapter.fees(r.symbol, trades_of)
        qty = order.filled_qty - r.reported  # again: the stream may have booked it meanwhile
        if qty <= 1e-12:
            return []
        fee, r.fee_reported = fee_total - r.fee_reported, fee_total
        r.reported = order.filled_qty
        price = order.avg_price or order.price
        tid = trade_id(oid, order.filled_qty)
        return [Fill(oid, r.client_id, r.symbol, r.side, qty, price, fee, order.ts, True, tid)]

    @staticmethod
    def _stop_delta(oid: str, r: Resting, p: StopProgress) -> list[Fill]:
        qty = p.filled - r.reported  # the stream may have booked part of it meanwhile
        if qty <= 1e-12:
            return []
        fee, r.fee_reported = p.fee - r.fee_reported, p.fee
        r.reported = p.filled
        tid = trade_id(oid, p.filled)
        return [Fill(oid, r.client_id, r.symbol, r.side, qty, p.price, fee, p.ts, True, tid)]


def stream_fill(key: str, r: Resting, info: dict[str, Any]) -> Fill | None:
    """The Fill an ``ORDER_TRADE_UPDATE`` carries, if it is one whole unreported trade with its
    fee in the quote currency; keyed like REST's (order, cumulative quantity): found both ways,
    it is one trade id."""
    try:
        last, cumulative = float(info.get("l") or 0.0), float(info.get("z") or 0.0)
        price, fee, ts = float(info.get("L") or 0.0), float(info.get("n") or 0.0), int(info["T"])
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (last, cumulative, price, fee)):
        return None
    quote = r.symbol.rsplit(":", 1)[-1]
    whole = abs(cumulative - r.reported - last) <= 1e-9 * max(1.0, cumulative)
    if info.get("x") != "TRADE" or last <= 0 or price <= 0 or not whole:
        return None
    if fee != 0 and str(info.get("N") or quote) != quote:
        return None  # a fee in BNB: REST's trade list says what it was worth
    return Fill(
        key, r.client_id, r.symbol, r.side, last, price, fee, ts, True, trade_id(key, cumulative)
    )
