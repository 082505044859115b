"""Adaptive TP/SL levels — ExitBrain v3.5 (SPEC §6).

Every distance is a fraction of the entry price (0.01 = a 1 % price move), never ROE.

    LSF = 1 / (1 + ln(leverage + 1))
    tp1 = base_tp × (0.6 + LSF)   tp2 = base_tp × (1.2 + LSF/2)   tp3 = base_tp × (1.8 + LSF/4)
    sl  = base_sl × (1 + 0.8 × (1 − LSF))
    tp_i ×= 1 + 0.8 × funding_delta         (signed funding in our favour, clamped to ±0.02)
    sl   ×= 1 + 0.4 × divergence + 0.2 × vf  (vf = clamp(volatility / 3, 0, 1))
    floors tp_i ≥ 0.003, sl ≥ 0.0015; then sl clamped to [0.001, 0.02]

Choice beyond the SPEC: when the tp floor lifts tp1 onto or past tp2 (tiny base_tp), tp2 and tp3
are lifted to keep the ladder's natural spacing ratios, so tp1 < tp2 < tp3 always holds; the plan
records ``tp_ladder`` when that happens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from quantum_trader.core.checks import clamp, finite, in_range, non_negative, positive
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import Side

FUNDING_DELTA_MAX = 0.02
FIXED_HARVEST = (0.0, 0.0, 1.0)  # fixed levels: the whole size at the one TP


@dataclass(frozen=True, slots=True)
class LevelParams:
    """Configurable constants of the levels (defaults per SPEC §6)."""

    base_tp: float = 0.015
    base_sl: float = 0.007
    atr_scaled: bool = False
    atr_tp_mult: float = 3.0
    atr_sl_mult: float = 1.5
    tp_floor: float = 0.003
    sl_floor: float = 0.0015
    sl_min: float = 0.001
    sl_max: float = 0.02
    fixed: bool = False  # one TP at base_tp for the whole size, the stop at base_sl, as given

    def __post_init__(self) -> None:
        in_range("levels.base_tp", self.base_tp, 1e-5, 0.5)
        in_range("levels.base_sl", self.base_sl, 1e-5, 0.5)
        in_range("levels.atr_tp_mult", self.atr_tp_mult, 0.01, 100.0)
        in_range("levels.atr_sl_mult", self.atr_sl_mult, 0.01, 100.0)
        in_range("levels.tp_floor", self.tp_floor, 0.0, 0.5)
        in_range("levels.sl_floor", self.sl_floor, 0.0, 0.5)
        in_range("levels.sl_min", self.sl_min, 1e-5, 0.5)
        in_range("levels.sl_max", self.sl_max, 1e-5, 0.5)
        if self.sl_min > self.sl_max:
            raise InvalidInput("levels.sl_min", f"{self.sl_min:g} is above sl_max {self.sl_max:g}")


@dataclass(frozen=True, slots=True)
class LevelInputs:
    """Market context of one plan. ``tp_scale``/``sl_scale`` carry §8's exit adaptation."""

    leverage: float
    side: Side = Side.LONG
    funding_rate: float = 0.0
    exchange_divergence: float = 0.0
    volatility: float = 0.0
    atr_pct: float | None = None
    tp_scale: float = 1.0
    sl_scale: float = 1.0


@dataclass(frozen=True, slots=True)
class Levels:
    """One exit plan's distances (fractions of entry) and harvest fractions of the initial size."""

    leverage: float
    lsf: float
    tp1: float
    tp2: float
    tp3: float
    sl: float
    harvest: tuple[float, float, float]
    base_tp: float
    base_sl: float
    bits: tuple[str, ...]
    tp_scale: float = 1.0  # §8's exit adaptation, already in tp1..tp3
    sl_scale: float = 1.0  # ... and in sl

    @property
    def tps(self) -> tuple[float, float, float]:
        return (self.tp1, self.tp2, self.tp3)


@dataclass(frozen=True, slots=True)
class LevelPrices:
    tp1: float
    tp2: float
    tp3: float
    sl: float


def lsf(leverage: float) -> float:
    """Leverage sensitivity factor 1 / (1 + ln(leverage + 1))."""
    lev = in_range("leverage", leverage, 1.0, 125.0)
    return 1.0 / (1.0 + math.log(lev + 1.0))


def harvest_scheme(leverage: float) -> tuple[float, float, float]:
    """Fractions of the initial size closed at TP1/TP2/TP3; they sum to 1."""
    lev = in_range("leverage", leverage, 1.0, 125.0)
    if lev <= 10:
        return (0.3, 0.3, 0.4)
    if lev <= 30:
        return (0.4, 0.4, 0.2)
    return (0.5, 0.3, 0.2)


def funding_delta(side: Side, funding_rate: float) -> float:
    """Funding in our favour: shorts receive positive funding, longs receive negative funding."""
    rate = finite("funding_rate", funding_rate)
    return clamp(-side.sign * rate, -FUNDING_DELTA_MAX, FUNDING_DELTA_MAX)


def _bases(x: LevelInputs, p: LevelParams) -> tuple[float, float]:
    if not p.atr_scaled:
        return p.base_tp, p.base_sl
    if x.atr_pct is None:
        raise InvalidInput("atr_pct", "required when levels.atr_scaled is on")
    atr = positive("atr_pct", x.atr_pct)
    return p.atr_tp_mult * atr, p.atr_sl_mult * atr


def _ladder(tps: list[float], factor: float, bits: list[str]) -> list[float]:
    """Keep tp1 < tp2 < tp3 after floors by restoring the ladder's spacing ratios."""
    ratios = [1.0, (1.2 + factor / 2) / (0.6 + factor), (1.8 + factor / 4) / (1.2 + factor / 2)]
    out = [tps[0]]
    for i in (1, 2):
        if tps[i] > out[i - 1]:
            out.append(tps[i])
        else:
            out.append(out[i - 1] * ratios[i])
            bits.append("tp_ladder")
    return out


def compute_levels(inputs: LevelInputs, params: LevelParams | None = None) -> Levels:
    """TP1–3 and SL distances for one leverage, with what floors or clamps bit."""
    p = params or LevelParams()
    x = inputs
    factor = lsf(x.leverage)
    if p.fixed:  # a strategy's own fixed exits (freqtrade's stoploss and minimal_roi)
        return Levels(
            leverage=float(x.leverage), lsf=factor, tp1=p.base_tp, tp2=p.base_tp, tp3=p.base_tp,
            sl=p.base_sl, harvest=FIXED_HARVEST, base_tp=p.base_tp, base_sl=p.base_sl,
            bits=("fixed",),
        )  # fmt: skip
    base_tp, base_sl = _bases(x, p)
    tp_scale = positive("tp_scale", x.tp_scale)
    sl_scale = positive("sl_scale", x.sl_scale)
    divergence = non_negative("exchange_divergence", x.exchange_divergence)
    vf = clamp(non_negative("volatility", x.volatility) / 3.0, 0.0, 1.0)
    tp_mod = 1.0 + 0.8 * funding_delta(x.side, x.funding_rate)
    tps = [
        base_tp * m * tp_mod * tp_scale for m in (0.6 + factor, 1.2 + factor / 2, 1.8 + factor / 4)
    ]
    sl = base_sl * (1.0 + 0.8 * (1.0 - factor)) * (1.0 + 0.4 * divergence + 0.2 * vf) * sl_scale
    bits: list[str] = []
    for i, tp in enumerate(tps):
        if tp < p.tp_floor:
            tps[i] = p.tp_floor
            bits.append(f"tp{i + 1}_floor")
    tps = _ladder(tps, factor, bits)
    if sl < p.sl_floor:
        sl = p.sl_floor
        bits.append("sl_floor")
    if not p.sl_min <= sl <= p.sl_max:
        bits.append("sl_clamp_max" if sl > p.sl_max else "sl_clamp_min")
        sl = clamp(sl, p.sl_min, p.sl_max)
    return Levels(
        leverage=float(x.leverage),
        lsf=factor,
        tp1=tps[0],
        tp2=tps[1],
        tp3=tps[2],
        sl=sl,
        harvest=harvest_scheme(x.leverage),
        base_tp=base_tp,
        base_sl=base_sl,
        bits=tuple(dict.fromkeys(bits)),
        tp_scale=tp_scale,
        sl_scale=sl_scale,
    )


def round_toward(price: float, tick: float, toward: float) -> float:
    """Round ``price`` to the tick grid, in the direction of ``toward`` (never away from it)."""
    if tick <= 0:
        return price
    steps = price / tick
    n = math.floor(steps + 1e-9) if toward <= price else math.ceil(steps - 1e-9)
    decimals = max(0, -math.floor(math.log10(tick)) + 1)
    return round(n * tick, decimals)


def level_prices(entry: float, side: Side, levels: Levels, tick: float = 0.0) -> LevelPrices:
    """Absolute prices of the levels. Rounded toward the entry, so no distance grows by rounding
    (the stop never moves closer to liquidation)."""
    e = positive("entry_price", entry)
    s = side.sign

    def at(distance: float) -> float:
        return round_toward(e * (1.0 + s * distance), tick, e)

    return LevelPrices(
        tp1=at(levels.tp1), tp2=at(levels.tp2), tp3=at(levels.tp3), sl=at(-levels.sl)
    )
