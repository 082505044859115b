"""The Redis mirror against a real redis-server: streams, the ILF hash with its TTL, and trading
that carries on while Redis is stopped, then catches up when it is back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis

from quantum_trader.app import Daemon
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed
from quantum_trader.settings import Settings
from tests.integration.helpers import RedisServer, wait_for


@pytest.fixture
def server() -> Iterator[RedisServer]:
    srv = RedisServer()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_STATE_DIR", str(tmp_path))


async def test_streams_hash_ttl_and_outage(server: RedisServer) -> None:
    settings = Settings(redis={"url": server.url}, api={"enabled": False})
    feed = SyntheticFeed(
        settings.signals.symbols, seed=7, speed=2_000.0, warmup=300, drift=TREND_DRIFT
    )
    daemon = Daemon(settings, feed)
    run = asyncio.create_task(daemon.run())
    client = aioredis.from_url(server.url)
    try:

        async def opened() -> bool:
            return bool(await client.xlen("quantum:stream:position.opened"))

        await wait_for(opened, 60, "a position.opened event in Redis")
        assert await client.xlen("quantum:stream:market.candle") > 0
        assert await client.xlen("quantum:stream:signal.generated") > 0
        entry = (await client.xrange("quantum:stream:trade.intent", count=1))[0][1]
        assert json.loads(entry[b"data"])["symbol"].endswith("/USDT:USDT")
        keys = await client.keys("quantum:position:ilf:*")
        assert keys, "the ILF hash of an opened position"
        ttl = await client.ttl(keys[0])
        assert 86_000 <= ttl <= 86_400
        ilf = await client.hgetall(keys[0])
        assert {b"leverage", b"volatility_factor", b"tp1", b"sl", b"regime"} <= set(ilf)

        await client.aclose()
        server.stop()  # Redis goes away mid-run

        async def degraded() -> bool:
            return daemon.mirror is not None and daemon.mirror.state == "degraded"

        await wait_for(degraded, 20, "the mirror to report degraded")
        status = await daemon.status()
        assert status["redis"]["state"] == "degraded"
        candles = daemon.p.feed.candles
        await asyncio.sleep(1.0)
        assert daemon.p.feed.candles > candles, "trading goes on without Redis"

        server.start()  # back on the same port
        written = daemon.mirror.written if daemon.mirror else 0

        async def resumed() -> bool:
            m = daemon.mirror
            return m is not None and m.state == "connected" and m.written > written

        await wait_for(resumed, 40, "the mirror to reconnect and write again")
        client = aioredis.from_url(server.url)
        assert await client.xlen("quantum:stream:market.candle") > 0  # caught up after restart
    finally:
        daemon.stop_event.set()
        assert await asyncio.wait_for(run, 30) == 0
        await client.aclose()
