"""Feed service: pulls candles from the feed, walks them through the paper exchange (which may fill
resting stops and TP legs), publishes the fills and then the candle. In simulated time the bus
delivers inline, so every reaction to a candle lands before the next price: deterministic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from loguru import logger

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import CandleEvent, Topic
from quantum_trader.exchange.paper import PaperExchange
from quantum_trader.execution.invariants import InvariantWatch
from quantum_trader.feeds.base import Feed
from quantum_trader.runtime.clock import SimClock
from quantum_trader.runtime.health import HealthMonitor

log = logger.bind(component="feed")


class FeedService:
    def __init__(
        self,
        feed: Feed,
        bus: Bus,
        health: HealthMonitor,
        paper: PaperExchange | None = None,
        clock: SimClock | None = None,
        invariants: InvariantWatch | None = None,
        settling: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        self.feed, self.bus, self.health = feed, bus, health
        self.paper, self.clock = paper, clock
        self.invariants = invariants
        self.candles = 0
        #: fills of one candle's walk are booked before any is acted on (the exit manager's)
        self.settling = settling or _nothing
        self.finished = asyncio.Event()
        self.busy = False
        self._stop = False

    def request_stop(self) -> None:
        """Stop after the candle in hand; handlers are never interrupted halfway."""
        self._stop = True

    async def run(self) -> None:
        async for event in self.feed.events():
            if self._stop:
                break
            self.busy = True
            try:
                await self._deliver(event)
            finally:
                self.busy = False
            if self._stop:
                break
        log.info("feed {} finished after {} candles", self.feed.name, self.candles)
        self.finished.set()

    async def _deliver(self, event: CandleEvent) -> None:
        if self.clock is not None:
            self.clock.set(event.candle.ts + event.timeframe_ms)
        if self.paper is not None:
            self.paper.on_candle(event.symbol, event.candle, event.funding_rate)
            fills = await self.paper.take_fills()
            if fills:  # the walk's fills are booked together, then acted on
                async with self.settling():
                    for fill in fills:
                        await self.bus.publish(Topic.ORDER_FILLED, fill)
        self.health.ok("market_data")  # fresh as it arrives (what reacts to it sees it so)
        await self.bus.publish(Topic.CANDLE, event)
        self.candles += 1
        if self.invariants is not None and self.paper is not None and self.bus.inline:
            engine = self.paper.engine  # the candle has settled: the book must equal the exchange
            positions = [p for s in list(engine.positions) if (p := engine.position(s))]
            self.invariants.check(positions, engine.open_orders(), event.candle.ts)


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield
