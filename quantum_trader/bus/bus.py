"""The in-memory pub/sub bus (STYLE: bounded queue per subscriber, one consumer task each).

Two delivery modes. ``queued`` (live): each subscriber has a bounded inbox and one consumer task.
``inline`` (simulated time: paper replay, synthetic, backtest): ``publish`` awaits each subscriber's
handler in subscription order, depth-first, so every run of the same candles reacts in the same
order — the daemon's replay and the backtester make the same trades by construction.

Payloads are checked at publish: the topic's dataclass passes; a mapping goes through the topic's
edge parser (e.g. ``trade.intent`` → :func:`parse_trade_intent`); anything else, or a parser error,
is dead-lettered with its reason and never reaches a consumer. A handler that raises dead-letters
that message; the consumer carries on.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from quantum_trader.bus.inbox import Envelope, Inbox
from quantum_trader.bus.messages import Topic

Handler = Callable[[Any], Awaitable[None]]
Parser = Callable[[Mapping[str, Any]], Any]
Tap = Callable[[str, Any], None]
LATEST_TOPICS = frozenset({Topic.CANDLE.value, Topic.SIGNAL.value, Topic.PRICE.value})
log = logger.bind(component="bus")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    ts_ms: int
    topic: str
    where: str  # "publish" or the subscriber's name
    error: str
    payload: str


@dataclass(slots=True)
class TopicCounters:
    published: int = 0
    delivered: int = 0
    dropped: int = 0
    dead_lettered: int = 0


@dataclass(slots=True)
class Subscriber:
    name: str
    topics: frozenset[str]
    handler: Handler
    inbox: Inbox
    handled: int = 0
    errors: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=500))


def _key_of(payload: Any) -> str:
    symbol = getattr(payload, "symbol", None)
    if symbol is None and hasattr(payload, "signal"):
        symbol = getattr(payload.signal, "symbol", None)
    return str(symbol or "")


class Bus:
    def __init__(
        self, maxsize: int = 10_000, dead_letter_keep: int = 1_000, inline: bool = False
    ) -> None:
        self._maxsize = maxsize
        self.inline = inline
        self._types: dict[str, type] = {}
        self._parsers: dict[str, Parser] = {}
        self._subs: list[Subscriber] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._taps: list[Tap] = []
        self._seq = 0
        self.counters: defaultdict[str, TopicCounters] = defaultdict(TopicCounters)
        self.dead_letters: deque[DeadLetter] = deque(maxlen=dead_letter_keep)

    # ---------------------------------------------------------------- wiring
    def register(
        self, topic: Topic | str, payload_type: type, parser: Parser | None = None
    ) -> None:
        self._types[str(topic)] = payload_type
        if parser is not None:
            self._parsers[str(topic)] = parser

    def subscribe(
        self,
        name: str,
        topics: Topic | str | list[Topic] | list[str],
        handler: Handler,
        maxsize: int | None = None,
    ) -> Subscriber:
        """One inbox and one consumer for ``topics``: FIFO across them for this subscriber."""
        wanted = [topics] if isinstance(topics, str) else topics
        sub = Subscriber(
            name, frozenset(str(t) for t in wanted), handler, Inbox(maxsize or self._maxsize)
        )
        self._subs.append(sub)
        return sub

    def add_tap(self, tap: Tap) -> None:
        """A synchronous observer of every accepted message (the Redis mirror); must not block."""
        self._taps.append(tap)

    def start(self) -> None:
        if self.inline:
            return  # handlers run inside publish
        for sub in self._subs:
            task = asyncio.create_task(self._consume(sub), name=f"bus:{sub.name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # ---------------------------------------------------------------- publishing
    def _dead_letter(self, topic: str, where: str, error: str, payload: Any) -> None:
        self.counters[topic].dead_lettered += 1
        letter = DeadLetter(int(time.time() * 1000), topic, where, error, repr(payload)[:2_000])
        self.dead_letters.append(letter)
        log.warning("dead-letter {} at {}: {}", topic, where, error)
        for tap in self._taps:
            tap("deadletter", letter)

    def _accept(self, topic: str, payload: Any) -> tuple[bool, Any]:
        expected = self._types.get(topic)
        if expected is None or isinstance(payload, expected):
            return True, payload
        parser = self._parsers.get(topic)
        if parser is not None and isinstance(payload, Mapping):
            try:
                return True, parser(payload)
            except (ValueError, TypeError) as exc:
                self._dead_letter(topic, "publish", f"{type(exc).__name__}: {exc}", payload)
                return False, None
        got = type(payload).__name__
        self._dead_letter(topic, "publish", f"expected {expected.__name__}, got {got}", payload)
        return False, None

    async def publish(self, topic: Topic | str, payload: Any) -> bool:
        """Deliver to every subscriber of ``topic``; False when the payload was dead-lettered."""
        name = str(topic)
        ok, message = self._accept(name, payload)
        if not ok:
            return False
        self._seq += 1
        latest = name in LATEST_TOPICS
        env = Envelope(name, _key_of(message), self._seq, message, latest)
        self.counters[name].published += 1
        for tap in self._taps:
            tap(name, message)
        for sub in self._subs:
            if name not in sub.topics:
                continue
            if self.inline:
                await self._handle(sub, env)
            elif latest:
                before = sub.inbox.dropped
                sub.inbox.offer_latest(env)
                self.counters[name].dropped += sub.inbox.dropped - before
            else:
                await sub.inbox.put_reliable(env)
        return True

    # ---------------------------------------------------------------- consuming
    async def _consume(self, sub: Subscriber) -> None:
        while True:
            env = await sub.inbox.get()
            try:
                await self._handle(sub, env)
            finally:
                sub.inbox.done()

    async def _handle(self, sub: Subscriber, env: Envelope) -> None:
        started = time.perf_counter()
        try:
            await sub.handler(env.payload)
            self.counters[env.topic].delivered += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bad message must never kill a consumer
            sub.errors += 1
            self._dead_letter(env.topic, sub.name, f"{type(exc).__name__}: {exc}", env.payload)
        finally:
            sub.handled += 1
            sub.latencies_ms.append((time.perf_counter() - started) * 1000)

    async def drain(self) -> None:
        """Wait until every inbox is empty and every handler idle (wrap in asyncio.timeout)."""
        while not all(s.inbox.idle for s in self._subs):
            await asyncio.gather(*(s.inbox.wait_idle() for s in self._subs))
            await asyncio.sleep(0)

    # ---------------------------------------------------------------- reporting
    def stats(self) -> dict[str, Any]:
        subs = {}
        for s in self._subs:
            lat = sorted(s.latencies_ms)
            p95 = lat[int(0.95 * (len(lat) - 1))] if lat else 0.0
            subs[s.name] = {
                "queue_depth": len(s.inbox),
                "handled": s.handled,
                "errors": s.errors,
                "dropped": s.inbox.dropped,
                "latency_p95_ms": round(p95, 3),
            }
        topics = {
            t: {
                "published": c.published,
                "delivered": c.delivered,
                "dropped": c.dropped,
                "dead_lettered": c.dead_lettered,
            }
            for t, c in sorted(self.counters.items())
        }
        return {"topics": topics, "subscribers": subs, "dead_letters": len(self.dead_letters)}
