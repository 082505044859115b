"""The ``Exchange`` protocol every adapter implements, its order/position types and errors.

Two error families (STYLE): :class:`TemporaryExchangeError` — retry with backoff — and
:class:`FatalExchangeError` — stop trading. :class:`OrderRejected` is a definite "no" for one order
(margin insufficient, below minimum notional, would trigger immediately): never retried as is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from quantum_trader.core.decision import DecisionParams
from quantum_trader.core.liquidation import BracketTable
from quantum_trader.core.sizing import MarketRules
from quantum_trader.core.types import Fill, OrderSide, Side

#: the client id prefix of the exchange's own closing orders (Binance: liquidation, ADL)
LIQUIDATION_PREFIX = "autoclose-"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"

    @property
    def live(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    client_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    qty: float
    status: OrderStatus
    price: float = 0.0  # limit price
    stop_price: float = 0.0
    reduce_only: bool = False
    close_position: bool = False
    filled_qty: float = 0.0
    avg_price: float = 0.0
    fee: float = 0.0
    ts: int = 0


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    side: Side
    qty: float
    entry_price: float
    leverage: int
    margin: float
    liquidation_price: float
    unrealised_pnl: float = 0.0


@dataclass(frozen=True, slots=True)
class Balance:
    wallet: float  # USDT after realised PnL, fees and funding
    equity: float  # wallet + unrealised PnL
    used_margin: float
    available: float


class ExchangeError(Exception):
    """Base of the adapter's errors; never carries credentials."""


class TemporaryExchangeError(ExchangeError):
    """Network trouble, timeouts, 5xx, rate limits: retry with backoff (after an order lookup)."""


class FatalExchangeError(ExchangeError):
    """Bad credentials, account or permission problems: stop trading."""


class OrderRejected(ExchangeError):
    """The exchange refused this order for a reason that a retry will not change. ``code`` is the
    venue's own (Binance's ``-2013``…) where it said one; ``kind`` is ccxt's class for it
    (``not-found``, ``duplicate``…) whatever the venue: what a venue-neutral adapter reads."""

    def __init__(self, code: str, message: str, kind: str = "") -> None:
        self.code, self.kind = code, kind or code
        super().__init__(f"{code}: {message}")

    def is_one_of(self, answers: tuple[str, ...]) -> bool:
        return self.code in answers or self.kind in answers


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
