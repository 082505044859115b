"""Opt-in: the adapter against the real Binance USDⓈ-M demo (demo-fapi.binance.com). Needs the
network and demo keys in QT_DEMO_API_KEY / QT_DEMO_API_SECRET; skipped otherwise.

    QT_DEMO_API_KEY=… QT_DEMO_API_SECRET=… make test-demo

It opens the smallest BTCUSDT position the exchange allows, protects it with an algo stop and a
TP leg, checks both are live, and closes everything again."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator

import pytest

from quantum_trader.core.types import OrderSide
from quantum_trader.exchange.binance import BinanceUsdm
from quantum_trader.exchange.binance_client import make_client

KEY, SECRET = os.environ.get("QT_DEMO_API_KEY"), os.environ.get("QT_DEMO_API_SECRET")
SYM = "BTC/USDT:USDT"
pytestmark = [
    pytest.mark.demo,
    pytest.mark.skipif(not (KEY and SECRET), reason="QT_DEMO_API_KEY / QT_DEMO_API_SECRET unset"),
    pytest.mark.timeout(120),
]


@pytest.fixture
async def demo() -> AsyncIterator[BinanceUsdm]:
    assert KEY and SECRET
    ex = BinanceUsdm(make_client("testnet", KEY, SECRET), "binance-demo")
    try:
        await ex.start()
        yield ex
    finally:
        await ex.close()


async def test_account_rules_and_brackets(demo: BinanceUsdm) -> None:
    rules = await demo.market_rules(SYM)
    assert rules.qty_step > 0 and rules.price_tick > 0 and rules.min_notional > 0
    brackets = await demo.brackets(SYM)
    assert brackets.brackets[0].notional_floor == 0 and brackets.brackets[0].max_leverage >= 20
    balance = await demo.fetch_balance()
    assert balance.wallet > 0


async def test_smallest_protected_round_trip(demo: BinanceUsdm) -> None:
    assert not [p for p in await demo.fetch_positions() if p.symbol == SYM], "BTC position open"
    rules = await demo.market_rules(SYM)
    price = float((await demo.client.fetch_ticker(SYM))["last"])
    qty = max(
        rules.min_qty, rules.qty_step * round(rules.min_notional * 1.2 / price / rules.qty_step + 1)
    )
    tag = f"qtdemo{int(time.time())}"
    await demo.prepare_symbol(SYM, 5)
    entry = await demo.create_market_order(SYM, OrderSide.BUY, qty, f"{tag}-entry")
    try:
        assert entry.filled_qty == pytest.approx(qty)
        stop = await demo.create_stop_market(SYM, OrderSide.SELL, price * 0.9, f"{tag}-sl0")
        tp = await demo.create_limit_order(SYM, OrderSide.SELL, qty, price * 1.1, f"{tag}-tp1")
        live = {o.id for o in await demo.fetch_open_orders(SYM)}
        assert stop.id in live and tp.id in live
        found = await demo.fetch_order_by_client_id(SYM, f"{tag}-entry")
        assert found is not None and found.filled_qty == pytest.approx(qty)
    finally:
        for o in await demo.fetch_open_orders(SYM):
            if o.client_id.startswith(tag):
                await demo.cancel_order(SYM, o.id)
        for p in await demo.fetch_positions():
            if p.symbol == SYM:
                await demo.create_market_order(SYM, OrderSide.SELL, p.qty, f"{tag}-x", True)
