"""Live public market data through ccxt: closed candles and the funding rate. Failures are counted
and retried with backoff; they never end the feed.

- With ``stream`` (a ``ccxt.pro`` client): candles from the kline websocket (``watch_ohlcv``), a
  candle delivered as soon as an update shows it closed; the funding rate by REST every
  ``FUNDING_REFRESH_S``. A symbol whose stream fails is polled by REST (``fetch_ohlcv``) until
  its stream is back, and once more on the way back so nothing that closed meanwhile is missed.
- Without: REST polling every ``poll_seconds``.

The client is anything with ccxt's async ``fetch_ohlcv`` / ``fetch_funding_rate`` / ``close`` (and
``watch_ohlcv`` to stream); :func:`ccxt_client` makes the real one (no keys needed for public data).
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
FUNDING_REFRESH_S = 300.0


class MarketDataClient(Protocol):
    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[list[float]]: ...

    async def fetch_funding_rate(self, symbol: str) -> dict[str, Any]: ...

    async def close(self) -> None: ...


def ccxt_client(exchange_id: str = "binanceusdm") -> MarketDataClient:
    from quantum_trader.exchange.venues import venue_class  # ccxt.pro's where it has the venue

    client: MarketDataClient = venue_class(exchange_id)({"enableRateLimit": True})
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
        stream: bool = False,
    ) -> None:
        self.client, self.symbols = client, symbols
        self.timeframe, self.timeframe_ms = timeframe, timeframe_ms
        self.poll_seconds, self.history = poll_seconds, history
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self.last_ts: dict[str, int] = {}
        self.errors = 0
        self.stream = stream and hasattr(client, "watch_ohlcv")
        self.streaming: dict[str, bool] = {}  # symbol → its kline stream delivers
        self.stream_drops = 0
        self._warmed: set[str] = set()  # symbols whose history REST has delivered
        self._funding: dict[str, tuple[float, float]] = {}  # symbol → (rate, read at)
        self._rest_open_at = 0.0  # monotonic: no REST call before (a 429/418 said wait)
        self._bans = 0  # rate-limit answers in a row: the backoff doubles
        self.rest_backoffs = 0  # times REST was told to wait (429/418)

    def _rest_wait(self) -> float:
        return self._rest_open_at - time.monotonic()

    def _rate_limited(self, exc: BaseException) -> None:
        """A 429/418 holds every REST call of this feed for what Retry-After says (or the
        adapter's backoff: 418 is 30 s doubling) — Binance bans an IP that keeps going."""
        from quantum_trader.exchange.ccxt_errors import (  # imports ccxt: only here
            backoff_seconds,
            rate_limited,
            retry_after_of,
        )

        if not rate_limited(exc):
            return
        delay = backoff_seconds(exc, self._bans, retry_after_of(self.client))
        self._bans += 1
        self.rest_backoffs += 1
        self._rest_open_at = time.monotonic() + delay
        log.warning("REST rate limited ({}): no REST call for {:.0f} s", exc, delay)

    async def _rest_poll(self, symbol: str) -> list[CandleEvent] | None:
        """The symbol's new closed candles by REST; None while a rate limit holds REST."""
        if self._rest_wait() > 0:
            return None
        try:
            events = await self._poll_symbol(symbol)
        except Exception as exc:
            self._rate_limited(exc)
            raise
        self._bans = 0
        return events

    async def _funding_rate(self, symbol: str, max_age_s: float = 0.0) -> float:
        cached = self._funding.get(symbol)
        if cached is not None and time.monotonic() - cached[1] < max_age_s:
            return cached[0]
        try:
            if self._rest_wait() > 0:  # rate limited: the last rate until REST may go again
                return cached[0] if cached is not None else 0.0
            rate = float((await self.client.fetch_funding_rate(symbol)).get("fundingRate") or 0.0)
        except Exception as exc:  # noqa: BLE001 - funding is optional; a miss is counted
            self._rate_limited(exc)
            self.errors += 1
            log.warning("{} funding rate unavailable: {}", symbol, exc)
            return cached[0] if cached is not None else 0.0
        self._funding[symbol] = (rate, time.monotonic())
        return rate

    async def _poll_symbol(self, symbol: str) -> list[CandleEvent]:
        since = self.last_ts.get(symbol)
        rows = await self.client.fetch_ohlcv(
            symbol,
            self.timeframe,
            since=None if since is None else since + 1,
            limit=self.history if since is None else 100,
        )
        return self._closed(symbol, rows, await self._funding_rate(symbol))

    def _closed(self, symbol: str, rows: list[list[Any]], funding: float) -> list[CandleEvent]:
        """The rows' closed candles not yet delivered, oldest first; a bad row is counted."""
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
        if self.stream:
            async for event in self._streamed():
                yield event
            return
        delay = 1.0
        while True:
            started = time.monotonic()
            for symbol in self.symbols:
                try:
                    events = await self._rest_poll(symbol)
                    if events is None:  # rate limited: wait it out, quietly
                        await asyncio.sleep(max(0.0, self._rest_wait()))
                        continue
                    for event in events:
                        yield event
                    delay = 1.0
                except Exception as exc:  # noqa: BLE001 - never fatal: count, back off, retry
                    self.errors += 1
                    delay = max(delay, self._rest_wait())
                    log.warning("{} poll failed ({}): retrying in {:.0f}s", symbol, exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(60.0, delay * 2)
            # poll on a fixed cadence: sleep the interval minus the time the work took
            await asyncio.sleep(max(0.0, self.poll_seconds - (time.monotonic() - started)))

    async def _streamed(self) -> AsyncIterator[CandleEvent]:
        queue: asyncio.Queue[CandleEvent] = asyncio.Queue()
        watchers = [asyncio.create_task(self._watch(s, queue)) for s in self.symbols]
        try:
            while True:
                started = time.monotonic()
                for symbol in self.symbols:  # history first; then REST only where no stream
                    if self.streaming.get(symbol) and symbol in self._warmed:
                        continue
                    try:  # through the queue: one order for both paths
                        events = await self._rest_poll(symbol)
                        if events is None:
                            continue  # rate limited: REST waits
                        for event in events:
                            queue.put_nowait(event)
                        self._warmed.add(symbol)
                    except Exception as exc:  # noqa: BLE001 - never fatal: counted, retried
                        self.errors += 1
                        log.warning("{} poll failed ({})", symbol, exc)
                wait = max(0.05, self.poll_seconds - (time.monotonic() - started))
                deadline = time.monotonic() + wait
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        yield await asyncio.wait_for(queue.get(), left)
                    except TimeoutError:
                        break
        finally:
            for w in watchers:
                w.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)

    async def _watch(self, symbol: str, queue: asyncio.Queue[CandleEvent]) -> None:
        failures, synced = 0, set[str]()  # synced: REST has filled what the stream missed
        watch = getattr(self.client, "watch_ohlcv")  # noqa: B009 - ccxt.pro only
        while True:
            try:
                rows = await watch(symbol, self.timeframe)
                warmed = symbol in self._warmed  # the history comes by REST first
                if warmed and symbol not in synced:
                    caught_up = await self._rest_poll(symbol)  # what closed meanwhile
                    for event in caught_up or []:
                        queue.put_nowait(event)
                    if caught_up is not None:  # None: rate limited, sync at a later update
                        synced.add(symbol)
                failures, self.streaming[symbol] = 0, True
                if warmed:
                    funding = await self._funding_rate(symbol, FUNDING_REFRESH_S)
                    for event in self._closed(symbol, rows, funding):
                        queue.put_nowait(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - REST covers a dead stream
                failures += 1
                self.stream_drops += 1
                self.streaming[symbol] = False
                synced.discard(symbol)
                delay = min(60.0, 0.5 * 2 ** min(failures, 8))
                log.warning(
                    "{} kline stream down ({}): REST polling; retry in {:.0f}s", symbol, exc, delay
                )
                await asyncio.sleep(delay)

    async def close(self) -> None:
        await self.client.close()
