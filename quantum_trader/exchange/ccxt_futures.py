"""Any ccxt USDT-margined perpetual-futures venue, behind ``Exchange``, through ccxt's unified API
only (the venue's specifics live in subclasses: :class:`exchange.binance.BinanceUsdm`).

- What the venue can do is checked before anything is sent (:mod:`exchange.venues`, ccxt's
  ``has``); a market must be a linear swap settled in USDT.
- Hard stops are reduce-only market orders with ccxt's unified ``stopLossPrice`` for the position's
  whole quantity (read from the venue when the stop is placed); they are read, listed and cancelled
  with ccxt's unified ``{"trigger": True}``.
- A stop's fill: what the trigger order itself reports filled (ccxt's convention); a venue that
  executes a triggered stop as a new order reports nothing there, and the stop's fill is then the
  closing-side trades since the stop was placed whose order is none of ours (the child order).
- TP legs are reduce-only GTC limits; quantities and prices through ``amount_to_precision`` /
  ``price_to_precision``.
- Orders are never retried here (execution looks an order up by its client id first); a duplicate
  client id (ccxt's ``DuplicateOrderId``) means the order exists: it is looked up and returned.
  Reads, cancels and settings are retried with backoff. ccxt's error classes decide the error family
  (:mod:`exchange.ccxt_errors`).
- Fills of resting orders are found by REST polling (:mod:`exchange.binance_fills`' ``FillWatch``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from loguru import logger

from quantum_trader.core.liquidation import Bracket, BracketTable
from quantum_trader.core.sizing import MarketRules
from quantum_trader.core.types import Fill, OrderSide, Side
from quantum_trader.exchange.base import (
    Balance,
    FatalExchangeError,
    Order,
    OrderRejected,
    OrderType,
    Position,
)
from quantum_trader.exchange.binance_fills import FillWatch, Resting
from quantum_trader.exchange.binance_orders import plain_order, stop_order, with_fee
from quantum_trader.exchange.ccxt_errors import call, retry_after_of

log = logger.bind(component="venue")
T = TypeVar("T")
#: a rejection that means "the order exists already" / "the margin mode is already so"
DUPLICATE = ("duplicate",)
MODE_ALREADY_SET = ("margin-mode-set",)
NOT_FOUND = ("not-found", "invalid", "bad-request")
KNOWN_KEPT = 4096  # order ids of ours remembered (a stop's child is told from them)


@dataclass(frozen=True, slots=True)
class StopProgress:
    """How far a resting stop has filled: cumulative quantity, average price, fees, and whether
    the stop is finished (filled, cancelled, expired) and can be forgotten."""

    filled: float
    price: float
    fee: float
    ts: int
    finished: bool


class CcxtFutures:
    """``client`` is a ``ccxt.async_support`` (or ``ccxt.pro``) exchange instance."""

    duplicate_codes: tuple[str, ...] = DUPLICATE
    mode_set_codes: tuple[str, ...] = MODE_ALREADY_SET
    not_found_codes: tuple[str, ...] = NOT_FOUND
    hedge_hint = ""  # where the venue's setting is

    def __init__(
        self, client: Any, name: str, read_retries: int = 4, sweep_s: float = 30.0
    ) -> None:
        self.client, self.name, self.read_retries = client, name, read_retries
        # without a venue-side expiry (Binance's recvWindow) an unanswered order is presumed able
        # to land for a minute: only then does "not found" mean never executed
        self.order_expiry_ms = 60_000
        self._brackets: dict[str, BracketTable] = {}
        self._isolated: set[str] = set()
        self._leverage: dict[str, int] = {}
        self.fills = FillWatch(self, sweep_s)
        self.wake = self.fills.wake
        self.known: dict[str, None] = {}  # order ids of ours, oldest first
        self.algo_ids: set[str] = set()  # stop (trigger) orders: read and cancelled as such

    # ------------------------------------------------------------------ plumbing
    async def _call(self, what: str, fn: Callable[[], Awaitable[T]], read: bool = True) -> T:
        return await call(
            what, fn, self.read_retries if read else 0, lambda: retry_after_of(self.client)
        )

    def _has(self, what: str) -> bool:
        return bool((getattr(self.client, "has", None) or {}).get(what))

    def _remember(self, order_id: str) -> None:
        self.known[order_id] = None
        while len(self.known) > KNOWN_KEPT:
            self.known.pop(next(iter(self.known)))

    async def start(self) -> None:
        """Markets, and a one-way position mode where the venue says (hedge mode is refused)."""
        await self._call("load markets", lambda: self.client.load_markets())
        if self._has("fetchPositionMode"):
            mode = await self._call("position mode", lambda: self.client.fetch_position_mode())
            if mode.get("hedged"):
                raise FatalExchangeError(
                    f"{self.client.id}: the account is in hedge position mode; qtrader needs "
                    f"one-way mode (a stop would not close the position){self.hedge_hint}"
                )

    def _market(self, symbol: str) -> dict[str, Any]:
        market: dict[str, Any] = self.client.market(symbol)
        if not (market.get("swap") and market.get("linear") and market.get("settle") == "USDT"):
            raise FatalExchangeError(
                f"{self.client.id} {symbol}: not a USDT-margined linear perpetual"
            )
        if float(market.get("contractSize") or 1.0) != 1.0:
            raise FatalExchangeError(
                f"{self.client.id} {symbol}: one contract is {market.get('contractSize')} of the "
                "base asset; qtrader trades venues whose contract is one unit of it"
            )
        return market

    # ------------------------------------------------------------------ rules
    async def market_rules(self, symbol: str) -> MarketRules:
        m = self._market(symbol)
        limits, precision = m.get("limits") or {}, m.get("precision") or {}
        step = float(precision.get("amount") or 0.001)
        return MarketRules(
            qty_step=step,
            min_qty=float((limits.get("amount") or {}).get("min") or step),
            max_qty=float((limits.get("amount") or {}).get("max") or 1e9),
            min_notional=float((limits.get("cost") or {}).get("min") or 0.0),
            price_tick=float(precision.get("price") or 0.0),
        )

    async def brackets(self, symbol: str) -> BracketTable:
        if symbol not in self._brackets:
            rows = sorted(await self._tiers(symbol), key=lambda t: float(t["minNotional"]))
            self._brackets[symbol] = BracketTable(
                tuple(
                    Bracket(
                        float(t["minNotional"]),
                        float(t["maxNotional"]),
                        float(t["maxLeverage"]),
                        float(t["maintenanceMarginRate"]),
                        float((t.get("info") or {}).get("cum") or 0.0),
                    )
                    for t in rows
                )
            )
        return self._brackets[symbol]

    async def _tiers(self, symbol: str) -> list[dict[str, Any]]:
        if self._has("fetchLeverageTiers"):
            tiers = await self._call(
                "leverage tiers", lambda: self.client.fetch_leverage_tiers([symbol])
            )
            return list(tiers[symbol])
        rows = await self._call(
            "leverage tiers", lambda: self.client.fetch_market_leverage_tiers(symbol)
        )
        return list(rows)

    async def prepare_symbol(self, symbol: str, leverage: int) -> None:
        if symbol not in self._isolated:
            if self._has("setMarginMode"):
                try:
                    await self._call(
                        "margin mode", lambda: self.client.set_margin_mode("isolated", symbol)
                    )
                except OrderRejected as exc:
                    if not exc.is_one_of(self.mode_set_codes):
                        raise
            else:
                log.warning("{} cannot set the margin mode: the account's is used", self.name)
            self._isolated.add(symbol)
        if self._leverage.get(symbol) != leverage:
            await self._call("leverage", lambda: self.client.set_leverage(leverage, symbol))
            self._leverage[symbol] = leverage

    # ------------------------------------------------------------------ orders
    async def create_market_order(
        self, symbol: str, side: OrderSide, qty: float, client_id: str, reduce_only: bool = False
    ) -> Order:
        amount = float(self.client.amount_to_precision(symbol, qty))
        params: dict[str, Any] = {"clientOrderId": client_id}
        if reduce_only:
            params["reduceOnly"] = True
        raw = await self._create(
            client_id,
            lambda: self.client.create_order(
                symbol, "market", side.value.lower(), amount, None, params
            ),
            symbol,
        )
        order = await self.settled(symbol, raw)
        self._remember(order.id)
        fee = await self.fees(symbol, order.id)
        return with_fee(order, fee)

    async def create_limit_order(
        self,
        symbol: str,
        side: OrderSide,
        qty: float,
        price: float,
        client_id: str,
        reduce_only: bool = True,
    ) -> Order:
        amount = float(self.client.amount_to_precision(symbol, qty))
        px = float(self.client.price_to_precision(symbol, price))
        params = {"clientOrderId": client_id, "reduceOnly": reduce_only, "timeInForce": "GTC"}
        raw = await self._create(
            client_id,
            lambda: self.client.create_order(
                symbol, "limit", side.value.lower(), amount, px, params
            ),
            symbol,
        )
        order = plain_order(raw)
        await self.track(order)
        return order

    async def create_stop_market(
        self, symbol: str, side: OrderSide, stop_price: float, client_id: str
    ) -> Order:
        trigger = float(self.client.price_to_precision(symbol, stop_price))
        held = sum(p.qty for p in await self.fetch_positions() if p.symbol == symbol)
        if held <= 0:
            raise OrderRejected("no-position", f"{symbol}: no position for a stop to close")
        amount = float(self.client.amount_to_precision(symbol, held))
        params = {"stopLossPrice": trigger, "reduceOnly": True, "clientOrderId": client_id}
        raw = await self._create(
            client_id,
            lambda: self.client.create_order(
                symbol, "market", side.value.lower(), amount, None, params
            ),
            symbol,
        )
        order = self.parse_stop(raw)
        await self.track(order)
        return order

    def parse_stop(self, raw: dict[str, Any]) -> Order:
        return stop_order(raw)

    async def _create(
        self, client_id: str, send: Callable[[], Awaitable[dict[str, Any]]], symbol: str
    ) -> dict[str, Any]:
        try:
            return await self._call(f"order {client_id}", send, read=False)
        except OrderRejected as exc:
            if not exc.is_one_of(self.duplicate_codes):
                raise
        log.warning("{} already exists on the exchange: using it", client_id)
        found = await self._find_raw(symbol, client_id)
        if found is None:
            raise OrderRejected("duplicate", f"{client_id} is a duplicate but cannot be found")
        return found

    async def settled(self, symbol: str, raw: dict[str, Any]) -> Order:
        """A market order answered before it finished filling: read it back until it has."""
        order = plain_order(raw)
        for _ in range(10):
            if not order.status.live:
                return order
            order = plain_order(await self.fetch_raw(order.id, symbol))
        return order

    async def fetch_raw(self, order_id: str, symbol: str, algo: bool = False) -> dict[str, Any]:
        params = {"trigger": True} if algo else {}

        async def fetch() -> dict[str, Any]:
            raw: dict[str, Any] = await self.client.fetch_order(order_id, symbol, params)
            return raw

        return await self._call("stop order" if algo else "order status", fetch)

    async def fees(self, symbol: str, order_id: str) -> float:
        trades = await self._call(
            "trades", lambda: self.client.fetch_my_trades(symbol, None, None, {"orderId": order_id})
        )
        return sum(float((t.get("fee") or {}).get("cost") or 0.0) for t in trades)

    async def stop_progress(self, order_id: str, r: Resting) -> StopProgress:
        o = plain_order(await self.fetch_raw(order_id, r.symbol, algo=True))
        if o.filled_qty > 0:
            fee = await self.fees(r.symbol, order_id)
            return StopProgress(o.filled_qty, o.avg_price, fee, o.ts, not o.status.live)
        if o.status.live:
            return StopProgress(0.0, 0.0, 0.0, o.ts, False)
        # finished with nothing filled on itself: executed as a new order, or cancelled
        since = o.ts or None
        trades = await self._call("trades", lambda: self.client.fetch_my_trades(r.symbol, since))
        closing = [
            t
            for t in trades
            if str(t.get("side") or "").upper() == r.side.value
            and str(t.get("order") or "") not in self.known
            and float(t.get("amount") or 0.0) > 0
        ]
        qty = sum(float(t["amount"]) for t in closing)
        cost = sum(float(t["amount"]) * float(t["price"]) for t in closing)
        fee = sum(float((t.get("fee") or {}).get("cost") or 0.0) for t in closing)
        ts = max((int(t.get("timestamp") or 0) for t in closing), default=o.ts)
        return StopProgress(qty, cost / qty if qty > 0 else 0.0, fee, ts, True)

    async def cancel_order(self, symbol: str, order_id: str) -> None:
        """The order stays watched until the exchange reports it finished: a fill that raced the
        cancel is still reported (the fill wins)."""
        params = {"trigger": True} if order_id in self.algo_ids else {}
        await self._call(
            f"cancel {order_id}", lambda: self.client.cancel_order(order_id, symbol, params)
        )

    async def _find_raw(self, symbol: str, client_id: str) -> dict[str, Any] | None:
        plain: dict[str, Any] = {"clientOrderId": client_id}
        for params in (plain, {**plain, "trigger": True}):

            async def look(p: dict[str, Any] = params) -> dict[str, Any]:
                raw: dict[str, Any] = await self.client.fetch_order("", symbol, p)
                return raw

            try:
                return await self._call(f"look up {client_id}", look)
            except OrderRejected as exc:
                if not exc.is_one_of(self.not_found_codes):
                    raise
        return None

    async def fetch_order_by_client_id(self, symbol: str, client_id: str) -> Order | None:
        raw = await self._find_raw(symbol, client_id)
        if raw is None:
            return None
        return self.parse_stop(raw) if self.is_stop(raw) else plain_order(raw)

    def is_stop(self, raw: dict[str, Any]) -> bool:
        return bool(raw.get("triggerPrice") or raw.get("stopLossPrice") or raw.get("stopPrice"))

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        plain = await self._call("open orders", lambda: self.client.fetch_open_orders(symbol))
        stops = await self._call(
            "open stop orders",
            lambda: self.client.fetch_open_orders(symbol, None, None, {"trigger": True}),
        )
        orders = [plain_order(r) for r in plain] + [self.parse_stop(r) for r in stops]
        self.algo_ids.update(o.id for o in orders if o.type is OrderType.STOP_MARKET)
        return orders

    async def track(self, order: Order) -> None:
        """Watch a resting order (TP leg or stop) for fills; reconciliation re-tracks them."""
        self._remember(order.id)
        if order.type is OrderType.STOP_MARKET:
            self.algo_ids.add(order.id)
        self.fills.track(order)

    @property
    def streaming(self) -> bool:
        return self.fills.streaming

    @streaming.setter
    def streaming(self, up: bool) -> None:
        self.fills.streaming = up

    # ------------------------------------------------------------------ account
    async def fetch_positions(self) -> list[Position]:
        rows = await self._call("positions", lambda: self.client.fetch_positions())
        out = []
        for p in rows:
            size = float(p.get("contracts") or 0.0)  # one contract is one base unit (_market)
            if size <= 0:
                continue
            info = p.get("info") or {}
            symbol = p["symbol"]
            notional, im = abs(float(p.get("notional") or 0.0)), float(p.get("initialMargin") or 0)
            lev = int(float(info.get("leverage") or p.get("leverage") or 0)) or (
                round(notional / im) if im > 0 else self._leverage.get(symbol, 1)
            )
            out.append(
                Position(
                    symbol,
                    Side.LONG if p.get("side") == "long" else Side.SHORT,
                    size,
                    float(p.get("entryPrice") or 0.0),
                    lev,
                    float(p.get("collateral") or im),
                    float(p.get("liquidationPrice") or 0.0),
                    float(p.get("unrealizedPnl") or 0.0),
                )
            )
        return out

    async def fetch_balance(self) -> Balance:
        return unified_balance(await self._call("balance", lambda: self.client.fetch_balance()))

    async def funding_paid(self, symbol: str, since_ts: int) -> float:
        """One attempt, no retries: a close is booked at once, and a failed read is booked as 0
        (logged; the wallet, which the risk limits read, has the real figure)."""
        if not self._has("fetchFundingHistory"):
            return 0.0
        rows = await self._call(
            "funding history",
            lambda: self.client.fetch_funding_history(symbol, since_ts),
            read=False,
        )
        return sum(float(r.get("amount") or 0.0) for r in rows)

    async def fetch_trades_since(self, symbol: str, since_ts: int) -> list[Fill]:
        rows = await self._call(
            "trade history", lambda: self.client.fetch_my_trades(symbol, since_ts)
        )
        return [
            Fill(
                str(t.get("order") or ""),
                "",
                symbol,
                OrderSide(str(t.get("side") or "buy").upper()),
                float(t["amount"]),
                float(t["price"]),
                float((t.get("fee") or {}).get("cost") or 0.0),
                int(t.get("timestamp") or since_ts),
                False,
                f"T{t.get('id')}",
            )
            for t in rows
            if float(t.get("amount") or 0.0) > 0 and float(t.get("price") or 0.0) > 0
        ]

    async def take_fills(self) -> list[Fill]:
        return await self.fills.take()

    async def close(self) -> None:
        await self.client.close()


def unified_balance(raw: dict[str, Any]) -> Balance:
    """ccxt's unified USDT balance (no unrealised PnL in it: wallet and margin balance alike)."""
    usdt = raw.get("USDT") or {}
    total, free = float(usdt.get("total") or 0.0), float(usdt.get("free") or 0.0)
    used = float(usdt.get("used") or total - free)
    return Balance(total, total, used, free)
