"""The fake Binance USDT-M server, in-process (for pipeline tests) or as its own process (for the
crash tests, where it must outlive the daemon it serves)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from quantum_trader.core.types import OrderSide, Side
from quantum_trader.exchange.base import Order, OrderStatus, OrderType, Position
from quantum_trader.exchange.binance import BinanceUsdm
from quantum_trader.exchange.binance_client import make_client
from quantum_trader.exchange.ccxt_futures import CcxtFutures
from quantum_trader.testing.fake_binance import KEY, SECRET, FakeBinance
from tests.integration.helpers import free_port


@asynccontextmanager
async def serving(
    timeout_ms: int = 400, recv_window_ms: int = 1_000, generic: bool = False
) -> AsyncIterator[tuple[FakeBinance, BinanceUsdm]]:
    """An in-process fake server and the real ccxt client (testnet mode) pointed at it; with
    ``generic``, driven by the venue-neutral adapter (ccxt's unified API only)."""
    fake = FakeBinance()
    runner = web.AppRunner(fake.app(), shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    client = make_client("testnet", KEY, SECRET, url, timeout_ms, 1.0, recv_window_ms)
    ex = (CcxtFutures if generic else BinanceUsdm)(client, "fake", read_retries=6)
    ex.order_expiry_ms = recv_window_ms + 50  # one host: no clock skew to allow for
    try:
        await ex.start()
        yield fake, ex
    finally:
        await ex.close()
        await runner.cleanup()


class FakeServerProcess:
    """``python -m quantum_trader.testing.fake_binance`` on a free port, driven over HTTP."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "quantum_trader.testing.fake_binance", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                self.state()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the fake exchange server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)

    def control(self, name: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.url}/_control/{name}", data=data, method="POST"
        )
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310
            return json.loads(r.read())

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_control/state", timeout=5) as r:  # noqa: S310
            data: dict[str, Any] = json.loads(r.read())
            return data


def fake_view(fake: FakeBinance, symbol: str, market_id: str) -> tuple[list[Position], list[Order]]:
    """The fake account as the daemon's types, read in-process (no request: faults injected for
    the daemon are not consumed): what the book must equal after every event."""
    a = fake.account
    positions = [
        Position(
            symbol, Side.LONG if p.qty > 0 else Side.SHORT, abs(p.qty), p.entry, p.leverage,
            p.margin, 0.0,
        )
        for mid, p in a.positions.items()
        if mid == market_id and p.qty != 0
    ]  # fmt: skip
    live = ("NEW", "PARTIALLY_FILLED")
    orders = [
        Order(str(o["orderId"]), o["clientOrderId"], symbol, OrderSide(o["side"]),
              OrderType.LIMIT, float(o["origQty"]), OrderStatus.NEW)
        for o in a.orders.values()
        if o["symbol"] == market_id and o["status"] in live
    ] + [
        Order(str(x["algoId"]), x["clientAlgoId"], symbol, OrderSide(x["side"]),
              OrderType.STOP_MARKET, 0.0, OrderStatus.NEW)
        for x in a.algo.values()
        if x["symbol"] == market_id and x["algoStatus"] == "NEW"
    ]  # fmt: skip
    return positions, orders
