"""The paper exchange's account: orders, positions, margin and fills, Binance-like (one-way mode,
isolated margin). The candle walk that triggers resting orders is
:class:`~quantum_trader.exchange.paper_engine.PaperEngine`.

- Market orders fill at once at the latest price ± slippage (taker fee). In a continuous 24/7
  market the next candle opens at the last close, so this is the "next price" without waiting.
- A reduce-only order larger than the position fills only the position (as Binance shrinks it).
- Resting orders: reduce-only limits (maker fee, at their price) and close-position STOP_MARKETs
  (taker fee, at the stop ∓ slippage). Triggers use the last price (paper has no separate mark).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import replace

from quantum_trader.core.liquidation import tiered_liquidation_price
from quantum_trader.core.sizing import MarketRules, rules_for_price
from quantum_trader.core.types import Fill, OrderSide, Side, trade_id
from quantum_trader.exchange.base import (
    Balance,
    Order,
    OrderRejected,
    OrderStatus,
    OrderType,
    Position,
)
from quantum_trader.exchange.paper_rules import (
    FundingPayment,
    PaperConfig,
    PaperPosition,
    check_qty,
    check_reduce,
    side_of,
)

KEEP_FINISHED = 50_000  # finished orders kept for lookups by id / client id
KEEP_EXECUTIONS = 5_000  # executions kept for :meth:`fetch_trades_since` (in memory only)


class PaperAccount:
    def __init__(self, config: PaperConfig, rules: Mapping[str, MarketRules] | None = None) -> None:
        self.cfg = config
        self._rules = dict(rules or {})
        self.wallet = config.starting_balance
        self.positions: dict[str, PaperPosition] = {}
        self.orders: dict[str, Order] = {}
        self._live: dict[str, dict[str, None]] = {}  # symbol → live order ids, in order
        self._finished: deque[str] = deque()
        self._client: dict[str, str] = {}
        self.leverage: dict[str, int] = {}
        self.last: dict[str, float] = {}
        self.funding_rate: dict[str, float] = {}
        self._next_funding: dict[str, int] = {}
        self.funding: list[FundingPayment] = []
        self.fills: list[Fill] = []
        self.executions: deque[Fill] = deque(maxlen=KEEP_EXECUTIONS)  # the trade history
        self.liquidations = 0
        self.now = 0
        self.seen: dict[str, int] = {}  # symbol → the open time of the last candle walked
        self._seq = 0

    # ------------------------------------------------------------------ queries
    def rules(self, symbol: str) -> MarketRules:
        known = self._rules.get(symbol)
        if known is not None:
            return known
        if self.cfg.auto_rules and symbol in self.last:
            self._rules[symbol] = rules_for_price(self.last[symbol])
            return self._rules[symbol]
        return self.cfg.default_rules

    def _unrealised(self, symbol: str, pos: PaperPosition) -> float:
        price = self.last.get(symbol, pos.entry)
        return pos.side.sign * (price - pos.entry) * pos.qty

    def balance(self) -> Balance:
        used = sum(p.margin for p in self.positions.values())
        upnl = [self._unrealised(s, p) for s, p in self.positions.items()]
        equity = self.wallet + sum(upnl)
        available = max(0.0, self.wallet - used + sum(min(0.0, u) for u in upnl))
        return Balance(self.wallet, equity, used, available)

    def position(self, symbol: str) -> Position | None:
        pos = self.positions.get(symbol)
        if pos is None:
            return None
        liq = pos.liq
        return Position(
            symbol,
            pos.side,
            pos.qty,
            pos.entry,
            pos.leverage,
            pos.margin,
            liq,
            self._unrealised(symbol, pos),
        )

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Live orders only, from the index: O(open orders), not O(orders ever placed)."""
        symbols = [symbol] if symbol is not None else list(self._live)
        return [self.orders[i] for s in symbols for i in self._live.get(s, ())]

    def has_live_orders(self, symbol: str) -> bool:
        return bool(self._live.get(symbol))

    def _set(self, order: Order) -> Order:
        """Store an order's new state and keep the live index and the bounded history."""
        self.orders[order.id] = order
        live = self._live.setdefault(order.symbol, {})
        if order.status.live:
            live[order.id] = None
            return order
        if live.pop(order.id, 1) is None:  # it was live: now finished
            self._finished.append(order.id)
            while len(self._finished) > KEEP_FINISHED:
                old = self.orders.pop(self._finished.popleft())
                self._client.pop(old.client_id, None)
        return order

    def by_client_id(self, client_id: str) -> Order | None:
        oid = self._client.get(client_id)
        return self.orders.get(oid) if oid else None

    def funding_paid(self, symbol: str, since_ts: int) -> float:
        return sum(f.amount for f in self.funding if f.symbol == symbol and f.ts >= since_ts)

    # ------------------------------------------------------------------ commands
    def set_leverage(self, symbol: str, leverage: int) -> None:
        if not 1 <= leverage <= self.cfg.brackets.brackets[0].max_leverage:
            raise OrderRejected("-4028", f"Leverage {leverage} is not valid")
        self.leverage[symbol] = leverage

    def _new_order(
        self,
        symbol: str,
        side: OrderSide,
        kind: OrderType,
        qty: float,
        client_id: str,
        price: float = 0.0,
        stop_price: float = 0.0,
        reduce_only: bool = False,
    ) -> Order:
        if client_id in self._client:
            raise OrderRejected("-4116", "ClientOrderId is duplicated.")
        self._seq += 1
        order = Order(
            id=f"P{self._seq}",
            client_id=client_id,
            symbol=symbol,
            side=side,
            type=kind,
            qty=qty,
            status=OrderStatus.NEW,
            price=price,
            stop_price=stop_price,
            reduce_only=reduce_only,
            close_position=kind is OrderType.STOP_MARKET,
            ts=self.now,
        )
        self._client[client_id] = order.id
        return self._set(order)

    def _side(self, symbol: str) -> Side | None:
        pos = self.positions.get(symbol)
        return pos.side if pos is not None else None

    def _price(self, symbol: str) -> float:
        if symbol not in self.last:
            raise OrderRejected("-1121", f"no price yet for {symbol}")
        return self.last[symbol]

    def market(
        self, symbol: str, side: OrderSide, qty: float, client_id: str, reduce_only: bool = False
    ) -> Order:
        last = self._price(symbol)
        check_qty(self.rules(symbol), qty, last, reduce_only)
        if reduce_only:
            check_reduce(self._side(symbol), side)
        price = (
            last * (1 + self.cfg.slippage)
            if side is OrderSide.BUY
            else last * (1 - self.cfg.slippage)
        )
        if not reduce_only:
            self._check_margin(symbol, side, qty, price)
        order = self._new_order(
            symbol, side, OrderType.MARKET, qty, client_id, reduce_only=reduce_only
        )
        if reduce_only:  # Binance shrinks a reduce-only order to the position
            qty = min(qty, self.positions[symbol].qty)
        return self._execute(order, qty, price, maker=False)

    def _check_margin(self, symbol: str, side: OrderSide, qty: float, price: float) -> None:
        pos = self.positions.get(symbol)
        if pos is not None and pos.side is not side_of(side):
            return  # reducing first
        lev = self.leverage.get(symbol, 20)
        need = qty * price / lev + qty * price * self.cfg.taker_fee
        if need > self.balance().available:
            raise OrderRejected("-2019", "Margin is insufficient.")

    def limit(
        self,
        symbol: str,
        side: OrderSide,
        qty: float,
        price: float,
        client_id: str,
        reduce_only: bool = True,
    ) -> Order:
        last = self._price(symbol)
        check_qty(self.rules(symbol), qty, price, reduce_only)
        if reduce_only:
            check_reduce(self._side(symbol), side)
        order = self._new_order(
            symbol, side, OrderType.LIMIT, qty, client_id, price=price, reduce_only=reduce_only
        )
        marketable = price <= last if side is OrderSide.SELL else price >= last
        return self._execute(order, qty, last, maker=False) if marketable else order

    def stop_market(self, symbol: str, side: OrderSide, stop_price: float, client_id: str) -> Order:
        last = self._price(symbol)
        if stop_price <= 0:
            raise OrderRejected("-1102", "stopPrice must be > 0")
        if (side is OrderSide.SELL and stop_price >= last) or (
            side is OrderSide.BUY and stop_price <= last
        ):
            raise OrderRejected("-2021", "Order would immediately trigger.")
        return self._new_order(
            symbol,
            side,
            OrderType.STOP_MARKET,
            0.0,
            client_id,
            stop_price=stop_price,
            reduce_only=True,
        )

    def cancel(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None or not order.status.live:
            raise OrderRejected("-2011", "Unknown order sent.")
        return self._set(replace(order, status=OrderStatus.CANCELED))

    # ------------------------------------------------------------------ matching
    def _execute(
        self, order: Order, qty: float, price: float, maker: bool, resting: bool = False
    ) -> Order:
        fee = qty * price * (self.cfg.maker_fee if maker else self.cfg.taker_fee)
        self.wallet -= fee
        side = side_of(order.side)
        pos = self.positions.get(order.symbol)
        if pos is None or pos.side is side:
            self._open(order.symbol, side, qty, price)
        else:
            closing = min(qty, pos.qty)
            self.wallet += pos.side.sign * (price - pos.entry) * closing
            pos.margin -= pos.margin * closing / pos.qty
            pos.qty = round(pos.qty - closing, 12)
            if pos.qty <= 0:
                del self.positions[order.symbol]
                self._expire_closers(order.symbol)
            else:
                self._refresh_liq(pos)
            rest = round(qty - closing, 12)
            if rest > 0 and not order.reduce_only:
                self._open(order.symbol, side, rest, price)
        done = replace(
            order, status=OrderStatus.FILLED, filled_qty=qty, avg_price=price, fee=fee, ts=self.now
        )
        self._set(done)
        fill = Fill(
            order.id,
            order.client_id,
            order.symbol,
            order.side,
            qty,
            price,
            fee,
            self.now,
            order.reduce_only,
            trade_id(order.id, qty),
        )
        self.executions.append(fill)
        if resting:  # immediate fills come back in the order response
            self.fills.append(fill)
        return done

    def _open(self, symbol: str, side: Side, qty: float, price: float) -> None:
        lev = self.leverage.get(symbol, 20)
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = PaperPosition(side, qty, price, qty * price / lev, lev)
        else:
            total = pos.qty + qty
            pos.entry = (pos.entry * pos.qty + price * qty) / total
            pos.qty = total
            pos.margin += qty * price / lev
        self._refresh_liq(pos)

    def _refresh_liq(self, pos: PaperPosition) -> None:
        pos.liq, _ = tiered_liquidation_price(
            pos.side, pos.entry, pos.qty, pos.margin, self.cfg.brackets
        )

    def _expire_closers(self, symbol: str) -> None:
        for order in self.open_orders(symbol):
            if order.reduce_only or order.close_position:
                self._set(replace(order, status=OrderStatus.EXPIRED))
