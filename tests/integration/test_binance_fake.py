"""The real ccxt client against the fake Binance USDT-M server, through the daemon's own execution
and exit manager: a whole trade, lost answers, rate-limit storms, a stop that cannot be placed,
and the exchange's refusals."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from loguru import logger

from quantum_trader.bus.messages import CandleEvent, PositionClosed, Topic
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.types import Candle, Regime, Side
from quantum_trader.exchange.base import FatalExchangeError
from quantum_trader.exchange.binance import BinanceUsdm
from quantum_trader.monitoring.stopwatch import StopWatch
from quantum_trader.pipeline import Pipeline, build_pipeline
from quantum_trader.settings import Settings
from quantum_trader.testing.fake_binance import KEY, SECRET, FakeBinance
from tests.component.fakes import ScriptedFeed
from tests.integration.fake_exchange import fake_view, serving

SYM, ID = "BTC/USDT:USDT", "BTCUSDT"
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def intent(n: int = 0, side: Side = Side.LONG, margin: float = 100.0) -> TradeIntent:
    return TradeIntent(
        intent_id=f"BTCUSDT-{n}-{side}",
        ts=1_767_225_600_000,
        symbol=SYM,
        side=side,
        confidence=0.8,
        entry_price=30_000.0,
        stop_loss=29_000.0 if side is Side.LONG else 31_000.0,
        take_profit=31_000.0 if side is Side.LONG else 29_000.0,
        margin_usd=margin,
        leverage=10,
        atr_value=0.0,
        volatility=0.0,
        exchange_divergence=0.0,
        funding_rate=0.0,
        regime=Regime.NORMAL,
        source="test",
        reason="scripted",
    )


class Desk:
    """The pipeline on the fake exchange; prices move on the fake, fills are polled as live."""

    def __init__(self, fake: FakeBinance, ex: BinanceUsdm) -> None:
        self.fake, self.ex = fake, ex
        settings = Settings(signals={"min_confidence": 1.0, "symbols": (SYM,)})
        self.p: Pipeline = build_pipeline(settings, ScriptedFeed(SYM, [], 0), exchange=ex)
        self.p.execution.retry_base = 0.005
        self.p.exits.retry_base = 0.005
        self.closed: list[PositionClosed] = []
        self.p.bus.add_tap(
            lambda topic, m: self.closed.append(m) if topic == Topic.POSITION_CLOSED else None
        )
        self.ts = 1_767_225_600_000

    def check(self) -> None:
        """The book equals the fake exchange (the inline bus has settled every reaction)."""
        positions, orders = fake_view(self.fake, SYM, ID)
        self.p.invariants.check(positions, orders, self.ts)

    async def enter(self, i: TradeIntent) -> None:
        await self.p.bus.publish(Topic.INTENT, i)
        self.check()

    async def price(self, px: float) -> None:
        self.fake.account.set_price(ID, px)
        for fill in await self.ex.take_fills():
            await self.p.bus.publish(Topic.ORDER_FILLED, fill)
        self.ts += 60_000
        candle = Candle(self.ts, px, px, px, px, 1.0)
        await self.p.bus.publish(Topic.CANDLE, CandleEvent(SYM, candle, 60_000, None))
        self.check()

    def live_stops(self) -> list[dict[str, object]]:
        return [a for a in self.fake.account.algo.values() if a["algoStatus"] == "NEW"]

    def live_limits(self) -> list[dict[str, object]]:
        live = ("NEW", "PARTIALLY_FILLED")
        return [o for o in self.fake.account.orders.values() if o["status"] in live]

    def position_qty(self) -> float:
        pos = self.fake.account.positions.get(ID)
        return 0.0 if pos is None else pos.qty

    async def flatten(self) -> None:
        mp = self.p.book.positions.get(SYM)
        if mp is not None:
            await self.p.exits._close(mp, "test_reset")  # noqa: SLF001


@pytest.fixture
async def desk() -> AsyncIterator[Desk]:
    async with serving(timeout_ms=200) as (fake, ex):
        yield Desk(fake, ex)


async def test_a_whole_trade_entry_stop_legs_ratchet_close(desk: Desk) -> None:
    wallet0 = desk.fake.account.wallet
    await desk.enter(intent())
    mp = desk.p.book.positions[SYM]
    plan = mp.opened.plan
    assert desk.position_qty() == pytest.approx(plan.qty) == pytest.approx(0.033)
    [stop] = desk.live_stops()
    assert stop["closePosition"] is True and stop["workingType"] == "MARK_PRICE"
    assert float(str(stop["triggerPrice"])) == pytest.approx(plan.sl_price)
    assert sorted(float(str(o["price"])) for o in desk.live_limits()) == list(plan.tp_prices)
    assert desk.fake.requests["POST /fapi/v1/algoOrder"] == 1  # stops via the algo API only

    desk.fake.account.funding(ID, 0.0003)  # a funding payment while the position is open
    await desk.price(plan.tp_prices[0] + 1)  # TP1 fills; the stop ratchets to breakeven
    assert mp.state.legs_done == 1
    [moved] = desk.live_stops()
    assert float(str(moved["triggerPrice"])) > plan.entry_price  # breakeven + fees
    assert moved["algoId"] != stop["algoId"]
    await desk.price(plan.tp_prices[1] + 1)  # TP2
    assert mp.state.legs_done == 2
    [moved2] = desk.live_stops()
    assert float(str(moved2["triggerPrice"])) > float(str(moved["triggerPrice"]))
    await desk.price(float(str(moved2["triggerPrice"])) - 5)  # back down through the stop

    [closed] = desk.closed
    assert closed.legs_hit == 2
    assert desk.position_qty() == 0
    assert not desk.live_stops() and not desk.live_limits()  # TP3 cancelled with the position
    # the PnL booked — fees and funding included — is the exchange's own account movement
    assert closed.funding == pytest.approx(-0.033 * 30_000 * 0.0003)
    assert closed.pnl == pytest.approx(desk.fake.account.wallet - wallet0, abs=0.01)
    # the exchange's own trade history (what reconciliation books an away-close from) tells the
    # same story: the entry, and closing fills for all of it
    history = await desk.ex.fetch_trades_since(SYM, 0)
    assert all(t.trade_id.startswith("T") for t in history)
    assert sum(t.qty for t in history if t.side.value == "BUY") == pytest.approx(plan.qty)
    assert sum(t.qty for t in history if t.side.value == "SELL") == pytest.approx(plan.qty)


@pytest.mark.slow
async def test_entry_answers_lost_100_times_give_one_position_each_time() -> None:
    """Every entry request times out on the client; the exchange carries it out, or carries it
    out late (inside its recvWindow), or receives it too late (outside: rejected, never executed),
    or never carries it out. Each time: exactly one position."""
    faults = [
        {"kind": "timeout_after", "delay": 0.3},  # carried out, answer lost
        {"kind": "delay", "delay": 0.3},  # held up, carried out late, within the window
        {"kind": "delay", "delay": 0.5},  # held up beyond the window: refused, never executed
        {"kind": "timeout_after", "delay": 0.3, "times": 2},  # entry and TP1 answers lost
    ]
    async with serving(timeout_ms=200, recv_window_ms=400) as (fake, ex):
        desk = Desk(fake, ex)
        for n in range(100):
            fault = {"method": "POST", "path": "/fapi/v1/order", "times": 1, **faults[n % 4]}
            fake.faults.append(fault)
            await desk.enter(intent(n, Side.LONG if n % 2 else Side.SHORT))
            entries = [
                o
                for o in fake.account.orders.values()
                if o["clientOrderId"].endswith("-entry") and o["status"] == "FILLED"
            ]
            assert len(entries) == n + 1, f"run {n}: {len(entries)} entries for {n + 1} intents"
            assert abs(desk.position_qty()) == pytest.approx(0.033), f"run {n}"
            assert len(desk.live_stops()) == 1, f"run {n}"
            await desk.flatten()
            assert desk.position_qty() == 0 and not desk.live_stops() and not desk.live_limits()
        assert not [f for f in fake.faults if f["times"] > 0]  # every fault was exercised
        assert fake.requests["POST /fapi/v1/order"] >= 100 + 25  # the late ones were resent


async def test_rate_limit_storm_backs_off_and_completes(desk: Desk) -> None:
    for path in ("/fapi/v1/leverageBracket", "/fapi/v1/order", "/fapi/v1/algoOrder"):
        desk.fake.faults.append(
            {"path": path, "kind": "ratelimit", "status": 429, "retry_after": 0, "times": 2}
        )
    desk.fake.faults.append({"path": "/fapi/v1/openOrders", "kind": "ratelimit", "status": 418})
    await desk.enter(intent(1))
    assert desk.p.book.positions[SYM].stop_order_id is not None
    assert len(desk.live_stops()) == 1
    entries = [
        o for o in desk.fake.account.orders.values() if o["clientOrderId"].endswith("-entry")
    ]
    assert [o["status"] for o in entries] == ["FILLED"]  # the refused ones never existed
    assert desk.fake.requests["POST /fapi/v1/order"] >= 3  # refused twice, then sent


async def test_stop_that_cannot_be_placed_closes_at_market_and_says_so(desk: Desk) -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level=logging.ERROR, format="{message}")
    try:
        desk.fake.faults.append(
            {"method": "POST", "path": "/fapi/v1/algoOrder", "kind": "error", "code": -2019}
        )
        await desk.enter(intent(2))
    finally:
        logger.remove(sink)
    assert SYM not in desk.p.book.positions
    assert desk.position_qty() == 0  # closed at market
    assert desk.p.execution.emergency_closes == 1
    assert any("STOP PLACEMENT FAILED" in line for line in lines)


async def test_refusals_reject_the_intent_without_a_position(desk: Desk) -> None:
    await desk.enter(intent(3, margin=0.5))  # 0.5 USDT × 10 → below BTC's 100 USDT minimum
    desk.fake.faults.append(
        {"method": "POST", "path": "/fapi/v1/order", "kind": "error", "code": -2019}
    )
    await desk.enter(intent(4))
    assert desk.p.execution.rejected == 2
    assert desk.position_qty() == 0 and not desk.live_stops()


async def test_plain_order_endpoint_refuses_stops_with_4120(desk: Desk) -> None:
    with pytest.raises(Exception, match="-4120"):
        await desk.ex.client.fapiPrivatePostOrder(
            {
                "symbol": ID,
                "side": "SELL",
                "type": "STOP_MARKET",
                "stopPrice": "29000",
                "closePosition": "true",
            }
        )


async def test_partial_fills_of_a_tp_leg_arrive_in_parts(desk: Desk) -> None:
    desk.fake.account.partial_fills = True
    await desk.enter(intent(5))
    mp = desk.p.book.positions[SYM]
    tp1 = mp.opened.plan.tp_prices[0]
    await desk.price(tp1 + 1)
    first = mp.state.remaining
    await desk.price(tp1 + 2)
    assert mp.state.remaining < first < mp.opened.plan.qty
    assert mp.state.legs_done == 1


async def test_hedge_mode_account_is_refused() -> None:
    async with serving() as (fake, ex):
        fake.account.dual_side = True
        with pytest.raises(Exception, match="hedge"):
            await ex.start()


async def test_a_bad_secret_is_fatal_and_never_shown() -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="DEBUG", format="{message}")
    try:
        async with serving() as (fake, ex):
            fake.secret = "the-server-expects-another-secret"  # noqa: S105
            with pytest.raises(FatalExchangeError) as info:
                await ex.fetch_balance()
            assert fake.bad_signatures == 1  # refused at once: no retry of a fatal error
    finally:
        logger.remove(sink)
    text = str(info.value) + "".join(lines)
    assert "-1022" in text
    assert KEY not in text and SECRET not in text


async def test_a_stop_cancelled_behind_our_back_is_placed_again(desk: Desk) -> None:
    await desk.enter(intent(6))
    mp = desk.p.book.positions[SYM]
    [stop] = desk.live_stops()
    desk.fake.account.cancel_algo(int(str(stop["algoId"])), None)  # someone, in the web UI
    watch = StopWatch(desk.ex, desk.p.book, desk.p.exits, 1.0)
    assert await watch.check() == 1
    [again] = desk.live_stops()
    assert again["algoId"] != stop["algoId"] and mp.stop_order_id == str(again["algoId"])
    assert float(str(again["triggerPrice"])) == pytest.approx(mp.state.stop_price)
    assert await watch.check() == 0  # live now: nothing to do


async def test_an_entry_whose_state_stays_unknown_is_found_and_protected(desk: Desk) -> None:
    desk.ex.read_retries = 0  # every look-up is one request: the faults count them
    desk.fake.faults.append(
        {"method": "POST", "path": "/fapi/v1/order", "kind": "timeout_after", "delay": 0.3}
    )
    desk.fake.faults.append(
        {"method": "GET", "path": "/fapi/v1/order", "kind": "status", "status": 503, "times": 10}
    )
    await desk.enter(intent(7))
    assert desk.fake.faults[-1]["times"] == 0  # ten look-ups failed before one answered
    mp = desk.p.book.positions[SYM]
    assert desk.position_qty() == pytest.approx(mp.opened.plan.qty)
    assert len(desk.live_stops()) == 1 and mp.stop_order_id is not None
    entries = [
        o for o in desk.fake.account.orders.values() if o["clientOrderId"].endswith("-entry")
    ]
    assert len(entries) == 1
