"""Binance USDⓈ-M websocket streams through ``ccxt.pro`` (the same client as the REST calls):

- **mark prices** (``watch_mark_prices``, one update a second per symbol): every update goes to
  ``on_price`` — the exit manager acts on it (stops trigger on the mark price, as the exchange's
  do) — and to the adapter, which polls at once an order the price has crossed;
- **the user-data stream** (``watch_orders``: ``ORDER_TRADE_UPDATE`` and ``ALGO_UPDATE``): a
  whole trade of one of our resting orders is booked from the update and goes to ``on_fill`` (the
  book stays current while REST fails); any other update of one makes the adapter read that
  order by REST. Either way a fill has one trade id (order, cumulative quantity): booked once.

A stream that fails or stalls (no mark price for ``stall_s``) is reconnected with backoff; until
it is back the adapter's REST polling runs at full cadence (``BinanceUsdm.streaming``), and the
``streams`` health module shows it. Streams only speed things up: nothing depends on them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

from quantum_trader.core.types import Fill
from quantum_trader.exchange.base import FatalExchangeError
from quantum_trader.exchange.binance import BinanceUsdm
from quantum_trader.exchange.ccxt_errors import clean, map_error
from quantum_trader.runtime.health import HealthMonitor

log = logger.bind(component="streams")
OnPrice = Callable[[str, float, int], Awaitable[None]]
OnFill = Callable[[Fill], Awaitable[None]]


async def _dropped(fill: Fill) -> None:
    return None


class BinanceStreams:
    def __init__(
        self,
        exchange: BinanceUsdm,
        symbols: tuple[str, ...],
        on_price: OnPrice,
        health: HealthMonitor,
        on_fatal: Callable[[str], None],
        stall_s: float = 10.0,
        max_backoff_s: float = 30.0,
        on_fill: OnFill = _dropped,
    ) -> None:
        self.exchange, self.symbols, self.on_price = exchange, symbols, on_price
        self.on_fill = on_fill
        self.on_fatal = on_fatal
        self.health, self.stall_s, self.max_backoff_s = health, stall_s, max_backoff_s
        self.client: Any = exchange.client
        self.drops = {"prices": 0, "orders": 0}
        self.messages = {"prices": 0, "orders": 0}

    async def _reconnect(self, name: str, exc: BaseException, failures: int) -> None:
        self.drops[name] += 1
        exc = RuntimeError(clean(str(exc)))  # a URL's ?listenKey=… stays out of logs
        self.health.error("streams", f"{name} stream: {exc}")
        if name == "orders":
            self.exchange.streaming = False  # the REST poll takes over at full cadence
        delay = min(self.max_backoff_s, 0.5 * 2 ** min(failures, 8))
        log.warning("{} stream down ({}): REST covers it; retry in {:.1f}s", name, exc, delay)
        await self._close_sockets("/market/" if name == "prices" else "/private/")
        await asyncio.sleep(delay)

    async def _close_sockets(self, part: str) -> None:
        """A stalled socket is closed so that the next ``watch_*`` opens a new one."""
        sockets = getattr(self.client, "clients", {})
        for ws in [ws for url, ws in list(sockets.items()) if part in url]:
            try:
                await ws.close()
            except Exception as exc:  # noqa: BLE001 - a socket that is already gone
                log.debug("closing a stream socket: {}", exc)

    async def prices(self) -> None:
        failures = 0
        while True:
            try:
                async with asyncio.timeout(self.stall_s):  # awaited directly: see orders()
                    tickers = await self.client.watch_mark_prices(list(self.symbols))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every stream failure is retried
                if self._fatal(exc):
                    return
                failures += 1
                why = f"no mark price for {self.stall_s:g}s" if _is_timeout(exc) else exc
                await self._reconnect("prices", RuntimeError(why), failures)
                continue
            failures = 0
            self.health.ok("streams")
            for t in tickers.values():
                price = float(t.get("markPrice") or t.get("last") or 0.0)
                symbol = str(t.get("symbol") or "")
                if price > 0 and symbol in self.symbols:
                    self.messages["prices"] += 1
                    ts = int(t.get("timestamp") or 0)
                    self.exchange.note_price(symbol, price)
                    await self.on_price(symbol, price, ts)

    async def orders(self) -> None:
        """Connected, ``watch_orders`` is awaited directly: ccxt resolves an update only to a
        waiting future, and one made in a task could miss an update that arrives before the task
        first runs (it would then wait for the next update)."""
        failures = 0
        while True:
            try:
                if self.exchange.streaming:
                    updates = await self.client.watch_orders()
                else:
                    updates = await self._first(asyncio.ensure_future(self.client.watch_orders()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                if self._fatal(exc):
                    return
                failures += 1
                await self._reconnect("orders", exc, failures)
                continue
            failures = 0
            self.exchange.streaming = True
            for update in updates:
                self.messages["orders"] += 1
                for fill in self.exchange.note_order(update):
                    await self.on_fill(fill)

    async def _first(self, watch: asyncio.Future[Any]) -> Any:
        try:
            await self._connected(watch)
            return await watch
        except asyncio.CancelledError:
            watch.cancel()
            raise

    async def _connected(self, watch: asyncio.Future[Any]) -> None:
        """The user-data socket is open (it may be quiet for hours): REST can slow down."""
        while not watch.done():
            sockets = getattr(self.client, "clients", {})
            ws = next((w for url, w in sockets.items() if "/private/" in url), None)
            connected = getattr(ws, "connected", None)
            if connected is not None and connected.done() and not connected.exception():
                self.exchange.streaming = True
                return
            await asyncio.sleep(0.05)

    def _fatal(self, exc: Exception) -> bool:
        """Keys revoked, permissions gone: the fatal latch stops the daemon (exit 78)."""
        err = map_error(exc)
        if isinstance(err, FatalExchangeError):
            self.health.error("streams", f"stream: {err}")
            self.on_fatal(f"user-data stream: {err}")
            return True
        return False

    def snapshot(self) -> dict[str, Any]:
        return {
            "user_stream": self.exchange.streaming,
            "drops": dict(self.drops),
            "messages": dict(self.messages),
        }


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError | asyncio.TimeoutError)
