"""The liquidation guard — a hard invariant (SPEC §6).

The stop must trigger before liquidation with room to spare: ``sl ≤ safety × liquidation_distance``
(safety 0.8). Leverage is first clamped to what the exchange bracket allows for the intended
notional, then lowered one step at a time — recomputing the levels, whose SL depends on
leverage — until the invariant holds. If it cannot hold even at 1x, the trade is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from quantum_trader.core.checks import in_range, positive
from quantum_trader.core.levels import Levels
from quantum_trader.core.liquidation import (
    BracketTable,
    liquidation_distance,
    tiered_liquidation_price,
)
from quantum_trader.core.types import Side

LIQ_SAFETY = 0.8


class GuardAction(StrEnum):
    PASS = "pass"  # noqa: S105 - the requested leverage was safe as it was
    LOWERED = "lowered"  # leverage lowered by the bracket clamp and/or the liquidation check
    REFUSED = "refused"  # no leverage ≥ 1x keeps the stop before liquidation


@dataclass(frozen=True, slots=True)
class LiquidationCheck:
    leverage: int
    sl: float
    liquidation_price: float
    liquidation_distance: float
    sl_limit: float
    mmr: float
    cum: float

    @property
    def safe(self) -> bool:
        return self.sl <= self.sl_limit


@dataclass(frozen=True, slots=True)
class GuardResult:
    action: GuardAction
    requested: int
    after_bracket: int
    leverage: int  # 0 when refused
    levels: Levels | None
    check: LiquidationCheck | None  # the accepted check, or the last (1x) failure when refused
    reason: str

    @property
    def refused(self) -> bool:
        return self.action is GuardAction.REFUSED


def check_liquidation(
    side: Side,
    entry_price: float,
    margin_usd: float,
    leverage: int,
    sl: float,
    brackets: BracketTable,
    safety: float = LIQ_SAFETY,
) -> LiquidationCheck:
    """The liquidation distance of an isolated position of ``margin_usd × leverage`` notional."""
    entry = positive("entry_price", entry_price)
    margin = positive("margin_usd", margin_usd)
    notional = margin * leverage
    liq, bracket = tiered_liquidation_price(side, entry, notional / entry, margin, brackets)
    distance = liquidation_distance(side, entry, liq) if liq > 0 else 1.0
    return LiquidationCheck(
        leverage, sl, liq, distance, safety * distance, bracket.mmr, bracket.cum
    )


def _bracket_clamp(leverage: int, margin: float, brackets: BracketTable) -> int:
    lev = leverage
    while lev > 1 and lev > brackets.for_notional(margin * lev).max_leverage:
        lev -= 1
    return lev


def guard_leverage(
    requested: float,
    side: Side,
    entry_price: float,
    margin_usd: float,
    levels_for: Callable[[int], Levels],
    brackets: BracketTable,
    max_leverage: float = 80.0,
    safety: float = LIQ_SAFETY,
) -> GuardResult:
    """Clamp ``requested`` to [1, max_leverage] and the bracket, then lower it until the stop
    triggers first. ``levels_for(L)`` recomputes the plan's levels at leverage ``L``."""
    req = in_range("requested_leverage", requested, 1.0, 125.0)
    in_range("max_leverage", max_leverage, 1.0, 125.0)
    in_range("liq_safety", safety, 0.01, 1.0)
    margin = positive("margin_usd", margin_usd)
    start = max(1, math.floor(min(req, max_leverage) + 1e-9))
    after_bracket = _bracket_clamp(start, margin, brackets)
    last: LiquidationCheck | None = None
    for lev in range(after_bracket, 0, -1):
        levels = levels_for(lev)
        last = check_liquidation(side, entry_price, margin, lev, levels.sl, brackets, safety)
        if last.safe:
            lowered = lev < start
            why = []
            if after_bracket < start:
                why.append(f"bracket allows {after_bracket}x at {margin * start:,.0f} notional")
            if lev < after_bracket:
                why.append(f"sl {levels.sl:.4%} > {safety:g}×liq distance at {after_bracket}x")
            reason = (
                f"{start}x→{lev}x: " + "; ".join(why)
                if lowered
                else f"{lev}x safe: sl {levels.sl:.4%} ≤ limit {last.sl_limit:.4%}"
            )
            action = GuardAction.LOWERED if lowered else GuardAction.PASS
            return GuardResult(action, start, after_bracket, lev, levels, last, reason)
    assert last is not None  # noqa: S101 - the loop runs at least once (after_bracket >= 1)
    reason = (
        f"refused: even at 1x sl {last.sl:.4%} > limit {last.sl_limit:.4%}"
        f" (mmr {last.mmr:g}, liq distance {last.liquidation_distance:.4%})"
    )
    return GuardResult(GuardAction.REFUSED, start, after_bracket, 0, None, last, reason)
