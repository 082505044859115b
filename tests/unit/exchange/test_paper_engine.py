"""The paper matching engine: fills, fees, margin, triggers along the candle path, funding."""

from __future__ import annotations

import pytest

from quantum_trader.core.sizing import MarketRules
from quantum_trader.core.types import OrderSide, Side
from quantum_trader.exchange.base import OrderRejected, OrderStatus
from quantum_trader.exchange.paper_engine import PaperEngine
from quantum_trader.exchange.paper_rules import EIGHT_HOURS_MS, PaperConfig

T0 = 1_700_006_400_000  # 2023-11-15 00:00 UTC, a funding boundary
M = 60_000
SYM = "BTC/USDT:USDT"


def engine(**cfg: float) -> PaperEngine:
    e = PaperEngine(PaperConfig(auto_rules=False, **cfg))  # type: ignore[arg-type]
    e.on_candle(SYM, T0, 100.0, 100.0, 100.0, 100.0)
    e.set_leverage(SYM, 10)
    return e


def test_market_entry_fee_margin_and_balance() -> None:
    e = engine(slippage=0.001, taker_fee=0.0005)
    order = e.market(SYM, OrderSide.BUY, 10.0, "c1")
    assert order.status is OrderStatus.FILLED
    assert order.avg_price == pytest.approx(100.1)  # 100 × (1 + 0.001)
    assert order.fee == pytest.approx(10 * 100.1 * 0.0005)  # 0.5005
    pos = e.position(SYM)
    assert pos is not None and pos.side is Side.LONG
    assert pos.margin == pytest.approx(100.1)  # 1,001 / 10
    bal = e.balance()
    assert bal.wallet == pytest.approx(10_000 - 0.5005)
    assert bal.used_margin == pytest.approx(100.1)
    assert bal.equity == pytest.approx(bal.wallet + (100 - 100.1) * 10)


def test_rejections_carry_binance_codes() -> None:
    e = engine()
    with pytest.raises(OrderRejected, match="-4164"):
        e.market(SYM, OrderSide.BUY, 0.5, "small")  # 50 USDT < 100
    with pytest.raises(OrderRejected, match="-1111"):
        e.market(SYM, OrderSide.BUY, 1.0005, "step")
    with pytest.raises(OrderRejected, match="-2019"):
        e.market(SYM, OrderSide.BUY, 1_000.0, "big")  # 100k notional at 10x on 10k
    with pytest.raises(OrderRejected, match="-2022"):
        e.market(SYM, OrderSide.SELL, 1.0, "ro", reduce_only=True)  # nothing to reduce
    e.market(SYM, OrderSide.BUY, 2.0, "dup")
    with pytest.raises(OrderRejected, match="-4116"):
        e.market(SYM, OrderSide.BUY, 2.0, "dup")
    with pytest.raises(OrderRejected, match="-2021"):
        e.stop_market(SYM, OrderSide.SELL, 101.0, "s-bad")  # above the price: triggers at once


def test_tp_limit_fills_at_its_price_with_maker_fee_then_stop_closes_rest() -> None:
    e = engine(slippage=0.0, taker_fee=0.0005, maker_fee=0.0002)
    e.market(SYM, OrderSide.BUY, 10.0, "entry")
    e.limit(SYM, OrderSide.SELL, 4.0, 102.0, "tp1")
    e.stop_market(SYM, OrderSide.SELL, 99.0, "sl")
    e.take_fills()
    # up to 102.5 first (nearer extreme), then down to 97: TP1 fills, then the stop
    e.on_candle(SYM, T0 + M, 100.0, 102.5, 97.0, 99.5)
    fills = e.take_fills()
    assert [(f.client_id, f.qty, f.price) for f in fills] == [
        ("tp1", 4.0, 102.0),
        ("sl", 6.0, 99.0),
    ]
    assert fills[0].fee == pytest.approx(4 * 102 * 0.0002)
    assert fills[1].fee == pytest.approx(6 * 99 * 0.0005)
    assert e.position(SYM) is None
    # wallet: −0.5 entry fee, +8 − 0.0816 on TP1, −6 − 0.297 on the stop
    assert e.wallet == pytest.approx(10_000 - 0.5 + 8 - 0.0816 - 6 - 0.297)


def test_path_visits_the_nearer_extreme_first() -> None:
    e = engine(slippage=0.0)
    e.market(SYM, OrderSide.BUY, 10.0, "entry")
    e.limit(SYM, OrderSide.SELL, 10.0, 102.0, "tp")
    e.stop_market(SYM, OrderSide.SELL, 99.0, "sl")
    e.on_candle(SYM, T0 + M, 100.0, 102.5, 98.9, 100.0)  # low is nearer: stop first
    assert [f.client_id for f in e.take_fills()][-1] == "sl"
    assert e.orders[e._client["tp"]].status is OrderStatus.EXPIRED


def test_gap_through_a_stop_fills_at_the_open() -> None:
    e = engine(slippage=0.0)
    e.market(SYM, OrderSide.BUY, 10.0, "entry")
    e.on_candle(SYM, T0 + M, 100.0, 100.5, 99.5, 100.0)
    e.stop_market(SYM, OrderSide.SELL, 99.0, "sl")
    e.on_candle(SYM, T0 + 2 * M, 97.0, 97.5, 96.0, 97.0)
    (fill,) = [f for f in e.take_fills() if f.client_id == "sl"]
    assert fill.price == 97.0


