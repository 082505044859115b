"""The in-memory bus: policies, dead letters, FIFO per subscriber, drain, counters."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import CandleEvent, Topic
from quantum_trader.core.edge import parse_trade_intent
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.types import Candle

T0 = 1_700_000_000_000


def candle_event(symbol: str, i: int) -> CandleEvent:
    c = Candle(T0 + i * 60_000, 100.0, 101.0, 99.0, 100.0, 1.0)
    return CandleEvent(symbol, c, 60_000)


async def test_handler_errors_are_dead_lettered_and_the_consumer_lives_on() -> None:
    bus = Bus()
    seen: list[int] = []

    async def handler(payload: Any) -> None:
        if payload == 2:
            raise ValueError("two is bad")
        seen.append(payload)

    bus.subscribe("h", "t", handler)
    bus.start()
    for i in range(4):
        await bus.publish("t", i)
    await bus.drain()
    assert seen == [0, 1, 3]
    (letter,) = bus.dead_letters
    assert (letter.topic, letter.where, letter.error) == ("t", "h", "ValueError: two is bad")
    assert bus.counters["t"].dead_lettered == 1 and bus.counters["t"].delivered == 3
    await bus.stop()


async def test_malformed_payloads_are_rejected_at_publish() -> None:
    bus = Bus()
    bus.register(Topic.INTENT, TradeIntent, lambda raw: parse_trade_intent(raw, {"BTC/USDT:USDT"}))
    got: list[Any] = []

    async def handler(payload: Any) -> None:
        got.append(payload)

    bus.subscribe("exec", Topic.INTENT, handler)
    bus.start()
    assert not await bus.publish(Topic.INTENT, {"intent_id": "x"})
    assert not await bus.publish(Topic.INTENT, "not a mapping")
    await bus.drain()
    assert got == []
    reasons = [d.error for d in bus.dead_letters]
    assert reasons[0].startswith("InvalidInput: ts: missing field")
    assert reasons[1] == "expected TradeIntent, got str"
    await bus.stop()


async def test_reliable_topics_apply_backpressure_never_drop() -> None:
    bus = Bus(maxsize=2)
    release = asyncio.Event()
    seen: list[int] = []

    async def slow(payload: Any) -> None:
        await release.wait()
        seen.append(payload)

    bus.subscribe("slow", Topic.ORDER_FILLED, slow)
    bus.start()
    publisher = asyncio.create_task(_publish_many(bus, Topic.ORDER_FILLED, 6))
    await asyncio.sleep(0.05)
    assert not publisher.done(), "a full reliable inbox must make the publisher wait"
    release.set()
    await publisher
    await bus.drain()
    assert seen == list(range(6))
    assert bus.counters[Topic.ORDER_FILLED].dropped == 0
    await bus.stop()


async def _publish_many(bus: Bus, topic: str, n: int) -> None:
    for i in range(n):
        await bus.publish(topic, i)


async def test_latest_topics_conflate_per_symbol_when_lagging() -> None:
    bus = Bus(maxsize=2)
    release = asyncio.Event()
    seen: list[tuple[str, int]] = []

    async def slow(payload: CandleEvent) -> None:
        await release.wait()
        seen.append((payload.symbol, (payload.candle.ts - T0) // 60_000))

    bus.subscribe("signals", Topic.CANDLE, slow)
    bus.start()
    await bus.publish(Topic.CANDLE, candle_event("BTC", 0))
    await asyncio.sleep(0)  # the consumer takes BTC 0 and waits
    for i in (1, 2, 3):
        await bus.publish(Topic.CANDLE, candle_event("BTC", i))
    await bus.publish(Topic.CANDLE, candle_event("ETH", 1))
    release.set()
    await bus.drain()
    # inbox of 2: BTC 1, BTC 2 → BTC 3 replaces the oldest BTC; ETH 1 replaces the next
    assert seen[0] == ("BTC", 0)
    assert ("ETH", 1) in seen and ("BTC", 3) in seen
    assert bus.counters[Topic.CANDLE].dropped == 2
    await bus.stop()


async def test_one_subscriber_sees_its_topics_in_publish_order() -> None:
    bus = Bus()
    seen: list[str] = []

    async def handler(payload: Any) -> None:
        seen.append(payload)

    bus.subscribe("exits", ["a", "b"], handler)
    bus.start()
    for topic, payload in [("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2")]:
        await bus.publish(topic, payload)
    await bus.drain()
    assert seen == ["a1", "b1", "a2", "b2"]
    await bus.stop()


async def test_drain_waits_for_cascades() -> None:
    bus = Bus()
    seen: list[str] = []

    async def first(payload: Any) -> None:
        await asyncio.sleep(0.01)
        await bus.publish("second", payload + "!")

    async def second(payload: Any) -> None:
        await asyncio.sleep(0.01)
        seen.append(payload)

    bus.subscribe("one", "first", first)
    bus.subscribe("two", "second", second)
    bus.start()
    await bus.publish("first", "go")
    await bus.drain()
    assert seen == ["go!"]
    stats = bus.stats()
    assert stats["topics"]["first"]["delivered"] == 1
    assert stats["subscribers"]["two"]["handled"] == 1
    await bus.stop()


async def test_taps_see_accepted_messages_and_dead_letters() -> None:
    bus = Bus()
    bus.register("typed", int)
    tapped: list[tuple[str, Any]] = []
    bus.add_tap(lambda topic, payload: tapped.append((topic, payload)))
    assert await bus.publish("typed", 5)
    assert not await bus.publish("typed", "x")
    assert tapped[0] == ("typed", 5)
    assert tapped[1][0] == "deadletter"


@pytest.mark.parametrize("n", [0, 3])
async def test_drain_with_no_work_returns(n: int) -> None:
    bus = Bus()
    for i in range(n):
        bus.subscribe(f"s{i}", "t", _noop)
    bus.start()
    async with asyncio.timeout(1):
        await bus.drain()
    await bus.stop()


async def _noop(payload: Any) -> None:
    return None


async def test_inline_mode_delivers_depth_first_in_subscription_order() -> None:
    bus = Bus(inline=True)
    seen: list[str] = []

    async def first(payload: Any) -> None:
        seen.append(f"first:{payload}")
        if payload == "a":
            await bus.publish("t2", "b")

    async def second(payload: Any) -> None:
        seen.append(f"second:{payload}")

    async def broken(payload: Any) -> None:
        raise RuntimeError("nope")

    bus.subscribe("first", ["t1"], first)
    bus.subscribe("broken", ["t1"], broken)
    bus.subscribe("second", ["t1", "t2"], second)
    bus.start()  # nothing to start: handlers run inside publish
    await bus.publish("t1", "a")
    assert seen == ["first:a", "second:b", "second:a"]
    assert bus.dead_letters[-1].where == "broken"
