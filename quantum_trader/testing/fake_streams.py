"""The fake Binance server's websocket side, in Binance USDⓈ-M's own shapes, for the real
``ccxt.pro`` client:

- market streams at ``/market/ws`` (and ``/public/ws``, ``/ws``): ``SUBSCRIBE`` to
  ``<symbol>@markPrice[@1s]`` (a ``markPriceUpdate`` on every price the account walks through) and
  ``<symbol>@kline_<tf>`` (a ``kline`` for every candle control, closed);
- the user-data stream at ``/private/ws?listenKey=K`` (and ``/ws/K``), the key from
  ``POST /fapi/v1/listenKey``: ``ORDER_TRADE_UPDATE`` for every change of a plain order (new,
  trade, cancel, expiry) and ``ALGO_UPDATE`` for every change of a conditional one.

Faults (the ``stream`` control): ``drop`` closes every connection; ``stall`` keeps them open but
sends nothing for ``seconds`` (what is due meanwhile is lost, as on a dead TCP path); ``refuse``
answers new connections with 503 for ``seconds``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

from aiohttp import WSMsgType, web

from quantum_trader.testing.fake_book import Account

Order = dict[str, Any]


def _order_event(
    o: Order, before: Order | None, now_ms: int, trade: tuple[int, float]
) -> dict[str, Any]:
    filled, was = float(o["executedQty"]), float(before["executedQty"]) if before else 0.0
    traded = filled > was
    status = o["status"]
    execution = "TRADE" if traded else ("NEW" if before is None else status)
    last_qty = filled - was if traded else 0.0
    price = float(o["avgPrice"]) if traded else 0.0
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "o": {
            "s": o["symbol"],
            "c": o["clientOrderId"],
            "S": o["side"],
            "o": o["type"],
            "f": o["timeInForce"],
            "q": o["origQty"],
            "p": o["price"],
            "ap": o["avgPrice"],
            "sp": o["stopPrice"],
            "x": execution,
            "X": status,
            "i": o["orderId"],
            "l": f"{last_qty:.8g}",
            "z": o["executedQty"],
            "L": f"{price}",
            "N": "USDT",
            "n": f"{trade[1]:.8f}" if traded else "0",
            "T": now_ms,
            "t": trade[0] if traded else 0,
            "R": o["reduceOnly"],
            "cp": o["closePosition"],
            "ps": "BOTH",
            "wt": o["workingType"],
            "ot": o["origType"],
        },
    }


def _algo_event(a: Order, now_ms: int) -> dict[str, Any]:
    return {
        "e": "ALGO_UPDATE",
        "T": now_ms,
        "E": now_ms,
        "o": {
            "caid": a["clientAlgoId"],
            "aid": a["algoId"],
            "at": "CONDITIONAL",
            "o": a["orderType"],
            "s": a["symbol"],
            "S": a["side"],
            "ps": "BOTH",
            "f": "GTC",
            "q": a["quantity"],
            "X": a["algoStatus"],
            "ai": a["actualOrderId"],
            "tp": a["triggerPrice"],
            "p": "0",
            "wt": a["workingType"],
            "cp": a["closePosition"],
            "R": a["reduceOnly"],
            "tt": a["triggerTime"],
        },
    }


class Streams:
    def __init__(self, account: Account) -> None:
        self.account = account
        self.market: dict[web.WebSocketResponse, set[str]] = {}
        self.users: set[web.WebSocketResponse] = set()
        self.listen_keys: set[str] = set()
        self.stall_until = 0.0
        self.refuse_until = 0.0
        self.sent = 0
        self.connections = 0
        self._orders: dict[int, Order] = {}
        self._algo: dict[int, str] = {}

    # ------------------------------------------------------------------ REST: the listen key
    def listen_key(self, method: str) -> dict[str, Any]:
        if method == "POST":
            key = secrets.token_hex(16)
            self.listen_keys.add(key)
            return {"listenKey": key}
        return {}  # PUT (keep-alive) and DELETE

    # ------------------------------------------------------------------ connections
    def _refused(self) -> web.Response | None:
        if time.monotonic() < self.refuse_until:
            return web.Response(status=503, text="stream refused (injected)")
        return None

    async def market_handler(self, request: web.Request) -> web.StreamResponse:
        refused = self._refused()
        if refused is not None:
            return refused
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.market[ws] = set()
        self.connections += 1
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                except ValueError:
                    continue
                names = {str(n).lower() for n in req.get("params") or []}
                if req.get("method") == "SUBSCRIBE":
                    self.market[ws] |= names
                elif req.get("method") == "UNSUBSCRIBE":
                    self.market[ws] -= names
                await ws.send_str(json.dumps({"result": None, "id": req.get("id")}))
        finally:
            self.market.pop(ws, None)
        return ws

    async def user_handler(self, request: web.Request) -> web.StreamResponse:
        refused = self._refused()
        if refused is not None:
            return refused
        key = request.query.get("listenKey") or request.match_info.get("key", "")
        if key not in self.listen_keys:
            return web.Response(status=400, text="invalid listen key")
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.users.add(ws)
        self.connections += 1
        try:
            async for _msg in ws:
                pass
        finally:
            self.users.discard(ws)
        return ws

    # ------------------------------------------------------------------ faults
    async def fault(self, body: dict[str, Any]) -> None:
        action, seconds = body["action"], float(body.get("seconds", 0.0))
        if action == "drop":
            for ws in [*self.market, *self.users]:
                await ws.close()
        elif action == "stall":
            self.stall_until = time.monotonic() + seconds
        elif action == "refuse":
            self.refuse_until = time.monotonic() + seconds
            for ws in [*self.market, *self.users]:
                await ws.close()
        else:
            raise ValueError(f"unknown stream action {action!r}")

    async def every_second(self) -> None:
        """Binance sends each subscribed mark price once a second, moving or not."""
        while True:
            await asyncio.sleep(1.0)
            for symbol, m in self.account.markets.items():
                self.account.price_log.append((symbol, m.price, self.account.now_ms))
            await self.publish()

    # ------------------------------------------------------------------ publishing
    async def _send(self, targets: list[web.WebSocketResponse], payload: dict[str, Any]) -> None:
        if time.monotonic() < self.stall_until or not targets:
            return
        text = json.dumps(payload)
        for ws in targets:
            if ws.closed:
                continue
            try:
                await ws.send_str(text)
                self.sent += 1
            except (ConnectionError, RuntimeError):
                continue

    def _subscribed(self, name: str) -> list[web.WebSocketResponse]:
        return [ws for ws, names in self.market.items() if name in names]

    async def publish(self) -> None:
        """After any change: each price walked through, then every order that changed."""
        prices, self.account.price_log[:] = list(self.account.price_log), []
        for symbol, price, ts in prices:
            s = symbol.lower()
            targets = self._subscribed(f"{s}@markprice@1s") + self._subscribed(f"{s}@markprice")
            event = {
                "e": "markPriceUpdate",
                "E": ts,
                "s": symbol,
                "p": f"{price}",
                "i": f"{price}",
                "P": f"{price}",
                "r": "0.00010000",
                "T": ts + 3_600_000,
            }
            await self._send(targets, event)
        await self._publish_orders()

    async def publish_kline(self, symbol: str, row: list[Any], timeframe: str = "1m") -> None:
        ts, o, h, low, c, v, close_ts = row
        k = {
            "t": ts,
            "T": close_ts,
            "s": symbol,
            "i": timeframe,
            "o": o,
            "c": c,
            "h": h,
            "l": low,
            "v": v,
            "n": 1,
            "x": True,
            "q": "0",
            "V": "0",
            "Q": "0",
            "B": "0",
        }
        event = {"e": "kline", "E": close_ts, "s": symbol, "k": k}
        await self._send(self._subscribed(f"{symbol.lower()}@kline_{timeframe}"), event)

    async def _publish_orders(self) -> None:
        a, now = self.account, self.account.now_ms
        users = list(self.users)
        for oid, o in a.orders.items():
            before = self._orders.get(oid)
            if before is not None and (before["status"], before["executedQty"]) == (
                o["status"],
                o["executedQty"],
            ):
                continue
            self._orders[oid] = dict(o)
            trade = a.last_trade.get(oid, (0, 0.0))
            await self._send(users, _order_event(o, before, now, trade))
        for aid, algo in a.algo.items():
            if self._algo.get(aid) == algo["algoStatus"]:
                continue
            self._algo[aid] = algo["algoStatus"]
            await self._send(users, _algo_event(algo, now))
