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


async def test_a_frozen_redis_gets_every_message_once(server: RedisServer) -> None:
    """Issue 28, item 11: Redis frozen (SIGSTOP) mid-write, then resumed: the mirror timed the
    batch out and wrote it again after Redis had taken the first copy — 23 duplicates. Each
    stream entry now carries its own id, so a retry of what Redis already holds is refused by
    Redis and counted, never written twice."""
    import os
    import signal

    from quantum_trader.bus.redis_mirror import RedisMirror

    assert server.proc is not None
    mirror = RedisMirror(server.url, timeout_s=0.3)
    run = asyncio.create_task(mirror.run())
    client = aioredis.from_url(server.url)
    stream = "quantum:stream:market.price"
    try:
        for k in range(50):
            mirror.tap("market.price", {"k": k})

        async def written() -> bool:
            return mirror.written >= 50

        await wait_for(written, 30, "the first 50 written")
        os.kill(server.proc.pid, signal.SIGSTOP)  # frozen: writes queue in its socket
        for k in range(50, 250):
            mirror.tap("market.price", {"k": k})

        async def timed_out() -> bool:
            return mirror.failures > 0

        await wait_for(timed_out, 30, "the mirror to time a write out")
        os.kill(server.proc.pid, signal.SIGCONT)

        async def caught_up() -> bool:
            return mirror.snapshot()["buffered"] == 0 and mirror.state == "connected"

        await wait_for(caught_up, 60, "the mirror to catch up")
        entries = await client.xrange(stream)
        ks = [json.loads(fields[b"data"])["k"] for _, fields in entries]
        assert sorted(ks) == list(range(250)), (len(ks), len(set(ks)))  # each once, none lost
        assert ks == list(range(250))  # and in order
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await client.aclose()
