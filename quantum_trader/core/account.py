"""What an exchange account holds and answers, as values: orders, positions, the balance, and
the adapter's errors. Shared by the bus's messages, the engine and every adapter; the
``Exchange`` protocol that produces them is in :mod:`quantum_trader.exchange.base`.

Two error families (STYLE): :class:`TemporaryExchangeError` — retry with backoff — and
:class:`FatalExchangeError` — stop trading. :class:`OrderRejected` is a definite "no" for one order
(margin insufficient, below minimum notional, would trigger immediately): never retried as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from quantum_trader.core.types import OrderSide, Side

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
    """Network trouble, timeouts, 5xx, rate limits: retry with backoff (after an order lookup).
    ``retry_after_s``: a 429/418 said how long to wait (Retry-After): no call sooner."""

    def __init__(self, *args: object, retry_after_s: float = 0.0) -> None:
        super().__init__(*args)
        self.retry_after_s = retry_after_s


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
