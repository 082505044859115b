"""Position sizing and its caps (SPEC §7), plus the RL sizer's fallback multiplier.

    margin   = base_margin_usd × multiplier (× performance factor)
    (or a fixed stake ``margin_usd``, as a strategy or an outside intent may give)
    caps     : notional × (sl + round-trip costs + gap allowance) ≤ max_risk_per_trade × equity
               used_margin + margin × (1 + slippage) ≤ max_margin_util × equity  (after the fill)
               notional ≤ the exchange bracket's cap at this leverage
    notional = margin × leverage;  qty = notional / entry rounded down to the step
    reject   : qty below the exchange minimum quantity or notional below the minimum notional
    probe    : the edge gate's probe asks for the exchange's minimum order instead (caps still bind)

Every cap that binds is named in ``caps_bound``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from quantum_trader.core.checks import clamp, finite, in_range, non_negative, positive
from quantum_trader.core.errors import InvalidInput

MULTIPLIER_MIN = 0.5
MULTIPLIER_MAX = 1.5


@dataclass(frozen=True, slots=True)
class SizingParams:
    base_margin_usd: float = 200.0
    max_risk_per_trade: float = 0.01
    max_margin_util: float = 0.6
    round_trip_cost: float = 0.0  # fraction of notional: 2 × (taker fee + slippage)
    gap_allowance: float = 0.0  # fraction of price a stop may fill beyond its level
    slippage: float = 0.0  # of the entry fill (the locked margin grows by it)

    def __post_init__(self) -> None:
        positive("sizing.base_margin_usd", self.base_margin_usd)
        in_range("sizing.max_risk_per_trade", self.max_risk_per_trade, 1e-6, 1.0)
        in_range("sizing.max_margin_util", self.max_margin_util, 1e-6, 1.0)
        in_range("sizing.round_trip_cost", self.round_trip_cost, 0.0, 0.2)
        in_range("sizing.gap_allowance", self.gap_allowance, 0.0, 0.2)
        in_range("sizing.slippage", self.slippage, 0.0, 0.05)

    @property
    def stop_costs(self) -> float:
        """What a stopped trade loses beyond its stop distance, per unit of notional."""
        return self.round_trip_cost + self.gap_allowance

    def loss_fraction(self, sl: float) -> float:
        """What one trade can lose at its stop, per unit of notional: the stop distance, the
        round trip's fees and slippage and the gap allowance."""
        return sl + self.stop_costs

    def risk_cap(self, equity: float, sl: float, leverage: int) -> float:
        """The largest margin whose loss at the stop, costs included, is at most
        ``max_risk_per_trade`` of ``equity`` — the one formula of the per-trade cap (sizing
        applies it, admission re-checks it)."""
        return self.max_risk_per_trade * equity / self.loss_fraction(sl) / leverage


@dataclass(frozen=True, slots=True)
class MarketRules:
    """What the exchange accepts for one symbol (ccxt ``market['limits']``/``precision``)."""

    qty_step: float = 0.001
    min_qty: float = 0.001
    max_qty: float = 1e9
    min_notional: float = 100.0
    price_tick: float = 0.1

    def __post_init__(self) -> None:
        positive("market.qty_step", self.qty_step)
        non_negative("market.min_qty", self.min_qty)
        positive("market.max_qty", self.max_qty)
        non_negative("market.min_notional", self.min_notional)
        non_negative("market.price_tick", self.price_tick)


@dataclass(frozen=True, slots=True)
class SizingInputs:
    entry_price: float
    leverage: int
    sl: float
    equity: float
    used_margin: float = 0.0
    multiplier: float = 1.0
    performance_factor: float = 1.0
    bracket_max_notional: float = float("inf")
    probe: bool = False  # the edge gate's probe: the exchange's minimum size, whatever else
    harvest: tuple[float, float, float] | None = None  # a probe is big enough for every leg
    margin_usd: float | None = None  # a fixed stake: asked for as is (the caps still bind)


@dataclass(frozen=True, slots=True)
class Sizing:
    multiplier: float
    margin_requested: float
    margin: float  # collateral the exchange locks: notional / leverage after rounding
    notional: float
    qty: float
    risk_at_stop: float  # notional × (sl + costs), in USDT: what the stop can lose
    caps: dict[str, float]  # each cap as a margin ceiling in USDT
    caps_bound: tuple[str, ...]
    rejected: str | None = None

    @property
    def accepted(self) -> bool:
        return self.rejected is None


def rules_for_price(price: float, min_notional: float = 5.0) -> MarketRules:
    """Binance-like rules for a symbol whose real ones are unknown (paper on synthetic data):
    a price tick of ~5 significant digits and a quantity step worth ~1–10 USDT at most."""
    p = positive("price", price)
    step = 10.0 ** math.floor(math.log10(10.0 / p))
    tick = 10.0 ** (math.floor(math.log10(p)) - 5)
    return MarketRules(
        qty_step=step, min_qty=step, max_qty=1e12, min_notional=min_notional, price_tick=tick
    )


