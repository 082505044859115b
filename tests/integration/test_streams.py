"""Websocket streams (ccxt.pro) against the fake Binance server: the server speaks Binance's
stream shapes; the live pipeline (queued bus) acts on every mark price, finds fills from the
user-data stream without polling the open orders, and falls back to REST when a stream drops,
is refused or stalls."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest

from quantum_trader.bus.messages import CandleEvent, PositionClosed, Topic
from quantum_trader.core.types import OrderSide, Side
from quantum_trader.exchange.binance import BinanceUsdm
from quantum_trader.exchange.binance_fills import Resting
from quantum_trader.pipeline import Pipeline, build_pipeline, live_streams
from quantum_trader.runtime.loops import every
from quantum_trader.settings import Settings
from quantum_trader.testing.fake_binance import FakeBinance
from tests.integration.fake_exchange import serving
from tests.integration.test_binance_fake import ID, SYM, intent

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


class QuietLiveFeed:
    """A live feed with no candles: the pipeline runs on the queued bus, as live."""

    name, simulated, timeframe_ms = "quiet-live", False, 60_000

    def __init__(self) -> None:
        self.symbols = (SYM,)

    async def events(self) -> AsyncIterator[CandleEvent]:
        await asyncio.Event().wait()
        yield  # pragma: no cover

    async def close(self) -> None:
        return None


async def until(cond: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class LiveDesk:
    """The live pipeline on the fake server: streams and the fill poller running as tasks."""

    def __init__(self, fake: FakeBinance, ex: BinanceUsdm, poll_s: float) -> None:
        self.fake, self.ex = fake, ex
        settings = Settings(
            signals={"min_confidence": 1.0, "symbols": (SYM,)},
            exchange={"stream_stall_seconds": 2.5},
        )
        self.p: Pipeline = build_pipeline(settings, QuietLiveFeed(), exchange=ex)
        self.p.exits.params = replace(self.p.exits.params, trail_distance=0.005)
        self.p.exits.ticks.params = self.p.exits.params
        self.p.execution.retry_base = self.p.exits.retry_base = 0.005
        self.closed: list[PositionClosed] = []
        self.p.bus.add_tap(
            lambda topic, m: self.closed.append(m) if topic == Topic.POSITION_CLOSED else None
        )
        self.streams = live_streams(self.p, ex)
        self.poll_s = poll_s
        self.tasks: list[asyncio.Task[Any]] = []

    async def __aenter__(self) -> LiveDesk:
        self.p.bus.start()

        async def poll() -> None:
            for fill in await self.p.exchange.take_fills():
                await self.p.bus.publish(Topic.ORDER_FILLED, fill)

        for job in (
            self.streams.prices(),
            self.streams.orders(),
            every("fill poll", self.poll_s, poll, self.p.health, wake=self.ex.wake),
        ):
            self.tasks.append(asyncio.create_task(job))
        await until(lambda: self.ex.streaming and self.fake.streams.market)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self.p.bus.stop()

    async def price(self, px: float) -> None:
        """A mark price on the fake: what it triggers there, then the stream updates."""
        self.fake.account.set_price(ID, px)
        await self.fake.streams.publish()

    def stops(self) -> list[float]:
        return [
            float(a["triggerPrice"])
            for a in self.fake.account.algo.values()
            if a["algoStatus"] == "NEW"
        ]

    def sweeps(self) -> int:
        return self.fake.requests["GET /fapi/v1/openOrders"]


@pytest.fixture
async def fake_ex() -> AsyncIterator[tuple[FakeBinance, BinanceUsdm]]:
    async with serving(timeout_ms=500) as pair:
        yield pair


async def test_the_fake_server_speaks_binance_streams(
    fake_ex: tuple[FakeBinance, BinanceUsdm],
) -> None:
    fake, ex = fake_ex
    c = ex.client
    mark = asyncio.create_task(c.watch_mark_price(SYM))
    await until(lambda: bool(fake.streams.market) and any(fake.streams.market.values()))
    fake.account.set_price(ID, 30_100.0)
    await fake.streams.publish()
    assert (await asyncio.wait_for(mark, 5))["markPrice"] == 30_100.0

    kline = asyncio.create_task(c.watch_ohlcv(SYM, "1m"))
    await until(lambda: any("@kline_1m" in n for s in fake.streams.market.values() for n in s))
    row = [1_767_225_600_000, "30000", "30200", "29900", "30150", "2", 1_767_225_659_999]
    await fake.streams.publish_kline(ID, row)
    assert (await asyncio.wait_for(kline, 5))[-1] == [row[0], 30000, 30200, 29900, 30150, 2]

    orders = asyncio.create_task(c.watch_orders())
    await until(lambda: bool(fake.streams.users))
    await c.create_order(SYM, "market", "buy", 0.01, None, {"clientOrderId": "e1"})
    [entry] = await asyncio.wait_for(orders, 5)
    assert (entry["clientOrderId"], entry["status"], entry["filled"]) == ("e1", "closed", 0.01)
    assert float(entry["fee"]["cost"]) == pytest.approx(0.01 * 30_100 * 0.0005)

    stop = await ex.create_stop_market(SYM, OrderSide.SELL, 29_000.0, "s1")
    orders = asyncio.create_task(c.watch_orders())
    await fake.streams.publish()
    fake.account.set_price(ID, 28_990.0)
    await fake.streams.publish()
    updates = await asyncio.wait_for(orders, 5)
    seen = {(u["id"], u["info"].get("X")) for u in updates}
    assert (stop.id, "FINISHED") in seen or any(u["clientOrderId"] == "s1" for u in updates)


def test_a_resting_order_is_crossed_from_its_side() -> None:
    stop = Resting(SYM, "sl", OrderSide.SELL, True, 29_000.0)  # a long's stop
    assert stop.crossed(29_000.0) and stop.crossed(28_000.0) and not stop.crossed(29_000.1)
    leg = Resting(SYM, "tp1", OrderSide.SELL, False, 31_000.0)  # a long's TP leg
    assert leg.crossed(31_000.0) and not leg.crossed(30_999.9)
    short_stop = Resting(SYM, "sl", OrderSide.BUY, True, 31_000.0)
    assert short_stop.crossed(31_000.0) and not short_stop.crossed(30_999.9)
    assert not Resting(SYM, "x", OrderSide.SELL, True, 0.0).crossed(1.0)  # price unknown


async def test_exits_act_on_every_mark_price_and_fills_come_from_the_stream(
    fake_ex: tuple[FakeBinance, BinanceUsdm],
) -> None:
    """No candle at all: the legs fill, the stop ratchets, trails and closes the trade on mark
    prices alone, and the fills are found without one sweep of the open orders (the REST poll
    runs every 60 s here, so nothing in this test could have come from it)."""
    fake, ex = fake_ex
    async with LiveDesk(fake, ex, poll_s=60.0) as desk:
        await desk.p.bus.publish(Topic.INTENT, intent())
        await until(
            lambda: SYM in desk.p.book.positions and len(desk.p.book.positions[SYM].tp_orders) == 3
        )
        plan = desk.p.book.positions[SYM].opened.plan
        ex.fills._last_sweep = time.monotonic()  # noqa: SLF001 - the next sweep is 60 s away
        sweeps = ex.fills.sweeps
        for leg in (0, 1):
            await desk.price(plan.tp_prices[leg] + 1)
            await until(lambda n=leg: desk.p.book.positions[SYM].state.legs_done == n + 1)
        await until(lambda: len(desk.stops()) == 1 and desk.stops()[0] > plan.entry_price)
        before = desk.stops()[0]
        for px in (plan.tp_prices[1] + 50, plan.tp_prices[1] + 120, plan.tp_prices[1] + 200):
            await desk.price(px)  # a new high on each tick: the trailing stop follows
        peak = plan.tp_prices[1] + 200
        trail = peak * (1 - 0.005)
        await until(lambda: desk.stops() == [pytest.approx(trail, abs=0.2)])
        assert desk.stops()[0] > before
        await desk.price(trail - 10)  # through the trailing stop: the exchange closes it
        await until(lambda: bool(desk.closed))
        [closed] = desk.closed
        assert closed.exit_reason == "trailing" and closed.legs_hit == 2  # the exchange's stop
        assert ex.fills.sweeps == sweeps  # every fill came by the user-data stream
        assert fake.account.positions[ID].qty == 0


async def test_dropped_and_refused_streams_fall_back_to_rest_then_recover(
    fake_ex: tuple[FakeBinance, BinanceUsdm],
) -> None:
    fake, ex = fake_ex
    async with LiveDesk(fake, ex, poll_s=0.1) as desk:
        await desk.p.bus.publish(Topic.INTENT, intent(side=Side.LONG))
        await until(
            lambda: SYM in desk.p.book.positions and len(desk.p.book.positions[SYM].tp_orders) == 3
        )
        plan = desk.p.book.positions[SYM].opened.plan
        connections = fake.streams.connections
        await fake.streams.fault({"action": "refuse", "seconds": 2.0})
        await until(lambda: not ex.streaming)
        sweeps = desk.sweeps()
        fake.account.set_price(ID, plan.tp_prices[0] + 1)  # no stream sees this fill
        await until(lambda: desk.p.book.positions[SYM].state.legs_done == 1)
        assert desk.sweeps() > sweeps  # found by the REST sweep
        assert desk.streams.drops["orders"] >= 1
        assert desk.p.health.modules["streams"].last_error
        await until(lambda: ex.streaming and fake.streams.connections > connections, 15)
        streams = desk.p.health.modules["streams"]
        await until(lambda: streams.score(time.monotonic()) > 0)  # back, and recovering
        assert "listenKey=" not in streams.last_error  # the user stream's key is not logged


async def test_a_stalled_mark_price_stream_is_reconnected(
    fake_ex: tuple[FakeBinance, BinanceUsdm],
) -> None:
    fake, ex = fake_ex
    async with LiveDesk(fake, ex, poll_s=1.0) as desk:
        connections = fake.streams.connections
        await fake.streams.fault({"action": "stall", "seconds": 4.0})
        for k in range(30):  # prices keep moving; none of them is sent while stalled
            await desk.price(30_000.0 + k)
            await asyncio.sleep(0.1)
        assert desk.streams.drops["prices"] >= 1  # no mark price for 2.5 s: reconnecting
        await until(lambda: fake.streams.connections > connections)
        ticks = desk.streams.messages["prices"]
        for k in range(20):
            await desk.price(30_100.0 + k)
            await asyncio.sleep(0.05)
        await until(lambda: desk.streams.messages["prices"] > ticks)


async def test_a_stop_fill_is_booked_from_the_user_stream_while_rest_fails(
    fake_ex: tuple[FakeBinance, BinanceUsdm],
) -> None:
    """The soak's 429/418 storm: every REST call fails while the stop fills on the exchange.
    The user-data stream carries the fill (its quantity, price, fee and trade), so the book
    closes the position without one good REST read; REST finding it later books nothing twice."""
    fake, ex = fake_ex
    async with LiveDesk(fake, ex, poll_s=0.2) as desk:
        await desk.p.bus.publish(Topic.INTENT, intent(side=Side.LONG))
        await until(
            lambda: SYM in desk.p.book.positions and len(desk.p.book.positions[SYM].tp_orders) == 3
        )
        [stop] = desk.stops()
        fake.faults.append({"path": "", "kind": "status", "status": 502, "times": 10**9})
        await desk.price(stop - 5)  # the exchange's stop fills; REST answers 502 from now on
        await until(lambda: bool(desk.closed), 4.0)
        [closed] = desk.closed
        assert closed.exit_reason == "stop_loss"
        assert fake.account.positions[ID].qty == 0 and SYM not in desk.p.book.positions
        fee = sum(float(t["commission"]) for t in fake.account.trades)
        fake.faults.clear()
        await asyncio.sleep(1.0)  # REST is back: the same fill is read again, booked once
        assert len(desk.closed) == 1
        assert closed.fees == pytest.approx(fee, rel=1e-6)
