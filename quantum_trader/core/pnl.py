"""Realised PnL of a position from its fills (SPEC §9, §10 ``position.closed``).

gross   = Σ side × (exit − entry) × qty          over every closing fill
net     = gross − fees (entry and exits) + funding (received > 0, paid < 0)
roe     = net / initial margin                    (return on margin, not a price move)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from quantum_trader.core.checks import finite, positive
from quantum_trader.core.types import Side


@dataclass(frozen=True, slots=True)
class ClosingFill:
    qty: float
    price: float
    fee: float
    reason: str


@dataclass(frozen=True, slots=True)
class RealisedPnl:
    gross: float
    fees: float
    funding: float
    net: float
    roe: float
    exit_price: float  # quantity-weighted average exit


def realised_pnl(
    side: Side,
    entry_price: float,
    entry_fee: float,
    margin: float,
    exits: Sequence[ClosingFill],
    funding: float = 0.0,
) -> RealisedPnl:
    entry = positive("entry_price", entry_price)
    m = positive("margin", margin)
    qty = sum(positive("exit qty", f.qty) for f in exits)
    gross = sum(side.sign * (finite("exit price", f.price) - entry) * f.qty for f in exits)
    fees = finite("entry_fee", entry_fee) + sum(finite("exit fee", f.fee) for f in exits)
    net = gross - fees + finite("funding", funding)
    avg_exit = sum(f.price * f.qty for f in exits) / qty if qty else entry
    return RealisedPnl(gross, fees, funding, net, net / m, avg_exit)
