"""One entry decision end to end: ILFv2 → bracket clamp + liquidation guard (with the levels at
each candidate leverage) → sizing caps → level prices. The daemon, the backtester and
``qtrader explain`` all call :func:`decide`; none re-implements a step.

The :class:`Decision` is the trade's **plan**, made once and carried whole: the intent carries
it, the journal keeps it, execution re-checks it against the account and places exactly it (its
leverage, quantity, stop and every TP leg with their scales and harvest split), the exit manager
runs it and ``qtrader explain`` renders it. Nothing downstream recomputes a level or a size.
"""

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
    """Everything one entry decision reads. ``multiplier`` None → the SPEC §7 fallback, else
    chosen as ``multiplier_source`` says (the sizer names it: policy, fixed, fallback, …, with
    its log-probability ``logp`` when it drew it). ``leverage`` replaces ILFv2's (a strategy's
    proposal, an outside intent's): the guard still lowers it. ``margin_usd`` is a fixed stake
    in place of base margin × multiplier: the caps still bind."""

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
    multiplier_source: str = "policy"
    logp: float | None = None
    leverage: int | None = None
    margin_usd: float | None = None

    @property
    def sizer_state(self) -> tuple[float, float, float, float, float, float]:
        """The RL sizer's state (SPEC §7) the multiplier was chosen in."""
        return (self.confidence, self.volatility, self.pnl_trend, self.exchange_divergence,
                self.funding_rate, self.margin_util)  # fmt: skip


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

    @property
    def target_leverage(self) -> int:
        """The leverage asked for before the guard (ILFv2's, or the one given)."""
        return self.guard.requested

    @property
    def logp(self) -> float | None:
        """The sizer's log-probability of the multiplier it drew — None when the size was not
        its doing (a probe, a fixed stake, the fallback)."""
        x = self.inputs
        drawn = x.multiplier is not None and not x.probe and x.margin_usd is None
        return x.logp if drawn else None


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
        source, multiplier = x.multiplier_source, finite("multiplier", x.multiplier)
    intended_margin = p.sizing.base_margin_usd * min(max(multiplier, 0.5), 1.5)
    if x.margin_usd is not None:
        source, intended_margin = "fixed stake", positive("margin_usd", x.margin_usd)
    if x.probe:
        source = "probe"
    requested = ilf.leverage if x.leverage is None else int(x.leverage)

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
        requested,
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
            margin_usd=x.margin_usd,
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
