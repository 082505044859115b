"""The paper exchange's configuration, position record and order checks (pure, with Binance's
error codes)."""

from __future__ import annotations

from dataclasses import dataclass, field

from quantum_trader.core.liquidation import DEFAULT_BRACKETS, BracketTable
from quantum_trader.core.sizing import MarketRules, round_down_to_step
from quantum_trader.core.types import OrderSide, Side
from quantum_trader.exchange.base import Order, OrderRejected, OrderType

EIGHT_HOURS_MS = 8 * 3_600_000


@dataclass(frozen=True, slots=True)
class PaperConfig:
    starting_balance: float = 10_000.0
    taker_fee: float = 0.0005
    maker_fee: float = 0.0002
    slippage: float = 0.0002
    funding_interval_ms: int = EIGHT_HOURS_MS
    default_rules: MarketRules = field(default_factory=MarketRules)
    auto_rules: bool = True  # derive rules from a symbol's first price when none are given
    brackets: BracketTable = DEFAULT_BRACKETS


@dataclass(slots=True)
class PaperPosition:
    side: Side
    qty: float
    entry: float
    margin: float
    leverage: int
    liq: float = 0.0  # liquidation price, refreshed whenever the position changes


@dataclass(frozen=True, slots=True)
class FundingPayment:
    symbol: str
    ts: int
    amount: float  # received > 0, paid < 0


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


def trigger_price(order: Order, a: float, b: float, gap: bool, slippage: float) -> float | None:
    """The fill price if the price move a→b reaches the order, else None (a gap fills at b)."""
    lo, hi = min(a, b), max(a, b)
    level = order.stop_price if order.type is OrderType.STOP_MARKET else order.price
    if not lo <= level <= hi:
        return None
    price = b if gap else level
    if order.type is OrderType.STOP_MARKET:
        return price * (1 - slippage) if order.side is OrderSide.SELL else price * (1 + slippage)
    return price
