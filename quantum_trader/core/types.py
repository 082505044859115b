"""Domain types shared by every stage: sides, candles, signals, fills (the trade intent, which
carries its plan, is in :mod:`quantum_trader.core.intent`).

Units (SPEC §1): prices in USDT, quantities in base units, timestamps in epoch milliseconds UTC,
confidence in [0, 1], funding as a fraction per interval. Constructors validate and raise
:class:`InvalidInput` naming the field; edge formats (BUY/SELL, ISO-8601) are parsed in
:mod:`quantum_trader.core.edge`, never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from quantum_trader.core.checks import finite, in_range, non_negative, positive
from quantum_trader.core.errors import InvalidInput

# Sanity bounds for epoch-millisecond timestamps: 2009-01-01 .. 2100-01-01.
MIN_TS_MS = 1_230_768_000_000
MAX_TS_MS = 4_102_444_800_000


class Side(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def sign(self) -> int:
        """+1 for LONG, -1 for SHORT: a price move times this is the move in our favour."""
        return 1 if self is Side.LONG else -1

    @property
    def opposite(self) -> Side:
        return Side.SHORT if self is Side.LONG else Side.LONG


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @staticmethod
    def to_open(side: Side) -> OrderSide:
        return OrderSide.BUY if side is Side.LONG else OrderSide.SELL

    @staticmethod
    def to_close(side: Side) -> OrderSide:
        return OrderSide.SELL if side is Side.LONG else OrderSide.BUY


class Vote(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"
    FLAT = "FLAT"


class Consensus(StrEnum):
    UNANIMOUS = "UNANIMOUS"
    STRONG = "STRONG"
    SPLIT = "SPLIT"
    WEAK = "WEAK"


class Regime(StrEnum):
    TRENDING = "TRENDING"
    RANGE = "RANGE"
    VOLATILE = "VOLATILE"
    NORMAL = "NORMAL"


def check_ts(name: str, ts: object) -> int:
    """An integer epoch-millisecond timestamp inside sane bounds."""
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise InvalidInput(name, f"expected integer epoch milliseconds, got {ts!r}")
    if not MIN_TS_MS <= ts <= MAX_TS_MS:
        hint = " (seconds instead of milliseconds?)" if 1_230_768_000 <= ts <= 4_102_444_800 else ""
        raise InvalidInput(name, f"epoch ms {ts} is outside 2009..2100{hint}")
    return ts


def check_symbol(name: str, symbol: object) -> str:
    if not isinstance(symbol, str) or not symbol.strip():
        raise InvalidInput(name, f"expected a non-empty symbol string, got {symbol!r}")
    return symbol


@dataclass(frozen=True, slots=True)
class Candle:
    """One closed OHLCV candle; ``ts`` is its open time."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    @classmethod
    def trusted(cls, ts: int, o: float, h: float, lo: float, c: float, v: float) -> Candle:
        """A candle from rows the loader already checked with these same rules (replays)."""
        candle = object.__new__(cls)
        for name, value in zip(
            ("ts", "open", "high", "low", "close", "volume"), (ts, o, h, lo, c, v), strict=True
        ):
            object.__setattr__(candle, name, value)
        return candle

    def __post_init__(self) -> None:
        check_ts("candle.ts", self.ts)
        for name in ("open", "high", "low", "close"):
            positive(f"candle.{name}", getattr(self, name))
        non_negative("candle.volume", self.volume)
        if self.high < max(self.open, self.close, self.low):
            raise InvalidInput("candle.high", f"{self.high:g} is below open/close/low")
        if self.low > min(self.open, self.close):
            raise InvalidInput("candle.low", f"{self.low:g} is above open/close")


@dataclass(frozen=True, slots=True)
class ModelVote:
    model: str
    vote: Vote
    probability: float

    def __post_init__(self) -> None:
        in_range(f"vote[{self.model}].probability", self.probability, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Signal:
    """A directional call from the signal engine. ``horizon_ms`` is how far ahead it speaks."""

    symbol: str
    side: Side
    confidence: float
    consensus: Consensus
    ts: int
    horizon_ms: int = 15 * 60_000
    model_votes: tuple[ModelVote, ...] = ()
    source: str = "builtin"
    raw_confidence: float | None = None  # before calibration
    calibration: str = ""  # how it was calibrated: binned, coarse, raw ("": not recorded)

    def __post_init__(self) -> None:
        check_symbol("signal.symbol", self.symbol)
        in_range("signal.confidence", self.confidence, 0.0, 1.0)
        check_ts("signal.ts", self.ts)
        if self.horizon_ms <= 0:
            raise InvalidInput("signal.horizon_ms", f"must be > 0, got {self.horizon_ms}")


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution report: ``fee`` in USDT (positive = paid)."""

    order_id: str
    client_id: str
    symbol: str
    side: OrderSide
    qty: float
    price: float
    fee: float
    ts: int
    reduce_only: bool = False
    trade_id: str = ""  # the exchange's id of this execution: a fill is booked once per trade id

    def __post_init__(self) -> None:
        check_symbol("fill.symbol", self.symbol)
        positive("fill.qty", self.qty)
        positive("fill.price", self.price)
        finite("fill.fee", self.fee)
        check_ts("fill.ts", self.ts)


def trade_id(order_id: str, cumulative_qty: float) -> str:
    """A fill's identity when the exchange reports an order's cumulative fills: the same
    execution seen twice (a re-poll, a restart) gets the same id, so it is booked once."""
    return f"{order_id}:{cumulative_qty:.12g}"