def minimum_margin(
    entry: float,
    leverage: int,
    rules: MarketRules,
    harvest: tuple[float, float, float] | None = None,
) -> float:
    """The margin of the smallest order the exchange accepts (min qty and min notional, in whole
    steps) — and, given the plan's harvest, big enough that every TP leg is at least one step, so
    a probe runs the whole exit plan. A hair above, so the step rounding keeps it."""
    step = Decimal(repr(rules.qty_step))
    need = Decimal(repr(max(rules.min_qty, rules.qty_step, rules.min_notional / entry)))
    steps = int((need / step).to_integral_value(rounding=ROUND_CEILING))
    for _ in range(1_000 if harvest else 0):
        qty = float(steps * step)
        first_two = (harvest or ())[:2]
        legs = [round_down_to_step(qty * h, rules.qty_step) for h in first_two if h > 0]
        if all(q > 0 for q in legs) and qty - sum(legs) >= rules.qty_step * (1 - 1e-9):
            break
        steps += 1
    return float(steps * step) * entry / leverage * (1 + 1e-9)


def round_down_to_step(value: float, step: float) -> float:
    """The largest multiple of ``step`` not above ``value``, exact in decimal."""
    v, s = Decimal(repr(finite("qty", value))), Decimal(repr(positive("qty_step", step)))
    return float((v / s).to_integral_value(rounding=ROUND_FLOOR) * s)


def fallback_multiplier(
    confidence: float, pnl_trend: float, volatility: float, divergence: float
) -> float:
    """SPEC §7: clamp(0.5 + 0.5·conf + 0.25·max(0, trend) − 0.15·vol − 0.2·div, 0.5, 1.5)."""
    raw = (
        0.5
        + 0.5 * finite("confidence", confidence)
        + 0.25 * max(0.0, finite("pnl_trend", pnl_trend))
        - 0.15 * finite("volatility", volatility)
        - 0.2 * finite("divergence", divergence)
    )
    return clamp(raw, MULTIPLIER_MIN, MULTIPLIER_MAX)


def _caps(x: SizingInputs, p: SizingParams, leverage: int) -> dict[str, float]:
    return {
        "risk_per_trade": p.risk_cap(x.equity, x.sl, leverage),
        "margin_util": (p.max_margin_util * x.equity - x.used_margin) / (1 + p.slippage),
        "bracket_notional": x.bracket_max_notional / leverage,
    }


def size_position(
    inputs: SizingInputs, rules: MarketRules | None = None, params: SizingParams | None = None
) -> Sizing:
    """Margin, notional and an exchange-valid quantity inside every cap, or a rejection."""
    p, r, x = params or SizingParams(), rules or MarketRules(), inputs
    entry = positive("entry_price", x.entry_price)
    lev = int(in_range("leverage", x.leverage, 1, 125))
    if lev != x.leverage:
        raise InvalidInput("leverage", f"must be a whole number, got {x.leverage!r}")
    positive("sl", x.sl)
    positive("equity", x.equity)
    non_negative("used_margin", x.used_margin)
    multiplier = clamp(finite("multiplier", x.multiplier), MULTIPLIER_MIN, MULTIPLIER_MAX)
    performance = in_range("performance_factor", x.performance_factor, 0.1, 2.0)
    requested = p.base_margin_usd * multiplier * performance
    if x.margin_usd is not None:
        requested = positive("margin_usd", x.margin_usd)
    if x.probe:
        requested = minimum_margin(entry, lev, r, x.harvest)
    caps = _caps(x, p, lev)
    margin = min(requested, *caps.values())
    bound = tuple(name for name, cap in caps.items() if cap < requested and cap == margin)

    def rejected(reason: str, qty: float = 0.0) -> Sizing:
        return Sizing(multiplier, requested, 0.0, 0.0, qty, 0.0, caps, bound, reason)

    if margin <= 0:
        return rejected(
            f"no margin left: used {x.used_margin:,.2f} of cap "
            f"{p.max_margin_util:g}×{x.equity:,.2f}"
        )
    qty = round_down_to_step(margin * lev / entry, r.qty_step)
    if qty > r.max_qty:
        qty, bound = round_down_to_step(r.max_qty, r.qty_step), (*bound, "max_qty")
    notional = qty * entry
    if qty < max(r.min_qty, r.qty_step) or notional < r.min_notional:
        limits = f"{', '.join(bound)} cap" if bound else "requested margin"
        return rejected(
            f"qty {qty:g} × {entry:g} = {notional:,.2f} USDT is below the exchange minimum "
            f"(min qty {r.min_qty:g}, min notional {r.min_notional:g}); bound by {limits}",
            qty,
        )
    risk = notional * p.loss_fraction(x.sl)
    return Sizing(multiplier, requested, notional / lev, notional, qty, risk, caps, bound)
