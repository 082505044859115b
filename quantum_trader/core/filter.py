"""The trade filter (SPEC §4): checks in order, the first failure rejects with a reason code.
Each check is a :class:`FilterRule` that also says, over arrays of signals, which it could pass —
what the backtester's skip-ahead asks to find the bars worth deciding.

1. health gate — overall health < 80 or the signal source's health < 70
2. consensus in ``allowed_consensus``
3. calibrated confidence ≥ ``min_confidence``; ≥ ``high_vol_min_confidence`` when atr_pct > 0.05
4. kill switch / circuit breaker / max-drawdown halt clear; open positions < max_positions;
   none on the symbol
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from quantum_trader.core.checks import finite, in_range
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import Consensus, Signal


class Rejection(StrEnum):
    HEALTH_OVERALL = "health_overall"
    HEALTH_SOURCE = "health_source"
    CONSENSUS = "consensus"
    CONFIDENCE = "confidence"
    CONFIDENCE_HIGH_VOL = "confidence_high_vol"
    KILL_SWITCH = "kill_switch"
    CIRCUIT_BREAKER = "circuit_breaker"
    MAX_DRAWDOWN = "max_drawdown"
    MAX_POSITIONS = "max_positions"
    SYMBOL_OPEN = "symbol_open"
    SIDE = "side"


@dataclass(frozen=True, slots=True)
class FilterParams:
    min_health_overall: float = 80.0
    min_health_source: float = 70.0
    allowed_consensus: frozenset[Consensus] = frozenset({Consensus.UNANIMOUS, Consensus.STRONG})
    min_confidence: float = 0.65
    high_vol_atr_pct: float = 0.05
    high_vol_min_confidence: float = 0.80
    max_positions: int = 5
    sides: str = "both"  # both / long / short: the sides entered

    def __post_init__(self) -> None:
        if self.sides not in ("both", "long", "short"):
            raise InvalidInput("signals.sides", f"expected both/long/short, got {self.sides!r}")
        in_range("filter.min_health_overall", self.min_health_overall, 0.0, 100.0)
        in_range("filter.min_health_source", self.min_health_source, 0.0, 100.0)
        in_range("filter.min_confidence", self.min_confidence, 0.0, 1.0)
        in_range("filter.high_vol_min_confidence", self.high_vol_min_confidence, 0.0, 1.0)
        in_range("filter.high_vol_atr_pct", self.high_vol_atr_pct, 0.0, 1.0)
        if self.max_positions < 0:
            raise InvalidInput("filter.max_positions", f"must be >= 0, got {self.max_positions}")


@dataclass(frozen=True, slots=True)
class FilterContext:
    """The state the filter reads: health scores (0–100) and the book."""

    overall_health: float = 100.0
    source_health: float = 100.0
    atr_pct: float = 0.0
    kill_switch: bool = False
    circuit_breaker: bool = False
    halted: bool = False  # the hard max drawdown: until an operator resets it
    open_symbols: Collection[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class FilterDecision:
    accepted: bool
    rejection: Rejection | None
    reason: str


def _ok(reason: str) -> FilterDecision:
    return FilterDecision(True, None, reason)


def _no(rejection: Rejection, reason: str) -> FilterDecision:
    return FilterDecision(False, rejection, reason)


@dataclass(frozen=True, slots=True)
class SignalArrays:
    """Many signals at once, as the backtester's timeline holds them: side (+1 LONG, −1 SHORT,
    0 none), consensus (an index into :data:`CONSENSUS_CODES`), calibrated confidence, ATR %."""

    side: npt.NDArray[np.int8]
    consensus: npt.NDArray[np.int8]
    confidence: npt.NDArray[np.float64]
    atr_pct: npt.NDArray[np.float64]


CONSENSUS_CODES = tuple(c.value for c in Consensus)  # UNANIMOUS, STRONG, SPLIT, WEAK
_ENTERED = {"both": (1, -1), "long": (1,), "short": (-1,)}
Check = Callable[[Signal, FilterContext, FilterParams], FilterDecision | None]
Passes = Callable[[SignalArrays, FilterParams], "npt.NDArray[np.bool_] | None"]


@dataclass(frozen=True, slots=True)
class FilterRule:
    """One check of SPEC §4: ``check`` rejects one signal (or passes it: None); ``could_pass``
    says over arrays which signals it could let through — None when that depends on the daemon's
    state at the moment (health, the risk limits, the book), so any may. The backtester's
    skip-ahead asks :func:`could_pass`; it never re-writes a rule."""

    name: str
    check: Check
    could_pass: Passes


def _side(signal: Signal, ctx: FilterContext, p: FilterParams) -> FilterDecision | None:
    if p.sides != "both" and signal.side.value.lower() != p.sides:
        return _no(Rejection.SIDE, f"{signal.side} not entered (signals.sides = {p.sides})")
    return None


def _health(signal: Signal, ctx: FilterContext, p: FilterParams) -> FilterDecision | None:
    overall = in_range("overall_health", ctx.overall_health, 0.0, 100.0)
    source = in_range("source_health", ctx.source_health, 0.0, 100.0)
    if overall < p.min_health_overall:
        return _no(
            Rejection.HEALTH_OVERALL, f"overall health {overall:.0f} < {p.min_health_overall:g}"
        )
    if source < p.min_health_source:
        return _no(
            Rejection.HEALTH_SOURCE,
            f"{signal.source} health {source:.0f} < {p.min_health_source:g}",
        )
    return None


def _consensus(signal: Signal, ctx: FilterContext, p: FilterParams) -> FilterDecision | None:
    if signal.consensus not in p.allowed_consensus:
        allowed = "/".join(sorted(p.allowed_consensus))
        return _no(Rejection.CONSENSUS, f"consensus {signal.consensus} not in {allowed}")
    return None


def _needed(atr_pct: float, p: FilterParams) -> float:
    return p.high_vol_min_confidence if atr_pct > p.high_vol_atr_pct else p.min_confidence


def _confidence(signal: Signal, ctx: FilterContext, p: FilterParams) -> FilterDecision | None:
    atr_pct = finite("atr_pct", ctx.atr_pct)
    needed = _needed(atr_pct, p)
    if signal.confidence < needed:
        kind = (
            Rejection.CONFIDENCE_HIGH_VOL if atr_pct > p.high_vol_atr_pct else Rejection.CONFIDENCE
        )
        return _no(kind, f"confidence {signal.confidence:.4f} < {needed:g} (atr_pct {atr_pct:.4f})")
    return None


def _limits(signal: Signal, ctx: FilterContext, p: FilterParams) -> FilterDecision | None:
    if ctx.kill_switch:
        return _no(Rejection.KILL_SWITCH, "kill switch tripped")
    if ctx.circuit_breaker:
        return _no(Rejection.CIRCUIT_BREAKER, "circuit breaker tripped")
    if ctx.halted:
        return _no(
            Rejection.MAX_DRAWDOWN, "max drawdown reached: halted until an operator resets it"
        )
    return None


def _book(signal: Signal, ctx: FilterContext, p: FilterParams) -> FilterDecision | None:
    if len(ctx.open_symbols) >= p.max_positions:
        return _no(
            Rejection.MAX_POSITIONS,
            f"{len(ctx.open_symbols)} open positions ≥ max {p.max_positions}",
        )
    if signal.symbol in ctx.open_symbols:
        return _no(Rejection.SYMBOL_OPEN, f"a position on {signal.symbol} is already open")
    return None


def _state(x: SignalArrays, p: FilterParams) -> npt.NDArray[np.bool_] | None:
    return None  # the daemon's state at that moment decides


def _confident(x: SignalArrays, p: FilterParams) -> npt.NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):  # a NaN ATR % is not high volatility
        needed = np.where(x.atr_pct > p.high_vol_atr_pct, p.high_vol_min_confidence,
                          p.min_confidence)  # fmt: skip
    return np.asarray(x.confidence >= needed)


def _agreed(x: SignalArrays, p: FilterParams) -> npt.NDArray[np.bool_]:
    allowed = [CONSENSUS_CODES.index(str(c)) for c in p.allowed_consensus]
    return np.isin(x.consensus, allowed)


RULES: tuple[FilterRule, ...] = (
    FilterRule("side", _side, lambda x, p: np.isin(x.side, _ENTERED[p.sides])),
    FilterRule("health", _health, _state),
    FilterRule("consensus", _consensus, _agreed),
    FilterRule("confidence", _confidence, _confident),
    FilterRule("risk limits", _limits, _state),
    FilterRule("book", _book, _state),
)


def could_pass(x: SignalArrays, params: FilterParams) -> npt.NDArray[np.bool_]:
    """Which signals the filter could pass, by every rule that can say from the arrays."""
    out = np.ones(x.side.size, dtype=np.bool_)
    for rule in RULES:
        mask = rule.could_pass(x, params)
        if mask is not None:
            out &= mask
    return out


def filter_signal(
    signal: Signal, ctx: FilterContext, params: FilterParams | None = None
) -> FilterDecision:
    """Apply SPEC §4 to a signal whose confidence is already calibrated: :data:`RULES` in order,
    the first that rejects says why."""
    p = params or FilterParams()
    in_range("overall_health", ctx.overall_health, 0.0, 100.0)
    in_range("source_health", ctx.source_health, 0.0, 100.0)
    finite("atr_pct", ctx.atr_pct)
    for rule in RULES:
        rejected = rule.check(signal, ctx, p)
        if rejected is not None:
            return rejected
    return _ok(f"{signal.side} {signal.symbol} conf {signal.confidence:.3f} {signal.consensus}")
