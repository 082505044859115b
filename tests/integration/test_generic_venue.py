"""The venue-neutral adapter (ccxt's unified API only, no Binance specifics) driving the real ccxt
client against the fake Binance server, through the daemon's own execution and exit manager.

The fake speaks Binance's wire format, so this proves the generic adapter's own logic — unified
stop-loss orders for the position's quantity, trigger-order reads and cancels, a triggered stop
whose fill is on a child order, duplicate client ids through ccxt's ``DuplicateOrderId`` — not any
other venue's API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from quantum_trader.core.types import OrderSide, Side
from quantum_trader.exchange.base import OrderRejected, OrderType
from quantum_trader.exchange.ccxt_futures import CcxtFutures
from quantum_trader.monitoring.stopwatch import StopWatch
from tests.integration.fake_exchange import serving
from tests.integration.test_binance_fake import ID, SYM, Desk, intent

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
async def desk() -> AsyncIterator[Desk]:
    async with serving(timeout_ms=200, generic=True) as (fake, ex):
        assert type(ex) is CcxtFutures
        yield Desk(fake, ex)


async def test_a_whole_trade_on_the_generic_adapter_books_what_the_exchange_did(
    desk: Desk,
) -> None:
    wallet0 = desk.fake.account.wallet
    await desk.enter(intent())
    mp = desk.p.book.positions[SYM]
    plan = mp.opened.plan
    [stop] = desk.live_stops()
    # a unified stop-loss: reduce-only, for the position's quantity (no closePosition here)
    assert stop["closePosition"] is False and stop["reduceOnly"] is True
    assert float(str(stop["quantity"])) == pytest.approx(plan.qty)
    assert float(str(stop["triggerPrice"])) == pytest.approx(plan.sl_price)
    assert sorted(float(str(o["price"])) for o in desk.live_limits()) == list(plan.tp_prices)

    await desk.price(plan.tp_prices[0] + 1)  # TP1 fills; the stop ratchets, the old one cancelled
    assert mp.state.legs_done == 1
    [moved] = desk.live_stops()
    assert moved["algoId"] != stop["algoId"]
    assert float(str(moved["quantity"])) == pytest.approx(mp.state.remaining)
    await desk.price(float(str(moved["triggerPrice"])) - 5)  # down through the stop

    [closed] = desk.closed  # the stop's fill (on its child order) found and booked once
    assert closed.legs_hit == 1
    assert desk.position_qty() == 0
    assert not desk.live_stops() and not desk.live_limits()
    assert closed.pnl == pytest.approx(desk.fake.account.wallet - wallet0, abs=0.01)
    assert await desk.ex.take_fills() == []  # nothing booked twice on later polls


async def test_a_stop_loss_on_the_generic_adapter_closes_the_whole_position(desk: Desk) -> None:
    wallet0 = desk.fake.account.wallet
    await desk.enter(intent(1, Side.SHORT))
    mp = desk.p.book.positions[SYM]
    await desk.price(mp.opened.plan.sl_price + 10)
    [closed] = desk.closed
    assert closed.legs_hit == 0 and closed.pnl < 0
    assert closed.pnl == pytest.approx(desk.fake.account.wallet - wallet0, abs=0.01)
    assert desk.position_qty() == 0 and not desk.live_limits()


async def test_open_orders_list_the_stop_and_a_duplicate_client_id_is_the_order(
    desk: Desk,
) -> None:
    await desk.enter(intent(2))
    mp = desk.p.book.positions[SYM]
    orders = await desk.ex.fetch_open_orders(SYM)
    [stop] = [o for o in orders if o.type is OrderType.STOP_MARKET]
    assert stop.id == mp.stop_order_id and stop.stop_price == pytest.approx(mp.state.stop_price)
    assert len([o for o in orders if o.type is OrderType.LIMIT]) == len(mp.opened.plan.tp_prices)
    # the same client id again: refused, never a second stop. (Binance says -4116, which only its
    # own adapter reads as "it exists"; the generic one acts on ccxt's DuplicateOrderId, which
    # ccxt raises for the venues whose error tables map it — tests/unit/exchange)
    with pytest.raises(OrderRejected, match="-4116"):
        await desk.ex.create_stop_market(SYM, OrderSide.SELL, stop.stop_price, stop.client_id)
    assert len(desk.live_stops()) == 1
    found = await desk.ex.fetch_order_by_client_id(SYM, stop.client_id)
    assert found is not None and found.type is OrderType.STOP_MARKET


async def test_a_stop_cancelled_behind_our_back_is_placed_again_generic(desk: Desk) -> None:
    await desk.enter(intent(3))
    mp = desk.p.book.positions[SYM]
    [stop] = desk.live_stops()
    desk.fake.account.cancel_algo(int(str(stop["algoId"])), None)
    watch = StopWatch(desk.ex, desk.p.book, desk.p.exits, 1.0)
    assert await watch.check() == 1
    [again] = desk.live_stops()
    assert mp.stop_order_id == str(again["algoId"])
    assert await watch.check() == 0


async def test_the_generic_adapter_refuses_a_market_that_is_not_a_usdt_linear_swap(
    desk: Desk,
) -> None:
    rules = await desk.ex.market_rules(SYM)
    assert rules.qty_step > 0 and ID == desk.ex.client.market(SYM)["id"]
    desk.ex.client.markets[SYM] = {**desk.ex.client.markets[SYM], "settle": "USDC"}
    with pytest.raises(Exception, match="not a USDT-margined linear perpetual"):
        await desk.ex.market_rules(SYM)
