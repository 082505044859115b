"""The live ccxt-polling feed, driven by a hand-written fake client."""

from __future__ import annotations

import asyncio
from typing import Any

from quantum_trader.feeds.live import LiveFeed

T = 1_704_067_200_000
M = 60_000


class FakeClient:
    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self.fail_next = 0
        self.funding_fails = False
        self.calls: list[tuple[str, int | None, int | None]] = []

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        self.calls.append((symbol, since, limit))
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("exchange unreachable")
        return [r for r in self.rows if since is None or r[0] >= since]

    async def fetch_funding_rate(self, symbol: str) -> dict[str, Any]:
        if self.funding_fails:
            raise ConnectionError("no funding")
        return {"fundingRate": 0.0001}

    async def close(self) -> None:
        return None


def row(i: int, price: float = 100.0) -> list[Any]:
    return [T + i * M, price, price + 1, price - 1, price, 5.0]


async def _take(feed: LiveFeed, n: int) -> list[Any]:
    out = []
    async with asyncio.timeout(5):
        async for event in feed.events():
            out.append(event)
            if len(out) == n:
                return out
    return out


async def test_delivers_closed_candles_once_and_skips_the_forming_one() -> None:
    client = FakeClient()
    client.rows = [row(0), row(1), row(2)]
    now = [T + 2 * M + 30_000]  # candle 2 is still forming
    feed = LiveFeed(client, ("BTC/USDT:USDT",), "1m", M, poll_seconds=0.01, now_ms=lambda: now[0])
    first = await _take(feed, 2)
    assert [e.candle.ts for e in first] == [T, T + M]
    assert first[0].funding_rate == 0.0001
    assert client.calls[0] == ("BTC/USDT:USDT", None, 500)  # history on the first poll
    client.rows.append(row(3))
    now[0] = T + 4 * M
    later = await _take(feed, 2)
    assert [e.candle.ts for e in later] == [T + 2 * M, T + 3 * M]
    assert client.calls[-1][1] == T + M + 1  # asks only for what it has not seen


async def test_failures_are_counted_and_never_end_the_feed() -> None:
    client = FakeClient()
    client.rows = [row(0), ["bad", None, 1, 1, 1, 1], row(1, -5.0), row(2)]
    client.fail_next = 1
    client.funding_fails = True
    feed = LiveFeed(
        client, ("BTC/USDT:USDT",), "1m", M, poll_seconds=0.01, now_ms=lambda: T + 10 * M
    )
    feed_events = await asyncio.wait_for(_take(feed, 2), 10)
    assert [e.candle.ts for e in feed_events] == [T, T + 2 * M]
    assert feed_events[0].funding_rate == 0.0
    assert feed.errors >= 4  # the failed poll, the funding miss, the two bad rows


class StreamingClient(FakeClient):
    """A kline stream too: ``push`` hands rows to the next ``watch_ohlcv``; ``down`` fails it."""

    def __init__(self) -> None:
        super().__init__()
        self.pushed: asyncio.Queue[list[list[Any]] | Exception] = asyncio.Queue()

    async def watch_ohlcv(self, symbol: str, timeframe: str) -> list[list[Any]]:
        item = await self.pushed.get()
        if isinstance(item, Exception):
            raise item
        return item


async def test_streamed_candles_need_no_polling_and_rest_covers_a_dead_stream() -> None:
    client = StreamingClient()
    client.rows = [row(0), row(1)]
    now = [T + 2 * M]
    feed = LiveFeed(
        client, ("BTC/USDT:USDT",), "1m", M, poll_seconds=0.05, now_ms=lambda: now[0], stream=True
    )
    events = feed.events()
    got = [await anext(events), await anext(events)]  # the history, by REST
    assert [e.candle.ts for e in got] == [T, T + M]
    client.pushed.put_nowait([row(1)])  # the stream is up (nothing new in it)
    await asyncio.sleep(0.01)
    polls = len(client.calls)  # the stream's first update re-reads what it may have missed
    now[0] = T + 3 * M
    client.pushed.put_nowait([row(2)])
    e = await asyncio.wait_for(anext(events), 2)
    assert e.candle.ts == T + 2 * M and e.funding_rate == 0.0001
    await asyncio.sleep(0.2)  # four poll intervals: no REST poll while the stream delivers
    assert len(client.calls) == polls
    client.pushed.put_nowait(ConnectionError("stream dropped"))
    client.rows += [row(2), row(3)]
    now[0] = T + 4 * M
    e = await asyncio.wait_for(anext(events), 2)  # REST polling took over
    assert e.candle.ts == T + 3 * M and feed.stream_drops == 1
    assert len(client.calls) > polls
    await events.aclose()


class BannedClient(FakeClient):
    """Every REST call answered 418 (an IP ban) with Retry-After: what Binance says to a client
    that kept going after a 429."""

    def __init__(self, retry_after: str | None) -> None:
        super().__init__()
        self.last_response_headers = {"Retry-After": retry_after} if retry_after else {}
        self.watch_calls = 0

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list[list[float]]:
        import ccxt.async_support as ccxt

        self.calls.append((symbol, since, limit))
        raise ccxt.DDoSProtection("binanceusdm 418 I'm a teapot: IP banned until …")


class BannedStreamingClient(BannedClient):
    async def watch_ohlcv(self, symbol: str, timeframe: str) -> list[list[float]]:
        import ccxt.async_support as ccxt

        self.watch_calls += 1
        await asyncio.sleep(0.01)
        raise ccxt.NetworkError("stream down")


async def _run_for(feed: LiveFeed, seconds: float) -> None:
    async def drain() -> None:
        async for _ in feed.events():
            pass

    task = asyncio.create_task(drain())
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_418_ban_stops_rest_polling_for_its_retry_after() -> None:
    """Issue 28, item 12: during a 418 ban the poller called REST every ~0.3 s. Each REST poller
    now waits what Retry-After says (or 30 s doubling for a 418 without it) — on a slow machine
    there are fewer calls, never more."""
    for client in (BannedClient("20"), BannedClient(None)):
        feed = LiveFeed(client, ("BTC/USDT:USDT", "ETH/USDT:USDT"), "1m", M, poll_seconds=0.05)
        await _run_for(feed, 1.0)
        assert len(client.calls) == 1, client.calls  # the ban's first answer, then silence
        assert feed.rest_backoffs == 1


async def test_a_ban_holds_the_streaming_feeds_rest_too() -> None:
    client = BannedStreamingClient("20")
    feed = LiveFeed(client, ("BTC/USDT:USDT",), "1m", M, poll_seconds=0.05, stream=True)
    await _run_for(feed, 1.0)
    assert len(client.calls) == 1, client.calls
