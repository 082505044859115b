"""Admission at execution (SPEC §9), pure: whatever sent an intent and whatever the filter saw, an
entry is admitted only inside the account's limits, counting the entries still in flight.

    slot    : one position per symbol; open + in-flight < max_positions
    margin  : used + reserved + margin × (1 + slippage) ≤ max_margin_util × equity  (after the fill)
    risk    : margin ≤ max_risk_per_trade × equity / (sl + costs) / leverage, costs being the
              round trip's fees and slippage plus the gap allowance — the cap shrinks the margin

The reservation is taken before the first exchange call and released when the entry is settled.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_positions: int
    max_margin_util: float
    max_risk_per_trade: float
    round_trip_cost: float = 0.0  # fraction of notional: 2 × (taker fee + slippage)
    gap_allowance: float = 0.0  # fraction of price a stop may fill beyond its level
    slippage: float = 0.0  # on the entry fill: the margin the exchange locks grows by it


@dataclass(frozen=True, slots=True)
class Exposure:
    open_symbols: Collection[str]
    reserved: Mapping[str, float]  # symbol → margin of entries in flight
    used_margin: float
    equity: float


def loss_fraction(sl: float, limits: Limits) -> float:
    """What one trade can lose at its stop, per unit of notional."""
    return sl + limits.round_trip_cost + limits.gap_allowance


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
    used = x.used_margin + sum(x.reserved.values())
    cap = limits.max_margin_util * x.equity
    need = margin * (1 + limits.slippage)
    if used + need > cap + 1e-9:
        return (
            f"margin cap: used {used:,.2f} + {need:,.2f} > {limits.max_margin_util:g} × equity "
            f"{x.equity:,.2f} = {cap:,.2f}"
        )
    return None


def risk_capped_margin(
    margin: float, leverage: int, sl: float, equity: float, limits: Limits
) -> float:
    """The margin whose loss at the stop, costs included, stays inside the per-trade cap."""
    cap = limits.max_risk_per_trade * equity / loss_fraction(sl, limits) / leverage
    return min(margin, cap)
