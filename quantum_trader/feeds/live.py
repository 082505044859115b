"""Live public market data by polling ccxt: closed candles (``fetch_ohlcv``) and the funding rate
(``fetch_funding_rate``). Failures are counted and retried with backoff; they never end the feed.

The client is anything with ccxt's async ``fetch_ohlcv`` / ``fetch_funding_rate`` / ``close``;
:func:`ccxt_client` makes the real one (no keys needed for public data).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from loguru import logger

from quantum_trader.bus.messages import CandleEvent
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import Candle

log = logger.bind(component="live-feed")


class MarketDataClient(Protocol):
    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[list[float]]: ...

    async def fetch_funding_rate(self, symbol: str) -> dict[str, Any]: ...

    async def close(self) -> None: ...


def ccxt_client(exchange_id: str = "binanceusdm") -> MarketDataClient:
    import ccxt.async_support as ccxt_async

    klass = getattr(ccxt_async, exchange_id)
    client: MarketDataClient = klass({"enableRateLimit": True})
    return client


class LiveFeed:
    name = "live"
    simulated = False

    def __init__(
        self,
        client: MarketDataClient,
        symbols: tuple[str, ...],
        timeframe: str,
        timeframe_ms: int,
        poll_seconds: float = 60.0,
        history: int = 500,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.client, self.symbols = client, symbols
        self.timeframe, self.timeframe_ms = timeframe, timeframe_ms
        self.poll_seconds, self.history = poll_seconds, history
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self.last_ts: dict[str, int] = {}
        self.errors = 0

    async def _poll_symbol(self, symbol: str) -> list[CandleEvent]:
        since = self.last_ts.get(symbol)
        rows = await self.client.fetch_ohlcv(
            symbol,
            self.timeframe,
            since=None if since is None else since + 1,
            limit=self.history if since is None else 100,
        )
        try:
            funding = float(
                (await self.client.fetch_funding_rate(symbol)).get("fundingRate") or 0.0
            )
        except Exception as exc:  # noqa: BLE001 - funding is optional; a miss is counted
            self.errors += 1
            log.warning("{} funding rate unavailable: {}", symbol, exc)
            funding = 0.0
        now = self.now_ms()
        candles = []
        for row in rows:
            try:
                candles.append(
                    Candle(
                        int(row[0]),
                        float(row[1]),
                        float(row[2]),
                        float(row[3]),
                        float(row[4]),
                        float(row[5] or 0.0),
                    )
                )
            except (InvalidInput, TypeError, ValueError, IndexError) as exc:
                self.errors += 1
                log.warning("{} bad candle from the exchange skipped: {} ({})", symbol, row, exc)
        events = []
        for candle in sorted(candles, key=lambda c: c.ts):
            if candle.ts + self.timeframe_ms > now or candle.ts <= self.last_ts.get(symbol, -1):
                continue  # still forming, or already delivered
            self.last_ts[symbol] = candle.ts
            events.append(CandleEvent(symbol, candle, self.timeframe_ms, funding))
        return events

    async def events(self) -> AsyncIterator[CandleEvent]:
        delay = 1.0
        while True:
            started = time.monotonic()
            for symbol in self.symbols:
                try:
                    for event in await self._poll_symbol(symbol):
                        yield event
                    delay = 1.0
                except Exception as exc:  # noqa: BLE001 - never fatal: count, back off, retry
                    self.errors += 1
                    log.warning("{} poll failed ({}): retrying in {:.0f}s", symbol, exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(60.0, delay * 2)
            # poll on a fixed cadence: sleep the interval minus the time the work took
            await asyncio.sleep(max(0.0, self.poll_seconds - (time.monotonic() - started)))

    async def close(self) -> None:
        await self.client.close()
