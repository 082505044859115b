"""One entry decision end to end: ILFv2 → bracket clamp + liquidation guard (with the levels at
each candidate leverage) → sizing caps → level prices. The daemon, the backtester and
``qtrader explain`` all call :func:`decide`; none re-implements a step."""

from __future__ import annotations

from dataclasses import dataclass, field

from quantum_trader.core.checks import finite, positive
from quantum_trader.core.guard import LIQ_SAFETY, GuardResult, check_liquidation, guard_leverage
from quantum_trader.core.levels import (
    LevelInputs,
    LevelParams,
    LevelPrices,
    Levels,
    compute_levels,
    level_prices,
)
from quantum_trader.core.leverage import (
    LeverageInputs,
    LeverageParams,
    LeverageResult,
    compute_leverage,
)
from quantum_trader.core.liquidation import DEFAULT_BRACKETS, BracketTable
from quantum_trader.core.sizing import (
    MarketRules,
    Sizing,
    SizingInputs,
    SizingParams,
    fallback_multiplier,
    size_position,
)
from quantum_trader.core.types import Side


@dataclass(frozen=True, slots=True)
class DecisionParams:
    leverage: LeverageParams = field(default_factory=LeverageParams)
    levels: LevelParams = field(default_factory=LevelParams)
    sizing: SizingParams = field(default_factory=SizingParams)
    rules: MarketRules = field(default_factory=MarketRules)
    brackets: BracketTable = DEFAULT_BRACKETS
    liq_safety: float = LIQ_SAFETY


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    """Everything one entry decision reads. ``multiplier`` None → the SPEC §7 fallback."""

    side: Side
    entry_price: float
    equity: float
    confidence: float
    volatility: float = 1.0
    pnl_trend: float = 0.0
    symbol_risk: float = 1.0
    margin_util: float = 0.0
    used_margin: float = 0.0
    exchange_divergence: float = 0.0
    funding_rate: float = 0.0
    atr_pct: float | None = None
    multiplier: float | None = None
    performance_factor: float = 1.0
    tp_scale: float = 1.0
    sl_scale: float = 1.0
    probe: bool = False  # the edge gate's probe: minimum size


@dataclass(frozen=True, slots=True)
class Decision:
    inputs: DecisionInputs
    ilf: LeverageResult
    guard: GuardResult
    multiplier_source: str
    sizing: Sizing | None
    levels: Levels | None
    prices: LevelPrices | None
    refused: str | None

    @property
    def accepted(self) -> bool:
        return self.refused is None

    @property
    def leverage(self) -> int:
        return self.guard.leverage


def decide(inputs: DecisionInputs, params: DecisionParams | None = None) -> Decision:
    p, x = params or DecisionParams(), inputs
    entry = positive("entry_price", x.entry_price)
    positive("equity", x.equity)
    ilf = compute_leverage(
        LeverageInputs(
            confidence=x.confidence,
            volatility=x.volatility,
            pnl_trend=x.pnl_trend,
            symbol_risk=x.symbol_risk,
            margin_util=x.margin_util,
            exchange_divergence=x.exchange_divergence,
            funding_rate=x.funding_rate,
        ),
        p.leverage,
    )
    if x.multiplier is None:
        source = "fallback"
        multiplier = fallback_multiplier(
            ilf.inputs.confidence,
            ilf.inputs.pnl_trend,
            ilf.inputs.volatility,
            ilf.inputs.exchange_divergence,
        )
    else:
        source, multiplier = "policy", finite("multiplier", x.multiplier)
    intended_margin = p.sizing.base_margin_usd * min(max(multiplier, 0.5), 1.5)

    def levels_at(leverage: int) -> Levels:
        return compute_levels(
            LevelInputs(
                leverage=leverage,
                side=x.side,
                funding_rate=ilf.inputs.funding_rate,
                exchange_divergence=ilf.inputs.exchange_divergence,
                volatility=ilf.inputs.volatility,
                atr_pct=x.atr_pct,
                tp_scale=x.tp_scale,
                sl_scale=x.sl_scale,
            ),
            p.levels,
        )

    guard = guard_leverage(
        ilf.leverage,
        x.side,
        entry,
        intended_margin,
        levels_at,
        p.brackets,
        p.leverage.max_leverage,
        p.liq_safety,
    )
    if guard.refused or guard.levels is None:
        return Decision(x, ilf, guard, source, None, None, None, guard.reason)
    levels = guard.levels
    sizing = size_position(
        SizingInputs(
            entry_price=entry,
            leverage=guard.leverage,
            sl=levels.sl,
            equity=x.equity,
            used_margin=x.used_margin,
            multiplier=multiplier,
            performance_factor=x.performance_factor,
            bracket_max_notional=p.brackets.max_notional(guard.leverage),
            probe=x.probe,
            harvest=levels.harvest,
        ),
        p.rules,
        p.sizing,
    )
    prices = level_prices(entry, x.side, levels, p.rules.price_tick)
    if not sizing.accepted:
        return Decision(x, ilf, guard, source, sizing, levels, prices, sizing.rejected)
    # Re-check the invariant on the final size: smaller notional only widens the distance,
    # and this keeps it true should the bracket table ever say otherwise.
    final = check_liquidation(
        x.side, entry, sizing.margin, guard.leverage, levels.sl, p.brackets, p.liq_safety
    )
    refused = None if final.safe else f"final size breaks the liquidation guard: {final}"
    return Decision(x, ilf, guard, source, sizing, levels, prices, refused)
