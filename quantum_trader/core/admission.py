"""Admission at execution (SPEC §9), pure: whatever sent an intent and whatever the filter saw, an
entry is admitted only inside the account's limits, counting the entries still in flight.

    slot    : one position per symbol; open + in-flight < max_positions
    margin  : used + reserved + margin × (1 + slippage) ≤ max_margin_util × equity  (after the fill)
    risk    : the plan's loss at the stop (costs included) ≤ max_risk_per_trade × equity now —
              the same formula sizing applied (:meth:`SizingParams.risk_cap`); a plan sized
              against an equity that has fallen since is refused, never re-sized here

The reservation is taken before the first exchange call and released when the entry is settled.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from quantum_trader.core.sizing import SizingParams


@dataclass(frozen=True, slots=True)
class Limits:
    max_positions: int
    sizing: SizingParams = field(default_factory=SizingParams)


@dataclass(frozen=True, slots=True)
class Exposure:
    open_symbols: Collection[str]
    reserved: Mapping[str, float]  # symbol → margin of entries in flight
    used_margin: float
    equity: float


def slot(symbol: str, x: Exposure, limits: Limits) -> str | None:
    """None when a slot is free for ``symbol``, else why not."""
    if symbol in x.open_symbols or symbol in x.reserved:
        return f"a position on {symbol} is already open or entering"
    taken = len(set(x.open_symbols) | set(x.reserved))
    if taken >= limits.max_positions:
        return f"max_positions: {taken} open or entering ≥ max {limits.max_positions}"
    return None


def margin_room(margin: float, x: Exposure, limits: Limits) -> str | None:
    """None when ``margin`` fits under the margin cap once filled, else why not."""
    sz = limits.sizing
    used = x.used_margin + sum(x.reserved.values())
    cap = sz.max_margin_util * x.equity
    need = margin * (1 + sz.slippage)
    if used + need > cap + 1e-9:
        return (
            f"margin cap: used {used:,.2f} + {need:,.2f} > {sz.max_margin_util:g} × equity "
            f"{x.equity:,.2f} = {cap:,.2f}"
        )
    return None


def risk_refusal(
    margin: float, leverage: int, sl: float, equity: float, limits: Limits
) -> str | None:
    """None when a plan's margin is inside the per-trade cap at ``equity``, else why not."""
    sz = limits.sizing
    cap = sz.risk_cap(equity, sl, leverage)
    if margin > cap * (1 + 1e-9):
        return (
            f"loss at the stop: margin {margin:,.2f} × {leverage}x × (sl {sl:.4%} + costs "
            f"{sz.stop_costs:.4%}) > {sz.max_risk_per_trade:g} × equity {equity:,.2f} now"
        )
    return None
