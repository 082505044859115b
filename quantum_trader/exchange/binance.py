"""Binance USDⓈ-M through ccxt (``ccxt.async_support.binanceusdm``), behind ``Exchange``.

- Hard stops are STOP_MARKET ``closePosition`` orders triggered on the MARK price; ccxt ≥ 4.5.27
  routes them to the algo-order API (the plain order endpoint answers -4120 since Dec 2025).
  Their ids are algo ids; cancels and look-ups of them go to the algo endpoints.
- TP legs are reduce-only GTC limits. Quantities and prices go through ccxt's
  ``amount_to_precision`` / ``price_to_precision``.
- Orders are never retried here: execution looks an order up by its client id before any retry.
  A duplicate client id (-4116) means the order exists: it is looked up and returned.
  Reads, cancels and settings are retried with backoff (429/418: Retry-After).
- Fills of resting orders are found by REST polling, hastened by the websocket streams
  (:mod:`exchange.binance_fills`, :mod:`exchange.binance_streams`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
from quantum_trader.exchange.binance_fills import FillWatch
from quantum_trader.exchange.binance_orders import algo_order, plain_order, with_fee
from quantum_trader.exchange.ccxt_errors import call

log = logger.bind(component="binance")
T = TypeVar("T")


class BinanceUsdm:
    """``client`` is a ``ccxt.async_support.binanceusdm`` (see :mod:`exchange.binance_client`)."""

    def __init__(
        self, client: Any, name: str, read_retries: int = 4, sweep_s: float = 30.0
    ) -> None:
        self.client, self.name, self.read_retries = client, name, read_retries
        # a request not executed within its recvWindow never will be (Binance rejects it)
        window = int(client.options.get("recvWindow") or 5_000)
        self.order_expiry_ms = window + 1_000  # plus clock skew and transit
        self._brackets: dict[str, BracketTable] = {}
        self._isolated: set[str] = set()
        self._leverage: dict[str, int] = {}
        self.fills = FillWatch(self, sweep_s)
        self.wake = self.fills.wake  # the fill poller wakes when the streams point at an order
        self.algo_ids: set[str] = set()

    # ------------------------------------------------------------------ plumbing
    async def _call(self, what: str, fn: Callable[[], Awaitable[T]], read: bool = True) -> T:
        def retry_after() -> str | None:
            headers = getattr(self.client, "last_response_headers", None) or {}
            return headers.get("Retry-After") or headers.get("retry-after")

        return await call(what, fn, self.read_retries if read else 0, retry_after)

    async def start(self) -> None:
        """Markets, and a one-way position mode (hedge mode is refused: stops would not close)."""
        await self._call("load markets", lambda: self.client.load_markets())
        mode = await self._call("position mode", lambda: self.client.fetch_position_mode())
        if mode.get("hedged"):
            raise FatalExchangeError(
                "the account is in hedge (dual-side) position mode; qtrader needs one-way mode "
                "(Binance → Futures → Preferences → Position Mode)"
            )

    def _market(self, symbol: str) -> dict[str, Any]:
        market: dict[str, Any] = self.client.market(symbol)
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
            tiers = await self._call(
                "leverage tiers", lambda: self.client.fetch_leverage_tiers([symbol])
            )
            rows = sorted(tiers[symbol], key=lambda t: float(t["minNotional"]))
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

    async def prepare_symbol(self, symbol: str, leverage: int) -> None:
        if symbol not in self._isolated:
            try:
                await self._call(
                    "margin mode", lambda: self.client.set_margin_mode("isolated", symbol)
                )
            except OrderRejected as exc:
                if exc.code != "-4046":  # "No need to change margin type": already isolated
                    raise
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
        params = {
            "triggerPrice": trigger,
            "closePosition": True,
            "workingType": "MARK_PRICE",
            "clientOrderId": client_id,
        }
        raw = await self._create(
            client_id,
            lambda: self.client.create_order(
                symbol, "STOP_MARKET", side.value.lower(), None, None, params
            ),
            symbol,
        )
        order = algo_order(raw)
        await self.track(order)
        return order

    async def _create(
        self, client_id: str, send: Callable[[], Awaitable[dict[str, Any]]], symbol: str
    ) -> dict[str, Any]:
        try:
            return await self._call(f"order {client_id}", send, read=False)
        except OrderRejected as exc:
            if exc.code != "-4116":
                raise
        log.warning("{} already exists on the exchange (-4116): using it", client_id)
        found = await self._find_raw(symbol, client_id)
        if found is None:
            raise OrderRejected("-4116", f"{client_id} is a duplicate but cannot be found")
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

        return await self._call("algo order" if algo else "order status", fetch)

    async def fees(self, symbol: str, order_id: str) -> float:
        trades = await self._call(
            "trades", lambda: self.client.fetch_my_trades(symbol, None, None, {"orderId": order_id})
        )
        return sum(float((t.get("fee") or {}).get("cost") or 0.0) for t in trades)

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
                if exc.code not in ("-2013", "-2011", "invalid", "bad-request"):
                    raise
        return None

    async def fetch_order_by_client_id(self, symbol: str, client_id: str) -> Order | None:
        raw = await self._find_raw(symbol, client_id)
        if raw is None:
            return None
        return algo_order(raw) if "algoId" in (raw.get("info") or {}) else plain_order(raw)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        plain = await self._call("open orders", lambda: self.client.fetch_open_orders(symbol))
        algo = await self._call(
            "open algo orders",
            lambda: self.client.fetch_open_orders(symbol, None, None, {"trigger": True}),
        )
        orders = [plain_order(r) for r in plain] + [algo_order(r) for r in algo]
        self.algo_ids.update(o.id for o in orders if o.type is OrderType.STOP_MARKET)
        return orders

    async def track(self, order: Order) -> None:
        """Watch a resting order (TP leg or stop) for fills; reconciliation re-tracks them."""
        if order.type is OrderType.STOP_MARKET:
            self.algo_ids.add(order.id)
        self.fills.track(order)

    @property
    def streaming(self) -> bool:
        return self.fills.streaming

    @streaming.setter
    def streaming(self, up: bool) -> None:
        self.fills.streaming = up

    def note_order(self, update: dict[str, Any]) -> list[Fill]:
        """A user-data stream update: the fills it carries whole (booked from the stream)."""
        self.fills.note_order(update)
        return self.fills.take_streamed()

    def note_price(self, symbol: str, mark: float) -> None:
        self.fills.note_price(symbol, mark)

    # ------------------------------------------------------------------ account
    async def fetch_positions(self) -> list[Position]:
        rows = await self._call("positions", lambda: self.client.fetch_positions())
        out = []
        for p in rows:
            contracts = float(p.get("contracts") or 0.0)
            if contracts <= 0:
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
                    contracts,
                    float(p.get("entryPrice") or 0.0),
                    lev,
                    float(p.get("collateral") or im),
                    float(p.get("liquidationPrice") or 0.0),
                    float(p.get("unrealizedPnl") or 0.0),
                )
            )
        return out

    async def fetch_balance(self) -> Balance:
        raw = await self._call("balance", lambda: self.client.fetch_balance())
        assets = (raw.get("info") or {}).get("assets") or []
        usdt = next((a for a in assets if a.get("asset") == "USDT"), None)
        if usdt is None:
            total = float((raw.get("USDT") or {}).get("total") or 0.0)
            free = float((raw.get("USDT") or {}).get("free") or 0.0)
            return Balance(total, total, total - free, free)
        return Balance(
            float(usdt["walletBalance"]),
            float(usdt["marginBalance"]),
            float(usdt.get("positionInitialMargin") or usdt.get("initialMargin") or 0.0),
            float(usdt["availableBalance"]),
        )

    async def funding_paid(self, symbol: str, since_ts: int) -> float:
        """One attempt, no retries: a close is booked at once, and a failed read is booked as 0
        (logged; the wallet, which the risk limits read, has the real figure)."""
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
