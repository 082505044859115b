"""Mirror of the bus to Redis (optional): every topic to the stream ``quantum:stream:<topic>``
(approximate MAXLEN), and each opened position's ILF metadata and levels to the hash
``quantum:position:ilf:<symbol>:<order_id>`` with a TTL.

Trading never waits for Redis: the bus tap only appends to a bounded buffer (the oldest entries
are dropped and counted when it is full); a writer task drains it, and reconnects with capped
backoff when Redis is down or slow. The state is visible in /health.

Every stream entry gets its id at the tap (``<ms>-<seq>``, increasing per stream): a batch that
timed out while Redis was frozen — and that Redis then took after all — is refused when it is
sent again (Redis accepts only ids above a stream's last), counted, and never written twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from loguru import logger

from quantum_trader.bus.messages import PositionOpened, Topic, to_jsonable

log = logger.bind(component="redis")
STREAM_PREFIX = "quantum:stream:"
ILF_PREFIX = "quantum:position:ilf:"


@dataclass(slots=True)
class _Write:
    kind: str  # "stream" or "hash"
    key: str
    fields: dict[str, str]
    entry_id: str = "*"  # a stream entry's own id (set at the tap)
    tried: bool = False  # sent before: Redis may hold it already


def ilf_hash(opened: PositionOpened) -> tuple[str, dict[str, str]]:
    plan = opened.plan
    key = f"{ILF_PREFIX}{plan.symbol}:{opened.order_id}"
    fields = {
        "intent_id": opened.intent_id,
        "side": plan.side.value,
        "leverage": str(plan.leverage),
        "entry_price": repr(plan.entry_price),
        "qty": repr(plan.qty),
        "atr_value": repr(opened.atr_value),
        "volatility_factor": repr(opened.volatility),
        "exchange_divergence": repr(opened.exchange_divergence),
        "funding_rate": repr(opened.funding_rate),
        "regime": opened.regime.value,
        "tp1": repr(plan.tp_prices[0]),
        "tp2": repr(plan.tp_prices[1]),
        "tp3": repr(plan.tp_prices[2]),
        "sl": repr(plan.sl_price),
        "sl_distance": repr(plan.sl_distance),
        "harvest_qty": json.dumps(list(plan.leg_qtys)),
    }
    return key, fields


class RedisMirror:
    def __init__(
        self,
        url: str,
        stream_maxlen: int = 10_000,
        buffer: int = 10_000,
        ttl_seconds: int = 86_400,
        timeout_s: float = 2.0,
        factory: Callable[[str], Any] | None = None,
    ) -> None:
        self._url = url
        self.stream_maxlen, self.ttl_seconds, self.timeout_s = stream_maxlen, ttl_seconds, timeout_s
        self._factory = factory or (
            lambda u: aioredis.from_url(
                u, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
            )
        )
        self._buffer: deque[_Write] = deque(maxlen=buffer)
        self._wake = asyncio.Event()
        self.state = "connecting"
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self.last_error = ""
        self.last_ok = 0.0
        self.duplicates_refused = 0  # retried entries Redis already held
        self._last_id: dict[str, tuple[int, int]] = {}  # stream → (ms, seq) of its last id

    def _next_id(self, key: str) -> str:
        ms = int(time.time() * 1000)
        last_ms, last_seq = self._last_id.get(key, (0, -1))
        ms, seq = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        self._last_id[key] = (ms, seq)
        return f"{ms}-{seq}"

    def tap(self, topic: str, payload: Any) -> None:
        """Bus tap: serialise and buffer; never blocks, never raises into the bus."""
        try:
            data = json.dumps(to_jsonable(payload), separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            data = json.dumps({"unserialisable": repr(payload)[:500], "error": str(exc)})
        key = STREAM_PREFIX + topic
        self._push(_Write("stream", key, {"data": data}, self._next_id(key)))
        if topic == Topic.POSITION_OPENED and isinstance(payload, PositionOpened):
            key, fields = ilf_hash(payload)
            self._push(_Write("hash", key, fields))

    def _push(self, write: _Write) -> None:
        if len(self._buffer) == self._buffer.maxlen:
            self.dropped += 1
        self._buffer.append(write)
        self._wake.set()

    async def run(self) -> None:
        delay = 0.5
        while True:
            client = self._factory(self._url)
            try:
                async with asyncio.timeout(self.timeout_s):
                    await client.ping()
                if self.state != "connected":
                    log.info("mirror connected ({} buffered)", len(self._buffer))
                self.state, delay = "connected", 0.5
                await self._pump(client)
            except (OSError, aioredis.RedisError, TimeoutError) as exc:
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                if self.state != "degraded":
                    log.warning("mirror degraded: {}; buffering, retrying", self.last_error)
                self.state = "degraded"
            finally:
                await client.aclose()
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)

    async def _pump(self, client: Any) -> None:
        while True:
            if not self._buffer:
                self._wake.clear()
                await self._wake.wait()
            batch = [self._buffer.popleft() for _ in range(min(500, len(self._buffer)))]
            try:
                async with asyncio.timeout(self.timeout_s):
                    results = await self._send(client, batch)
                    late = [w for w, r in zip(batch, results, strict=True) if r == "late"]
                    if late:  # a first send below the stream's top: the clock stepped back
                        for w in late:
                            w.entry_id = "*"
                        await self._send(client, late)
            except BaseException:
                for w in batch:
                    w.tried = True
                room = (self._buffer.maxlen or 0) - len(self._buffer)
                keep = batch[-room:] if room > 0 else []
                self.dropped += len(batch) - len(keep)
                self._buffer.extendleft(reversed(keep))
                raise
            self.written += sum(r != "held" for r in results)
            self.last_ok = time.time()

    async def _send(self, client: Any, batch: list[_Write]) -> list[str]:
        """One pipeline; per write "ok", "held" (a retry Redis already holds) or "late" (a
        first send whose id is below the stream's top)."""
        pipe = client.pipeline(transaction=False)
        for w in batch:
            if w.kind == "stream":
                pipe.xadd(w.key, w.fields, id=w.entry_id, maxlen=self.stream_maxlen,
                          approximate=True)  # fmt: skip
            else:
                pipe.hset(w.key, mapping=w.fields)
                pipe.expire(w.key, self.ttl_seconds)
        replies = iter(await pipe.execute(raise_on_error=False))
        out = []
        for w in batch:
            reply = next(replies)
            if w.kind == "hash":
                next(replies)  # the EXPIRE's
            if isinstance(reply, aioredis.ResponseError) and "equal or smaller" in str(reply):
                if w.tried:
                    self.duplicates_refused += 1
                    out.append("held")
                else:
                    out.append("late")
            elif isinstance(reply, Exception):
                raise reply
            else:
                out.append("ok")
        return out

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "written": self.written,
            "buffered": len(self._buffer),
            "dropped": self.dropped,
            "failures": self.failures,
            "last_error": self.last_error,
            "duplicates_refused": self.duplicates_refused,
        }