def test_short_stop_and_slippage() -> None:
    e = engine(slippage=0.001)
    e.market(SYM, OrderSide.SELL, 10.0, "entry")
    e.stop_market(SYM, OrderSide.BUY, 101.0, "sl")
    e.on_candle(SYM, T0 + M, 100.0, 101.5, 99.8, 101.2)
    (fill,) = [f for f in e.take_fills() if f.client_id == "sl"]
    assert fill.price == pytest.approx(101.0 * 1.001)
    assert e.position(SYM) is None


def test_funding_paid_by_longs_at_the_boundary() -> None:
    e = engine(slippage=0.0)
    e.market(SYM, OrderSide.BUY, 10.0, "entry")
    e.on_candle(SYM, T0 + EIGHT_HOURS_MS - M, 100.0, 100.0, 100.0, 100.0, funding_rate=0.001)
    wallet = e.wallet
    e.on_candle(SYM, T0 + EIGHT_HOURS_MS, 100.0, 100.0, 100.0, 100.0)
    assert e.wallet == pytest.approx(wallet - 10 * 100 * 0.001)
    assert e.funding_paid(SYM, T0) == pytest.approx(-1.0)


def test_liquidation_is_counted_when_no_stop_protects() -> None:
    e = engine(slippage=0.0)
    e.market(SYM, OrderSide.BUY, 10.0, "entry")
    liq = e.position(SYM).liquidation_price  # type: ignore[union-attr]
    assert liq == pytest.approx((100 - 1000) / (10 * 0.004 - 10))
    e.on_candle(SYM, T0 + M, 100.0, 100.0, 85.0, 86.0)
    assert e.liquidations == 1 and e.position(SYM) is None


def test_per_symbol_rules() -> None:
    e = PaperEngine(PaperConfig(), rules={SYM: MarketRules(qty_step=1, min_qty=1, min_notional=5)})
    assert e.rules("ETH/USDT:USDT") == PaperConfig().default_rules  # no price yet
    e.on_candle(SYM, T0, 100.0, 100.0, 100.0, 100.0)
    with pytest.raises(OrderRejected, match="-1111"):
        e.market(SYM, OrderSide.BUY, 0.5, "x")


def test_open_orders_come_from_the_live_index_and_history_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from quantum_trader.exchange import paper_account

    monkeypatch.setattr(paper_account, "KEEP_FINISHED", 4)
    e = engine(slippage=0.0)
    for i in range(5):
        e.market(SYM, OrderSide.BUY, 2.0, f"in{i}")
        e.market(SYM, OrderSide.SELL, 2.0, f"out{i}", reduce_only=True)
    assert len(e.orders) == 4  # the oldest finished orders were let go
    assert e.by_client_id("out4") is not None and e.by_client_id("in0") is None
    e.market(SYM, OrderSide.BUY, 2.0, "pos")
    stop = e.stop_market(SYM, OrderSide.SELL, 90.0, "sl")
    tp = e.limit(SYM, OrderSide.SELL, 1.0, 110.0, "tp")
    assert [o.id for o in e.open_orders(SYM)] == [stop.id, tp.id]
    e.cancel(tp.id)
    assert [o.id for o in e.open_orders()] == [stop.id]


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
def test_gap_through_stop_and_liquidation_liquidates_losing_only_the_margin(side: Side) -> None:
    """Issue 10, item 8: an isolated position never loses more than its margin (plus fees). A gap
    through both the stop and the liquidation price is a liquidation, not a stop fill at the gap."""
    e = engine(slippage=0.0, taker_fee=0.0005)
    e.set_leverage(SYM, 20)
    opening, closing = (
        (OrderSide.BUY, OrderSide.SELL) if side is Side.LONG else (OrderSide.SELL, OrderSide.BUY)
    )
    e.market(SYM, opening, 10.0, "entry")
    pos = e.position(SYM)
    assert pos is not None
    stop = 97.0 if side is Side.LONG else 103.0
    e.stop_market(SYM, closing, stop, "stop")
    wallet = e.wallet
    gap = 90.0 if side is Side.LONG else 110.0  # far beyond the liquidation price (≈ 95.5/104.5)
    assert (gap < pos.liquidation_price) if side is Side.LONG else (gap > pos.liquidation_price)
    e.on_candle(SYM, T0 + M, gap, gap, gap, gap)
    assert e.liquidations == 1
    assert e.positions == {}
    assert e.wallet == pytest.approx(wallet - pos.margin)  # the margin, not 10 × 10 = 100 USDT
    assert e.open_orders() == []
    # the stop never filled (it expired with the position); the exchange's own close did, at the
    # bankruptcy price, so the book can close the position: 10 × (price − entry) = −margin
    (fill,) = e.take_fills()
    assert fill.client_id.startswith("autoclose-") and fill.qty == 10.0 and fill.fee == 0.0
    assert side.sign * (fill.price - pos.entry_price) * 10 == pytest.approx(-pos.margin)
