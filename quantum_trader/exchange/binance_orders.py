"""Orders as ccxt parses them → the adapter's ``Order``: plain and stop (trigger) orders by ccxt's
unified fields, any venue; Binance's algo (conditional) orders by Binance's own fields
(``algoId``, ``algoStatus``…)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from quantum_trader.core.types import OrderSide
from quantum_trader.exchange.base import Order, OrderStatus, OrderType

STATUS = {
    "open": OrderStatus.NEW,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
ALGO_STATUS = {
    "NEW": OrderStatus.NEW,
    "TRIGGERING": OrderStatus.NEW,
    "TRIGGERED": OrderStatus.PARTIALLY_FILLED,
    "FINISHED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}


def with_fee(order: Order, fee: float) -> Order:
    return replace(order, fee=fee)


def plain_order(raw: dict[str, Any]) -> Order:
    filled = float(raw.get("filled") or 0.0)
    status = STATUS.get(str(raw.get("status")), OrderStatus.NEW)
    if status is OrderStatus.NEW and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    kind = str(raw.get("type") or "market").upper()
    return Order(
        str(raw.get("id")),
        str(raw.get("clientOrderId") or ""),
        str(raw.get("symbol") or ""),
        OrderSide(str(raw.get("side") or "buy").upper()),
        OrderType(kind) if kind in OrderType.__members__ else OrderType.MARKET,
        float(raw.get("amount") or 0.0),
        status,
        float(raw.get("price") or 0.0),
        float(raw.get("triggerPrice") or 0.0),
        bool(raw.get("reduceOnly")),
        False,
        filled,
        float(raw.get("average") or 0.0),
        float((raw.get("fee") or {}).get("cost") or 0.0),
        int(raw.get("timestamp") or raw.get("lastUpdateTimestamp") or 0),
    )


def stop_order(raw: dict[str, Any]) -> Order:
    """A unified trigger order: a closing stop, whatever the venue calls its type."""
    order = plain_order(raw)
    trigger = raw.get("triggerPrice") or raw.get("stopLossPrice") or raw.get("stopPrice")
    return replace(
        order, type=OrderType.STOP_MARKET, stop_price=float(trigger or 0.0), reduce_only=True
    )


def algo_order(raw: dict[str, Any]) -> Order:
    info = raw.get("info") or {}
    return Order(
        str(info.get("algoId") or raw.get("id")),
        str(info.get("clientAlgoId") or raw.get("clientOrderId") or ""),
        str(raw.get("symbol") or ""),
        OrderSide(str(info.get("side") or raw.get("side") or "BUY").upper()),
        OrderType.STOP_MARKET,
        float(info.get("quantity") or 0.0),
        ALGO_STATUS.get(str(info.get("algoStatus")), OrderStatus.NEW),
        0.0,
        float(info.get("triggerPrice") or raw.get("triggerPrice") or 0.0),
        True,
        str(info.get("closePosition")).lower() == "true",
        0.0,
        0.0,
        0.0,
        int(info.get("createTime") or raw.get("timestamp") or 0),
    )
