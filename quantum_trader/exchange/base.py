"""The ``Exchange`` protocol every adapter implements. Its order, position and balance types and
its errors are values in :mod:`quantum_trader.core.account` (re-exported here for the adapters).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from quantum_trader.core.account import (
    LIQUIDATION_PREFIX,
    Balance,
    ExchangeError,
    FatalExchangeError,
    Order,
    OrderRejected,
    OrderStatus,
    OrderType,
    Position,
    TemporaryExchangeError,
)
from quantum_trader.core.decision import DecisionParams
from quantum_trader.core.liquidation import BracketTable
from quantum_trader.core.sizing import MarketRules
from quantum_trader.core.types import Fill, OrderSide

__all__ = [
    "LIQUIDATION_PREFIX", "Balance", "Exchange", "ExchangeError", "FatalExchangeError", "Order",
    "OrderRejected", "OrderStatus", "OrderType", "Position", "TemporaryExchangeError",
    "market_params",
]  # fmt: skip


class Exchange(Protocol):
    """What execution needs from an exchange. All prices in USDT, quantities in base units."""

    name: str
    #: after this long, an order request that was not executed never will be (0: answers are
    #: never lost, as in the paper exchange)
    order_expiry_ms: int

    async def market_rules(self, symbol: str) -> MarketRules: ...

    async def brackets(self, symbol: str) -> BracketTable: ...

    async def prepare_symbol(self, symbol: str, leverage: int) -> None:
        """Isolated margin (already isolated counts as success) and the leverage."""
        ...

    async def create_market_order(
        self, symbol: str, side: OrderSide, qty: float, client_id: str, reduce_only: bool = False
    ) -> Order: ...

    async def create_limit_order(
        self,
        symbol: str,
        side: OrderSide,
        qty: float,
        price: float,
        client_id: str,
        reduce_only: bool = True,
    ) -> Order: ...

    async def create_stop_market(
        self, symbol: str, side: OrderSide, stop_price: float, client_id: str
    ) -> Order:
        """A close-position STOP_MARKET triggered on the mark price."""
        ...

    async def cancel_order(self, symbol: str, order_id: str) -> None: ...

    async def fetch_order_by_client_id(self, symbol: str, client_id: str) -> Order | None: ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def fetch_positions(self) -> list[Position]: ...

    async def fetch_balance(self) -> Balance: ...

    async def funding_paid(self, symbol: str, since_ts: int) -> float:
        """Funding received (> 0) or paid (< 0) on ``symbol`` since ``since_ts``, in USDT."""
        ...

    async def fetch_trades_since(self, symbol: str, since_ts: int) -> list[Fill]:
        """Our executions on ``symbol`` since ``since_ts``, from the exchange's own history (what
        reconciliation books a position closed while away from)."""
        ...

    async def take_fills(self) -> list[Fill]:
        """Fills of resting orders (stops, TP legs) since the last call."""
        ...

    async def start(self) -> None:
        """Connect and check the account (markets, position mode); before any order."""
        ...

    async def track(self, order: Order) -> None:
        """Watch a resting order for fills (after a restart: orders the journal knows)."""
        ...

    async def close(self) -> None: ...


async def market_params(exchange: Exchange, params: DecisionParams, symbol: str) -> DecisionParams:
    """The decision's parameters with the exchange's own rules and brackets for ``symbol``."""
    return replace(
        params,
        rules=await exchange.market_rules(symbol),
        brackets=await exchange.brackets(symbol),
    )
