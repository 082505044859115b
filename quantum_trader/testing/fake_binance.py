"""A fake Binance USDT-M server (aiohttp, 127.0.0.1; REST here, websockets in
:mod:`quantum_trader.testing.fake_streams`) for tests: the real ccxt client is
pointed at it. It checks the API key and the HMAC-SHA256 signature, keeps an account
(:mod:`quantum_trader.testing.fake_book`) and injects faults on request.

    python -m quantum_trader.testing.fake_binance --port 8899 [--key K --secret S]

Control endpoints (no auth; tests only) under ``/_control``: ``price`` {symbol, price, ts?},
``prices`` {prices: {symbol: price}, ts?},
``candle`` {symbol, ts, open, high, low, close} (recorded as a kline, sent on the kline stream and
walked open → nearer extreme → farther extreme → close), ``stream`` {action: drop | stall | refuse,
seconds} (:mod:`fake_streams`), ``funding`` {symbol, rate}, ``fault`` {method, path, kind,
times, …}, ``config`` {dual_side, partial_fills, wallet, key}, ``signal`` {action, confidence}, and
``state`` (GET).

It also plays an external AI engine (SPEC §3) at ``POST /api/ai/signal``, answering the ``signal``
control's action and confidence (BUY at 0.95 unless told otherwise), so a daemon in ``--testnet``
trades against it with a real signal source — stress knobs like ``force_confidence`` are refused
outside paper.

Fault kinds: ``error`` (a Binance error body: status, code, msg), ``status`` (a bare 5xx),
``ratelimit`` (429 or 418 with Retry-After), ``timeout_after`` (the request is carried out, the
answer comes ``delay`` s late — a client with a shorter timeout never sees it), ``hang_after``
(carried out, never answered), ``delay`` (wait, then carry out).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from quantum_trader.core.liquidation import DEFAULT_BRACKETS
from quantum_trader.testing import fake_views as views
from quantum_trader.testing.fake_book import Account, BinanceError
from quantum_trader.testing.fake_streams import Streams

KEY = "fake-api-key-0123456789"
SECRET = "fake-api-secret-9876543210"  # noqa: S105 - the fake server's own test secret
Handler = Any


class FakeBinance:
    def __init__(self, key: str = KEY, secret: str = SECRET) -> None:
        self.key, self.secret = key, secret
        self.account = Account()
        self.faults: list[dict[str, Any]] = []
        self.mark_klines: dict[str, list[list[Any]]] = {}  # history only (downloads)
        self.funding_rates: dict[str, list[tuple[int, float]]] = {}  # (funding time, rate)
        self.requests: Counter[str] = Counter()
        self.order_posts: list[str] = []  # client ids of every order request received
        self.bad_signatures = 0
        self.signal: dict[str, Any] = {"action": "BUY", "confidence": 0.95}
        self.streams = Streams(self.account)

    # --------------------------------------------------------------- plumbing
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/_control/{name}", self.control)
        app.router.add_post("/api/ai/signal", self.ai_signal)
        for path in ("/market/ws", "/public/ws", "/ws"):
            app.router.add_get(path, self.streams.market_handler)
            if path != "/ws":  # ccxt numbers its market connections: /market/ws/0, …
                app.router.add_get(path + "/{n}", self.streams.market_handler)
        app.router.add_get("/private/ws", self.streams.user_handler)
        app.router.add_get("/ws/{key}", self.streams.user_handler)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        app.cleanup_ctx.append(self._mark_price_clock)
        return app

    async def _mark_price_clock(self, app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(self.streams.every_second())
        yield
        task.cancel()

    def _fault_for(self, method: str, path: str) -> dict[str, Any] | None:
        for f in self.faults:
            f.setdefault("times", 1)
            if f.get("method", method) == method and path.endswith(f["path"]) and f["times"] > 0:
                f["times"] -= 1
                return f
        return None

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        self.requests[f"{method} {path}"] += 1
        body = await request.text()
        fault = self._fault_for(method, path)
        if fault is not None and fault["kind"] in ("error", "status", "ratelimit", "delay"):
            early = await self._early_fault(fault)
            if early is not None:
                return early
        try:
            if path.endswith("/listenKey"):  # an API key, no signature (as Binance)
                self._api_key(request)
                result = self.streams.listen_key(method)
            elif self._private(path):
                result = self._route(method, path, self._authenticate(request, body))
            else:
                result = self._route(method, path, dict(request.query))
            response = web.json_response(result)
        except BinanceError as exc:
            response = web.json_response({"code": exc.code, "msg": exc.msg}, status=exc.status)
        await self.streams.publish()
        if fault is not None and fault["kind"] == "timeout_after":
            await asyncio.sleep(float(fault.get("delay", 5.0)))
        if fault is not None and fault["kind"] == "hang_after":
            await asyncio.sleep(3600)
        return response

    async def _early_fault(self, f: dict[str, Any]) -> web.StreamResponse | None:
        kind = f["kind"]
        if kind == "delay":
            await asyncio.sleep(float(f.get("delay", 1.0)))
            return None
        if kind == "ratelimit":
            status = int(f.get("status", 429))
            headers = {"Retry-After": str(f.get("retry_after", 1))}
            msg = {"code": -1003, "msg": "Too many requests; please use the websocket."}
            return web.json_response(msg, status=status, headers=headers)
        if kind == "status":
            return web.Response(status=int(f.get("status", 503)), text="Service Unavailable")
        return web.json_response(
            {"code": int(f["code"]), "msg": f.get("msg", "injected")},
            status=int(f.get("status", 400)),
        )

    @staticmethod
    def _private(path: str) -> bool:
        public = (
            "/ping", "/time", "/exchangeInfo", "/klines", "/premiumIndex", "/ticker/price",
            "/ticker/24hr", "/fundingRate", "/markPriceKlines",
        )  # fmt: skip
        return not path.endswith(public)

    def _api_key(self, request: web.Request) -> None:
        if request.headers.get("X-MBX-APIKEY") != self.key:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)

    def _authenticate(self, request: web.Request, body: str) -> dict[str, str]:
        self._api_key(request)
        raw = request.query_string if request.method in ("GET", "DELETE") else body
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            self.bad_signatures += 1
            raise BinanceError(-1022, "Signature for this request is not valid.")
        params = dict(parse_qsl(payload, keep_blank_values=True))
        if abs(int(params.get("timestamp", 0)) - time.time() * 1000) > int(
            params.get("recvWindow", 10_000)
        ):
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")
        return params

    # --------------------------------------------------------------- the API
    def _route(self, method: str, path: str, q: dict[str, str]) -> Any:  # noqa: PLR0911, C901
        a = self.account
        tail = path.split("/fapi/", 1)[-1]
        if tail in ("v1/ping",):
            return {}
        if tail == "v1/time":
            return {"serverTime": int(time.time() * 1000)}
        if tail == "v1/exchangeInfo":
            return views.exchange_info(self.account)
        if tail == "v1/klines":
            return self._klines(q)
        if tail == "v1/markPriceKlines":  # history for downloads (tests fill mark_klines)
            return self._klines(q, self.mark_klines)
        if tail == "v1/fundingRate":
            start, limit = int(q.get("startTime", 0)), int(q.get("limit", 100))
            rates = [(t, r) for t, r in self.funding_rates.get(q["symbol"], []) if t >= start]
            return [{"symbol": q["symbol"], "fundingTime": t, "fundingRate": f"{r}",
                     "markPrice": "0"} for t, r in rates[:limit]]  # fmt: skip
        if tail == "v1/premiumIndex":
            m = a.market(q["symbol"])
            return {
                "symbol": m.symbol,
                "markPrice": f"{m.price}",
                "indexPrice": f"{m.price}",
                "lastFundingRate": "0.0001",
                "nextFundingTime": a.now_ms + 3_600_000,
                "interestRate": "0.0001",
                "time": a.now_ms,
            }
        if tail == "v1/ticker/24hr":  # a reference venue's public ticker (ccxt fetch_ticker)
            m, now = a.market(q["symbol"]), a.now_ms
            return {"symbol": m.symbol, "lastPrice": f"{m.price}", "openPrice": f"{m.price}",
                    "highPrice": f"{m.price}", "lowPrice": f"{m.price}", "volume": "0",
                    "quoteVolume": "0", "openTime": now - 86_400_000, "closeTime": now}  # fmt: skip
        if tail == "v1/leverageBracket":
            return self._brackets(q.get("symbol"))
        if tail == "v1/positionSide/dual":
            return {"dualSidePosition": a.dual_side}
        if tail == "v1/marginType" and method == "POST":
            a.set_margin_type(q["symbol"], q["marginType"])
            return {"code": 200, "msg": "success"}
        if tail == "v1/leverage" and method == "POST":
            return a.set_leverage(q["symbol"], int(q["leverage"]))
        if tail == "v1/order":
            return self._order(method, q)
        if tail == "v1/algoOrder":
            return self._algo(method, q)
        if tail == "v1/openOrders":
            live = ("NEW", "PARTIALLY_FILLED")
            return [
                o
                for o in a.orders.values()
                if o["status"] in live and q.get("symbol") in (None, o["symbol"])
            ]
        if tail == "v1/openAlgoOrders":
            return [
                x
                for x in a.algo.values()
                if x["algoStatus"] == "NEW" and q.get("symbol") in (None, x["symbol"])
            ]
        if tail in ("v3/positionRisk", "v2/positionRisk"):
            return views.positions(self.account, q.get("symbol"))
        if tail in ("v3/account", "v2/account"):
            return views.account_info(self.account)
        if tail in ("v2/balance", "v3/balance"):
            return [views.usdt_balance(self.account)]
        if tail == "v1/userTrades":
            return self._user_trades(q)
        if tail == "v1/income":
            since = int(q.get("startTime", 0))
            return [
                i for i in a.income if i["time"] >= since and q.get("symbol") in (None, i["symbol"])
            ]
        raise BinanceError(-1000, f"fake server: no route for {method} {path}", 404)

    def _order(self, method: str, q: dict[str, str]) -> Any:
        a = self.account
        if method == "POST":
            self.order_posts.append(q.get("newClientOrderId", ""))
            return a.new_order(q)
        oid = int(q["orderId"]) if q.get("orderId") else None
        cid = q.get("origClientOrderId")
        if method == "DELETE":
            return a.cancel(q["symbol"], oid, cid)
        return dict(a.find_order(q["symbol"], oid, cid))

    def _algo(self, method: str, q: dict[str, str]) -> Any:
        a = self.account
        if method == "POST":
            self.order_posts.append(q.get("clientAlgoId", ""))
            return a.new_algo(q)
        aid = int(q["algoId"]) if q.get("algoId") else None
        if method == "DELETE":
            return a.cancel_algo(aid, q.get("clientAlgoId"))
        return dict(a.find_algo(aid, q.get("clientAlgoId")))

    def _brackets(self, symbol: str | None) -> list[dict[str, Any]]:
        rows = [
            {
                "bracket": i + 1,
                "initialLeverage": int(b.max_leverage),
                "notionalCap": b.notional_cap,
                "notionalFloor": b.notional_floor,
                "maintMarginRatio": b.mmr,
                "cum": b.cum,
            }
            for i, b in enumerate(DEFAULT_BRACKETS.brackets)
        ]
        names = [symbol] if symbol else list(self.account.markets)
        return [{"symbol": s, "brackets": rows} for s in names]

    def _klines(
        self, q: dict[str, str], source: dict[str, list[list[Any]]] | None = None
    ) -> list[list[Any]]:
        rows = (self.account.klines if source is None else source).get(q["symbol"], [])
        start = int(q.get("startTime", 0))
        limit = int(q.get("limit", 500))
        return [r for r in rows if r[0] >= start][:limit] if start else rows[-limit:]

    def _user_trades(self, q: dict[str, str]) -> list[dict[str, Any]]:
        oid = int(q["orderId"]) if q.get("orderId") else None
        since = int(q.get("startTime", 0))
        return [
            t
            for t in self.account.trades
            if t["symbol"] == q["symbol"] and oid in (None, t["orderId"]) and t["time"] >= since
        ]

    async def ai_signal(self, request: web.Request) -> web.Response:
        return web.json_response(self.signal)

    # --------------------------------------------------------------- control
    async def control(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body: dict[str, Any] = await request.json() if request.can_read_body else {}
        a = self.account
        if name == "state":
            return web.json_response(self.state())
        if name == "price":
            a.set_price(body["symbol"], float(body["price"]), body.get("ts"))
        elif name == "prices":  # {symbol: price, …} in one request
            for symbol, price in body["prices"].items():
                a.set_price(symbol, float(price), body.get("ts"))
        elif name == "candle":
            self.candle(body)
            row = a.klines[body["symbol"]][-1]
            await self.streams.publish_kline(body["symbol"], row, body.get("timeframe", "1m"))
        elif name == "stream":
            await self.streams.fault(body)
        elif name == "funding":
            a.funding(body["symbol"], float(body["rate"]))
        elif name == "fault":
            self.faults.append({"times": 1, **body})
        elif name == "signal":
            self.signal = {"action": body["action"], "confidence": float(body["confidence"])}
        elif name == "clear_faults":
            self.faults.clear()
        elif name == "config":
            a.dual_side = bool(body.get("dual_side", a.dual_side))
            a.partial_fills = bool(body.get("partial_fills", a.partial_fills))
            a.wallet = float(body.get("wallet", a.wallet))
            self.key = str(body.get("key", self.key))  # a new key: the old one is revoked
        else:
            return web.json_response({"error": f"unknown control {name}"}, status=404)
        await self.streams.publish()
        return web.json_response({"ok": True})

    def candle(self, c: dict[str, Any]) -> None:
        a, symbol, ts = self.account, c["symbol"], int(c["ts"])
        o, h, low, close = (float(c[k]) for k in ("open", "high", "low", "close"))
        a.klines.setdefault(symbol, []).append(
            [ts, f"{o}", f"{h}", f"{low}", f"{close}", f"{c.get('volume', 1.0)}", ts + 59_999]
        )
        if not c.get("walk", True):  # a kline only: the prices were already walked tick by tick
            return
        near, far = (low, h) if o - low <= h - o else (h, low)
        for price in (o, near, far, close):
            a.set_price(symbol, price, ts)

    def state(self) -> dict[str, Any]:
        a = self.account
        return {
            "wallet": a.wallet,
            "positions": {s: vars(p) for s, p in a.positions.items()},
            "orders": list(a.orders.values()),
            "algo": list(a.algo.values()),
            "order_posts": self.order_posts,
            "requests": dict(self.requests),
            "bad_signatures": self.bad_signatures,
            "prices": {s: m.price for s, m in a.markets.items()},
            "streams": {
                "market": len(self.streams.market),
                "user": len(self.streams.users),
                "connections": self.streams.connections,
                "sent": self.streams.sent,
            },
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--key", default=KEY)
    parser.add_argument("--secret", default=SECRET)
    args = parser.parse_args(argv)
    fake = FakeBinance(args.key, args.secret)
    print(json.dumps({"listening": f"http://{args.host}:{args.port}"}), flush=True)
    web.run_app(fake.app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
