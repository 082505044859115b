"""The fake Binance USDT-M server's account: markets, one-way isolated positions, orders, algo
(conditional) orders, trades, funding income. Synchronous and deterministic; the HTTP layer
(:mod:`quantum_trader.testing.fake_binance`) wraps it.

Rules kept as Binance does them (the ones the daemon depends on):
- market orders fill at once at the mark price (taker fee); reduce-only orders never open or flip;
- reduce-only LIMIT orders rest and fill at their price when the mark reaches it (maker fee);
  ``partial_fills`` makes a resting limit fill half first and the rest on the next price;
- conditional STOP_MARKET / TAKE_PROFIT_MARKET orders exist only on the algo endpoint (the plain
  order endpoint answers -4120 since December 2025); ``closePosition`` ones close the whole
  position at market when the mark price crosses the trigger, then go FINISHED with the id of the
  market order they became (``actualOrderId``);
- a client order id may be used once (-4116 for a second order with the same id);
- margin: isolated, notional / leverage, refused with -2019 when the balance cannot carry it;
  notional below the minimum → -4164; quantity off the step → -1111.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

TAKER = 0.0005
MAKER = 0.0002


class BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code, self.msg, self.status = code, msg, status


@dataclass
class Market:
    symbol: str  # exchange id, e.g. BTCUSDT
    base: str
    tick: float
    step: float
    min_qty: float
    min_notional: float
    price: float

    def round_price(self, p: float) -> float:
        return round(round(p / self.tick) * self.tick, 8)


@dataclass
class Pos:
    qty: float = 0.0  # signed: > 0 long
    entry: float = 0.0
    leverage: int = 20
    isolated: bool = False
    margin: float = 0.0
    updated: int = 0


@dataclass
class Account:
    wallet: float = 10_000.0
    dual_side: bool = False
    partial_fills: bool = False
    now_ms: int = 1_767_225_600_000  # 2026-01-01
    markets: dict[str, Market] = field(default_factory=dict)
    positions: dict[str, Pos] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    algo: dict[int, dict[str, Any]] = field(default_factory=dict)
    client_ids: set[str] = field(default_factory=set)
    trades: list[dict[str, Any]] = field(default_factory=list)
    income: list[dict[str, Any]] = field(default_factory=list)
    klines: dict[str, list[list[Any]]] = field(default_factory=dict)
    #: every price walked through, for the streams to send (drained by them)
    price_log: list[tuple[str, float, int]] = field(default_factory=list)
    last_trade: dict[int, tuple[int, float]] = field(default_factory=dict)  # order → (id, fee)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_001))

    def __post_init__(self) -> None:
        if not self.markets:
            for m in (
                Market("BTCUSDT", "BTC", 0.1, 0.001, 0.001, 100.0, 30_000.0),
                Market("ETHUSDT", "ETH", 0.01, 0.001, 0.001, 20.0, 2_000.0),
                Market("BNBUSDT", "BNB", 0.01, 0.01, 0.01, 5.0, 300.0),
                Market("SOLUSDT", "SOL", 0.01, 0.01, 0.01, 5.0, 100.0),
                Market("XRPUSDT", "XRP", 0.0001, 0.1, 0.1, 5.0, 0.6),
            ):
                self.markets[m.symbol] = m

    # ----------------------------------------------------------------- helpers
    def market(self, symbol: str) -> Market:
        m = self.markets.get(symbol)
        if m is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return m

    def pos(self, symbol: str) -> Pos:
        return self.positions.setdefault(symbol, Pos())

    def used_margin(self) -> float:
        return sum(p.margin for p in self.positions.values())

    def unrealised(self, symbol: str) -> float:
        p = self.positions.get(symbol)
        if p is None or p.qty == 0:
            return 0.0
        return p.qty * (self.markets[symbol].price - p.entry)

    def _claim_client_id(self, cid: str) -> None:
        """Binance: a client order id is unique among OPEN orders — a filled one may be reused."""
        live = ("NEW", "PARTIALLY_FILLED")
        if any(
            o["clientOrderId"] == cid and o["status"] in live for o in self.orders.values()
        ) or any(a["clientAlgoId"] == cid and a["algoStatus"] == "NEW" for a in self.algo.values()):
            raise BinanceError(-4116, "ClientOrderId is duplicated.")
        self.client_ids.add(cid)

    # ----------------------------------------------------------------- settings
    def set_margin_type(self, symbol: str, kind: str) -> None:
        p, isolated = self.pos(symbol), kind.upper() == "ISOLATED"
        if p.isolated == isolated:
            raise BinanceError(-4046, "No need to change margin type.")
        if p.qty != 0:
            raise BinanceError(-4048, "Margin type cannot be changed if there exists position.")
        p.isolated = isolated

    def set_leverage(self, symbol: str, leverage: int) -> dict[str, Any]:
        self.market(symbol)
        if not 1 <= leverage <= 125:
            raise BinanceError(-4028, "Leverage is not valid.")
        self.pos(symbol).leverage = leverage
        return {"symbol": symbol, "leverage": leverage, "maxNotionalValue": "1000000"}

    # ----------------------------------------------------------------- orders
    def new_order(self, q: dict[str, str]) -> dict[str, Any]:
        kind = q.get("type", "")
        if kind in ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"):
            raise BinanceError(
                -4120, "Order type not supported for this endpoint. Please use the Algo Order API."
            )
        if kind not in ("MARKET", "LIMIT"):
            raise BinanceError(-1116, "Invalid orderType.")
        symbol, m = q["symbol"], self.market(q["symbol"])
        side, qty = q["side"], float(q["quantity"])
        reduce = q.get("reduceOnly", "false").lower() == "true"
        self._check_qty(m, qty, float(q.get("price") or m.price), reduce)
        cid = q.get("newClientOrderId") or f"fake-{next(self._ids)}"
        if reduce:
            self._check_reduce(symbol, side)
        elif kind == "MARKET":
            self._check_margin(symbol, qty * m.price)
        self._claim_client_id(cid)
        oid = next(self._ids)
        order: dict[str, Any] = {
            "orderId": oid,
            "symbol": symbol,
            "status": "NEW",
            "clientOrderId": cid,
            "price": q.get("price", "0"),
            "avgPrice": "0",
            "origQty": q["quantity"],
            "executedQty": "0",
            "cumQuote": "0",
            "timeInForce": q.get("timeInForce", "GTC"),
            "type": kind,
            "origType": kind,
            "reduceOnly": reduce,
            "closePosition": False,
            "side": side,
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "time": self.now_ms,
            "updateTime": self.now_ms,
        }
        self.orders[oid] = order
        if kind == "MARKET":
            self._fill(order, qty, m.price, TAKER)
        else:  # a limit already through the market fills at once, as on the exchange
            self._maybe_fill_limit(order, m)
        return dict(order)

    def new_algo(self, q: dict[str, str]) -> dict[str, Any]:
        if q.get("algoType") != "CONDITIONAL":
            raise BinanceError(-1102, "algoType must be CONDITIONAL.")
        kind = q.get("type", "")
        if kind not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
            raise BinanceError(-1116, "Invalid orderType.")
        symbol, m = q["symbol"], self.market(q["symbol"])
        close = q.get("closePosition", "false").lower() == "true"
        if not close and not q.get("quantity"):
            raise BinanceError(-1102, "Mandatory parameter 'quantity' was not sent.")
        trigger = float(q["triggerPrice"])
        mark, side = m.price, q["side"]
        stop_below = (side == "SELL") == (kind == "STOP_MARKET")
        if (stop_below and mark <= trigger) or (not stop_below and mark >= trigger):
            raise BinanceError(-2021, "Order would immediately trigger.")
        cid = q.get("clientAlgoId") or f"fake-{next(self._ids)}"
        self._claim_client_id(cid)
        aid = next(self._ids)
        algo: dict[str, Any] = {
            "algoId": aid,
            "clientAlgoId": cid,
            "algoType": "CONDITIONAL",
            "orderType": kind,
            "symbol": symbol,
            "side": side,
            "positionSide": "BOTH",
            "timeInForce": "GTC",
            "quantity": q.get("quantity", "0"),
            "algoStatus": "NEW",
            "triggerPrice": q["triggerPrice"],
            "price": "0",
            "workingType": q.get("workingType", "CONTRACT_PRICE"),
            "closePosition": close,
            "priceProtect": False,
            "reduceOnly": q.get("reduceOnly", "false").lower() == "true",
            "createTime": self.now_ms,
            "updateTime": self.now_ms,
            "triggerTime": 0,
            "actualOrderId": "",
        }
        self.algo[aid] = algo
        return dict(algo)

    def _check_qty(self, m: Market, qty: float, price: float, reduce: bool) -> None:
        steps = qty / m.step
        if qty <= 0 or abs(steps - round(steps)) > 1e-6:
            raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
        if qty < m.min_qty:
            raise BinanceError(-4003, "Quantity less than or equal to zero.")
        if not reduce and qty * price < m.min_notional:
            raise BinanceError(
                -4164,
                f"Order's notional must be no smaller than {m.min_notional:g} "
                "(unless you choose reduce only).",
            )

    def _check_reduce(self, symbol: str, side: str) -> None:
        p = self.positions.get(symbol)
        if p is None or p.qty == 0 or (p.qty > 0) == (side == "BUY"):
            raise BinanceError(-2022, "ReduceOnly Order is rejected.")

    def _check_margin(self, symbol: str, notional: float) -> None:
        need = notional / self.pos(symbol).leverage + notional * TAKER
        if need > self.wallet - self.used_margin():
            raise BinanceError(-2019, "Margin is insufficient.")

    def _fill(self, order: dict[str, Any], qty: float, price: float, fee_rate: float) -> None:
        symbol, sign = order["symbol"], 1 if order["side"] == "BUY" else -1
        p = self.pos(symbol)
        if order["reduceOnly"] or order["closePosition"]:
            qty = min(qty, abs(p.qty))
        realised = 0.0
        if p.qty == 0 or (p.qty > 0) == (sign > 0):  # open or add
            total = abs(p.qty) + qty
            p.entry = (p.entry * abs(p.qty) + price * qty) / total
            p.qty += sign * qty
            p.margin += qty * price / p.leverage
        else:  # reduce
            closed = min(qty, abs(p.qty))
            realised = (price - p.entry) * closed * (1 if p.qty > 0 else -1)
            p.margin *= 1 - closed / abs(p.qty)
            p.qty += sign * closed
            if abs(p.qty) < 1e-12:
                p.qty, p.entry, p.margin = 0.0, 0.0, 0.0
        fee = qty * price * fee_rate
        self.wallet += realised - fee
        p.updated = self.now_ms
        done = float(order["executedQty"]) + qty
        quote = float(order["cumQuote"]) + qty * price
        order.update(
            executedQty=f"{done:.8g}",
            cumQuote=f"{quote:.8f}",
            avgPrice=f"{quote / done:.8f}" if done else "0",
            updateTime=self.now_ms,
        )
        full = order["closePosition"] or done >= float(order["origQty"]) - 1e-12
        order["status"] = "FILLED" if full else "PARTIALLY_FILLED"
        tid = next(self._ids)
        self.last_trade[order["orderId"]] = (tid, fee)
        self.trades.append(
            {
                "symbol": symbol,
                "id": tid,
                "orderId": order["orderId"],
                "side": order["side"],
                "price": f"{price:.8f}",
                "qty": f"{qty:.8g}",
                "realizedPnl": f"{realised:.8f}",
                "quoteQty": f"{qty * price:.8f}",
                "commission": f"{fee:.8f}",
                "commissionAsset": "USDT",
                "time": self.now_ms,
                "positionSide": "BOTH",
                "buyer": order["side"] == "BUY",
                "maker": fee_rate == MAKER,
            }
        )

    def cancel(self, symbol: str, order_id: int | None, cid: str | None) -> dict[str, Any]:
        order = self.find_order(symbol, order_id, cid)
        if order["status"] not in ("NEW", "PARTIALLY_FILLED"):
            raise BinanceError(-2011, "Unknown order sent.")
        order["status"], order["updateTime"] = "CANCELED", self.now_ms
        return dict(order)

    def cancel_algo(self, algo_id: int | None, cid: str | None) -> dict[str, Any]:
        algo = self.find_algo(algo_id, cid)
        if algo["algoStatus"] != "NEW":
            raise BinanceError(-2011, "Unknown order sent.")
        algo["algoStatus"], algo["updateTime"] = "CANCELED", self.now_ms
        return {"algoId": algo["algoId"], "clientAlgoId": algo["clientAlgoId"], "code": "200"}

    def find_order(self, symbol: str, order_id: int | None, cid: str | None) -> dict[str, Any]:
        for o in reversed(self.orders.values()):
            if o["symbol"] == symbol and (o["orderId"] == order_id or o["clientOrderId"] == cid):
                return o
        raise BinanceError(-2013, "Order does not exist.")

    def find_algo(self, algo_id: int | None, cid: str | None) -> dict[str, Any]:
        for a in reversed(self.algo.values()):
            if a["algoId"] == algo_id or a["clientAlgoId"] == cid:
                return a
        raise BinanceError(-2013, "Order does not exist.")

    # ----------------------------------------------------------------- prices
    def set_price(self, symbol: str, price: float, ts: int | None = None) -> None:
        """Move the mark (= last) price and run what it triggers: stops first, then limits."""
        m = self.market(symbol)
        m.price = m.round_price(price)
        if ts is not None:
            self.now_ms = max(self.now_ms, ts)
        self.price_log.append((symbol, m.price, self.now_ms))
        for algo in [a for a in self.algo.values() if a["symbol"] == symbol]:
            if algo["algoStatus"] == "NEW" and self._triggered(algo, m.price):
                self._trigger(algo, m)
        for order in [o for o in self.orders.values() if o["symbol"] == symbol]:
            if order["type"] == "LIMIT" and order["status"] in ("NEW", "PARTIALLY_FILLED"):
                self._maybe_fill_limit(order, m)

    @staticmethod
    def _triggered(algo: dict[str, Any], mark: float) -> bool:
        below = (algo["side"] == "SELL") == (algo["orderType"] == "STOP_MARKET")
        trigger = float(algo["triggerPrice"])
        return mark <= trigger if below else mark >= trigger

    def _trigger(self, algo: dict[str, Any], m: Market) -> None:
        p = self.pos(algo["symbol"])
        qty = abs(p.qty) if algo["closePosition"] else float(algo["quantity"])
        algo.update(algoStatus="FINISHED", triggerTime=self.now_ms, updateTime=self.now_ms)
        if qty <= 0 or p.qty == 0 or (p.qty > 0) == (algo["side"] == "BUY"):
            algo["algoStatus"] = "EXPIRED"
            return
        oid = next(self._ids)
        order: dict[str, Any] = {
            "orderId": oid,
            "symbol": algo["symbol"],
            "status": "NEW",
            "clientOrderId": f"autoclose-{algo['algoId']}",
            "price": "0",
            "avgPrice": "0",
            "origQty": f"{qty:.8g}",
            "executedQty": "0",
            "cumQuote": "0",
            "timeInForce": "GTC",
            "type": "MARKET",
            "origType": algo["orderType"],
            "reduceOnly": True,
            "closePosition": algo["closePosition"],
            "side": algo["side"],
            "positionSide": "BOTH",
            "stopPrice": algo["triggerPrice"],
            "workingType": algo["workingType"],
            "priceProtect": False,
            "time": self.now_ms,
            "updateTime": self.now_ms,
        }
        self.orders[oid] = order
        self._fill(order, qty, m.price, TAKER)
        algo["actualOrderId"] = str(order["orderId"])

    def _maybe_fill_limit(self, order: dict[str, Any], m: Market) -> None:
        price = float(order["price"])
        reached = m.price >= price if order["side"] == "SELL" else m.price <= price
        if not reached:
            return
        left = float(order["origQty"]) - float(order["executedQty"])
        if order["reduceOnly"]:
            p = self.positions.get(order["symbol"])
            if p is None or p.qty == 0:
                order["status"] = "EXPIRED"
                return
        qty = left
        if self.partial_fills and order["status"] == "NEW":
            qty = max(m.step, round(left / 2 / m.step) * m.step)
        self._fill(order, round(qty, 8), price, MAKER)

    def funding(self, symbol: str, rate: float) -> None:
        """A funding event at the current mark: longs pay a positive rate."""
        p = self.positions.get(symbol)
        if p is None or p.qty == 0:
            return
        amount = -p.qty * self.markets[symbol].price * rate
        self.wallet += amount
        self.income.append(
            {
                "symbol": symbol,
                "incomeType": "FUNDING_FEE",
                "income": f"{amount:.8f}",
                "asset": "USDT",
                "info": "FUNDING_FEE",
                "time": self.now_ms,
                "tranId": next(self._ids),
                "tradeId": "",
            }
        )
