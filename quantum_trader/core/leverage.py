"""ILFv2 — adaptive leverage from confidence and market state (SPEC §5).

    base      = min + confidence × (max − min)
    vol_f     = max(0.2, vol_pivot − volatility)
    pnl_f     = 1 + pnl_weight × pnl_trend
    symbol_f  = 1 / symbol_risk
    margin_f  = max(0.3, 1 − margin_util)
    div_f     = max(0.5, 1 − exchange_divergence)
    funding_f = max(0.5, 1 − |funding_weight × funding_rate|)
    leverage  = clamp(base × vol_f × pnl_f × symbol_f × margin_f × div_f × funding_f × safety,
                      min, max)

The raw value is then rounded down to a whole leverage; the exchange bracket clamp and the
liquidation guard (:mod:`quantum_trader.core.guard`) come after.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from quantum_trader.core.checks import clamp, finite, in_range
from quantum_trader.core.errors import InvalidInput

# Input clamps (SPEC §5).
_INPUT_RANGES: dict[str, tuple[float, float]] = {
    "confidence": (0.0, 1.0),
    "volatility": (0.0, 3.0),
    "pnl_trend": (-1.0, 1.0),
    "symbol_risk": (0.5, 1.5),
    "margin_util": (0.0, 1.0),
    "exchange_divergence": (0.0, 1.0),
    "funding_rate": (-0.05, 0.05),
}


@dataclass(frozen=True, slots=True)
class LeverageParams:
    """The configurable constants of ILFv2 (defaults are SPEC §5's)."""

    min_leverage: float = 5.0
    max_leverage: float = 80.0
    vol_pivot: float = 1.5
    pnl_weight: float = 0.25
    funding_weight: float = 10.0
    safety: float = 0.9

    def __post_init__(self) -> None:
        in_range("leverage.min_leverage", self.min_leverage, 1.0, 125.0)
        in_range("leverage.max_leverage", self.max_leverage, 1.0, 125.0)
        if self.min_leverage > self.max_leverage:
            raise InvalidInput(
                "leverage.min_leverage",
                f"{self.min_leverage:g} is above max_leverage {self.max_leverage:g}",
            )
        in_range("leverage.vol_pivot", self.vol_pivot, 0.2, 10.0)
        in_range("leverage.pnl_weight", self.pnl_weight, 0.0, 0.99)
        in_range("leverage.funding_weight", self.funding_weight, 0.0, 1000.0)
        in_range("leverage.safety", self.safety, 0.01, 1.0)


@dataclass(frozen=True, slots=True)
class LeverageInputs:
    confidence: float
    volatility: float = 1.0
    pnl_trend: float = 0.0
    symbol_risk: float = 1.0
    margin_util: float = 0.0
    exchange_divergence: float = 0.0
    funding_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class LeverageFactors:
    base: float
    volatility: float
    pnl: float
    symbol: float
    margin: float
    divergence: float
    funding: float
    safety: float

    def product(self) -> float:
        return (
            self.base
            * self.volatility
            * self.pnl
            * self.symbol
            * self.margin
            * self.divergence
            * self.funding
            * self.safety
        )


@dataclass(frozen=True, slots=True)
class LeverageResult:
    """``raw`` is the clamped formula value, ``leverage`` the whole leverage it rounds down to."""

    raw: float
    unclamped: float
    leverage: int
    factors: LeverageFactors
    inputs: LeverageInputs
    clamped_inputs: tuple[str, ...]
    reasoning: str


def _clamp_inputs(inputs: LeverageInputs) -> tuple[LeverageInputs, tuple[str, ...]]:
    values: dict[str, float] = {}
    clamped: list[str] = []
    for name, (lo, hi) in _INPUT_RANGES.items():
        value = finite(name, getattr(inputs, name))
        values[name] = clamp(value, lo, hi)
        if values[name] != value:
            clamped.append(f"{name} {value:g}→{values[name]:g}")
    return LeverageInputs(**values), tuple(clamped)


def compute_leverage(
    inputs: LeverageInputs, params: LeverageParams | None = None
) -> LeverageResult:
    """ILFv2 with its factor breakdown and a one-line reasoning. NaN/inf inputs raise."""
    p = params or LeverageParams()
    x, clamped = _clamp_inputs(inputs)
    factors = LeverageFactors(
        base=p.min_leverage + x.confidence * (p.max_leverage - p.min_leverage),
        volatility=max(0.2, p.vol_pivot - x.volatility),
        pnl=1.0 + p.pnl_weight * x.pnl_trend,
        symbol=1.0 / x.symbol_risk,
        margin=max(0.3, 1.0 - x.margin_util),
        divergence=max(0.5, 1.0 - x.exchange_divergence),
        funding=max(0.5, 1.0 - abs(p.funding_weight * x.funding_rate)),
        safety=p.safety,
    )
    unclamped = factors.product()
    raw = clamp(unclamped, p.min_leverage, p.max_leverage)
    # A tiny epsilon keeps 13.999999999 from rounding down to 13.
    leverage = max(1, math.floor(raw + 1e-9))
    reasoning = (
        f"ILFv2 {raw:.2f}x→{leverage}x: base {factors.base:.2f} (conf {x.confidence:.2f})"
        f" × vol {factors.volatility:.2f} (v {x.volatility:.2f})"
        f" × pnl {factors.pnl:.3f} (trend {x.pnl_trend:+.2f})"
        f" × sym {factors.symbol:.2f} × margin {factors.margin:.2f} (util {x.margin_util:.2f})"
        f" × div {factors.divergence:.3f} × funding {factors.funding:.3f}"
        f" × safety {factors.safety:.2f}"
        + (f"; clamped to [{p.min_leverage:g}, {p.max_leverage:g}]" if raw != unclamped else "")
        + (f"; inputs clamped: {', '.join(clamped)}" if clamped else "")
    )
    return LeverageResult(raw, unclamped, leverage, factors, x, clamped, reasoning)


RANK_RISK = (0.75, 1.25)  # the calmest and the most volatile of the traded symbols


def volatility_rank_risk(atr_pcts: Mapping[str, float], symbol: str) -> float:
    """Symbol risk from the symbol's volatility rank among the traded symbols (each one's ATR as
    a fraction of price now): 0.75 for the calmest, 1.25 for the most volatile, evenly between,
    ties sharing a rank. 1.0 while fewer than two symbols are measured, or this one is not."""
    measured = {k: v for k, v in atr_pcts.items() if math.isfinite(v) and v > 0}
    own = measured.get(symbol)
    if own is None or len(measured) < 2:
        return 1.0
    others = [v for k, v in measured.items() if k != symbol]
    below = sum(v < own for v in others) + 0.5 * sum(v == own for v in others)
    lo, hi = RANK_RISK
    return lo + (hi - lo) * below / len(others)


class LeverageStats:
    """Rolling statistics of decided leverage for /health: count, mean, the recent values."""

    def __init__(self, recent: int = 20) -> None:
        if recent < 1:
            raise InvalidInput("recent", f"must be >= 1, got {recent}")
        self._count = 0
        self._sum = 0.0
        self._recent: deque[float] = deque(maxlen=recent)

    def record(self, leverage: float) -> None:
        value = in_range("leverage", leverage, 1.0, 125.0)
        self._count += 1
        self._sum += value
        self._recent.append(value)

    @property
    def count(self) -> int:
        return self._count

    @property
    def average(self) -> float:
        return self._sum / self._count if self._count else 0.0

    @property
    def recent(self) -> tuple[float, ...]:
        return tuple(self._recent)

    def snapshot(self) -> dict[str, object]:
        return {"count": self.count, "average": round(self.average, 4), "recent": self.recent}
