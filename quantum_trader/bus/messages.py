"""Topics and their payloads (SPEC §10). Payloads are frozen dataclasses; ``to_jsonable`` renders
any of them for Redis and the API."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, is_dataclass
from enum import Enum, StrEnum
from typing import Any

from quantum_trader.core.account import Order
from quantum_trader.core.exits import ExitPlan
from quantum_trader.core.levels import Levels
from quantum_trader.core.leverage import LeverageFactors
from quantum_trader.core.types import Candle, Regime, Side, Signal


class Topic(StrEnum):
    CANDLE = "market.candle"
    PRICE = "market.price"  # a mark price update from the stream (live only)
    SIGNAL = "signal.generated"
    INTENT = "trade.intent"
    LEVELS = "exitbrain.adaptive_levels"
    ORDER_SUBMITTED = "order.submitted"
    ORDER_FILLED = "order.filled"
    ORDER_REJECTED = "order.rejected"
    ORDER_CANCELLED = "order.cancelled"
    POSITION_OPENED = "position.opened"
    POSITION_CLOSED = "position.closed"
    PNL = "exitbrain.pnl"
    POLICY_UPDATED = "rl.policy.updated"
    HEALTH_ALERT = "health.alert"
    RISK_TRIPPED = "risk.tripped"


@dataclass(frozen=True, slots=True)
class CandleEvent:
    symbol: str
    candle: Candle
    timeframe_ms: int
    funding_rate: float | None = None


@dataclass(frozen=True, slots=True)
class PriceTick:
    """The mark price now (what the exchange triggers stops on); ``ts`` is the exchange's ms."""

    symbol: str
    price: float
    ts: int


@dataclass(frozen=True, slots=True)
class Features:
    price: float
    atr: float
    atr_pct: float
    volatility: float
    regime: Regime
    funding_rate: float = 0.0
    exchange_divergence: float = 0.0


@dataclass(frozen=True, slots=True)
class SignalEvent:
    signal: Signal
    features: Features


@dataclass(frozen=True, slots=True)
class LevelsEvent:
    intent_id: str
    symbol: str
    side: Side
    leverage: int
    levels: Levels
    reasoning: str
    leverage_raw: float = 0.0
    factors: LeverageFactors | None = None
    guard: str = ""


@dataclass(frozen=True, slots=True)
class OrderEvent:
    intent_id: str
    purpose: str  # entry, stop, tp1..tp3, close, …
    order: Order
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PositionOpened:
    intent_id: str
    order_id: str
    plan: ExitPlan
    entry_fee: float
    confidence: float
    atr_value: float
    volatility: float
    exchange_divergence: float
    funding_rate: float
    regime: Regime
    rl_state: tuple[float, ...]
    multiplier: float
    target_leverage: int = 0  # ILFv2's whole leverage before the guard (0: unknown)
    voters: tuple[str, ...] = ()  # the models that voted for the trade's side
    logp: float | None = None  # the sizer's log-probability of the multiplier it drew


@dataclass(frozen=True, slots=True)
class PositionClosed:
    intent_id: str
    symbol: str
    side: Side
    qty: float
    entry_price: float
    exit_price: float
    leverage: int
    margin: float
    gross_pnl: float
    fees: float
    funding: float
    pnl: float  # realised, net of fees and funding, USDT
    roe: float  # pnl / margin
    exit_reason: str
    legs_hit: int
    opened_ts: int
    closed_ts: int
    voters: tuple[str, ...] = ()  # the models that voted for the trade's side


@dataclass(frozen=True, slots=True)
class PnlExperience:
    """The RL experience of one closed trade (``exitbrain.pnl``)."""

    intent_id: str
    state: tuple[float, ...]
    action: float
    leverage: int
    roe: float
    confidence: float
    ts: int
    target_leverage: int
    #: log π(action | state) of the sampled multiplier at the decision (None: not sampled)
    logp: float | None = None


@dataclass(frozen=True, slots=True)
class HealthAlert:
    module: str
    status: str
    score: float
    message: str
    ts: int


def to_jsonable(obj: Any) -> Any:
    """Dataclasses → dicts, enums → values, tuples → lists, non-finite floats → None."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
