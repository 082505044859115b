"""The paper exchange's order checks, pure, with Binance's error codes."""

from __future__ import annotations

from quantum_trader.core.sizing import MarketRules, round_down_to_step
from quantum_trader.core.types import OrderSide, Side
from quantum_trader.exchange.base import OrderRejected


def side_of(order_side: OrderSide) -> Side:
    """The position side an order opens or adds to."""
    return Side.LONG if order_side is OrderSide.BUY else Side.SHORT


def check_qty(r: MarketRules, qty: float, price: float, reduce_only: bool) -> None:
    if qty <= 0 or round_down_to_step(qty, r.qty_step) != qty:
        raise OrderRejected("-1111", f"quantity {qty} is not a multiple of {r.qty_step}")
    if qty < r.min_qty or qty > r.max_qty:
        raise OrderRejected("-4003", f"quantity {qty} outside [{r.min_qty}, {r.max_qty}]")
    if not reduce_only and qty * price < r.min_notional:
        raise OrderRejected(
            "-4164",
            f"Order's notional must be no smaller than "
            f"{r.min_notional:g} (unless you choose reduce only)",
        )


def check_reduce(position_side: Side | None, order_side: OrderSide) -> None:
    """A reduce-only order must face an open position."""
    if position_side is None or side_of(order_side) is position_side:
        raise OrderRejected("-2022", "ReduceOnly Order is rejected.")
