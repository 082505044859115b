"""Leverage brackets and Binance's isolated-margin liquidation price.

One-way mode, one isolated position (Binance USDⓈ-M):

    LP = (WB + cum − side × Q × EP) / (Q × mmr − side × Q)      side = +1 long, −1 short

with WB the isolated wallet balance (the margin), Q the quantity, EP the entry price and (mmr, cum)
the maintenance margin rate and amount of the bracket of the notional **at the liquidation price**
(:func:`tiered_liquidation_price`; Binance's own rule). Check values: long 1 BTC at 50,000 with
5,000 margin, mmr 0.004, cum 0 → 45,180.72; short 1 @ 49,000 with 4,900 on the default tiers →
53,681.59 (the second tier's mmr 0.005 and cum 50, where the notional at that price lies).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from quantum_trader.core.checks import in_range, non_negative, positive
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import Side


@dataclass(frozen=True, slots=True)
class Bracket:
    """One notional tier: positions with notional in [floor, cap) may use up to ``max_leverage``
    and keep ``notional × mmr − cum`` as maintenance margin."""

    notional_floor: float
    notional_cap: float
    max_leverage: float
    mmr: float
    cum: float = 0.0

    def __post_init__(self) -> None:
        non_negative("bracket.notional_floor", self.notional_floor)
        positive("bracket.notional_cap", self.notional_cap)
        if self.notional_cap <= self.notional_floor:
            raise InvalidInput("bracket.notional_cap", "must be above notional_floor")
        in_range("bracket.max_leverage", self.max_leverage, 1.0, 200.0)
        in_range("bracket.mmr", self.mmr, 0.0, 0.99)
        non_negative("bracket.cum", self.cum)


@dataclass(frozen=True, slots=True)
class BracketTable:
    """Brackets sorted by notional, contiguous from 0."""

    brackets: tuple[Bracket, ...]

    def __post_init__(self) -> None:
        if not self.brackets:
            raise InvalidInput("brackets", "at least one bracket is required")
        if self.brackets[0].notional_floor != 0:
            raise InvalidInput("brackets", "the first bracket must start at notional 0")
        for prev, nxt in zip(self.brackets, self.brackets[1:], strict=False):
            if nxt.notional_floor != prev.notional_cap:
                raise InvalidInput("brackets", f"gap or overlap at notional {prev.notional_cap:g}")

    def for_notional(self, notional: float) -> Bracket:
        """The bracket holding ``notional``; beyond the last cap, the last bracket."""
        n = non_negative("notional", notional)
        for bracket in self.brackets:
            if n < bracket.notional_cap:
                return bracket
        return self.brackets[-1]

    def max_notional(self, leverage: float) -> float:
        """The largest notional a position may have at ``leverage``."""
        allowed = [b.notional_cap for b in self.brackets if b.max_leverage >= leverage]
        return max(allowed, default=0.0)

    @staticmethod
    def single(max_leverage: float, mmr: float, cum: float = 0.0) -> BracketTable:
        """One bracket for every notional (what a user passes with ``--bracket``)."""
        return BracketTable((Bracket(0.0, 1e15, max_leverage, mmr, cum),))

    @staticmethod
    def from_tiers(tiers: Iterable[tuple[float, float, float]]) -> BracketTable:
        """Build from (notional_cap, max_leverage, mmr) tiers; cum is derived so that the
        maintenance margin is continuous across tiers, as Binance defines it."""
        brackets: list[Bracket] = []
        floor, cum, prev_mmr = 0.0, 0.0, 0.0
        for cap, max_leverage, mmr in tiers:
            cum += floor * (mmr - prev_mmr) if brackets else 0.0
            brackets.append(Bracket(floor, cap, max_leverage, mmr, round(cum, 8)))
            floor, prev_mmr = cap, mmr
        return BracketTable(tuple(brackets))


# Binance USDⓈ-M BTCUSDT-style tiers (notional cap, max leverage, mmr). Used by paper mode and
# `qtrader explain` when no exchange brackets are known; live mode loads the real ones.
DEFAULT_TIERS: Sequence[tuple[float, float, float]] = (
    (50_000, 125, 0.004),
    (600_000, 100, 0.005),
    (3_000_000, 75, 0.0065),
    (12_000_000, 50, 0.01),
    (70_000_000, 25, 0.02),
    (100_000_000, 20, 0.025),
    (230_000_000, 10, 0.05),
    (480_000_000, 5, 0.1),
    (600_000_000, 4, 0.125),
    (800_000_000, 3, 0.15),
    (1_200_000_000, 2, 0.25),
    (1_800_000_000, 1, 0.5),
)
DEFAULT_BRACKETS = BracketTable.from_tiers(DEFAULT_TIERS)


def liquidation_price(
    side: Side, entry_price: float, qty: float, wallet_balance: float, mmr: float, cum: float = 0.0
) -> float:
    """Binance isolated liquidation price; 0.0 when a long can never be liquidated."""
    ep = positive("entry_price", entry_price)
    q = positive("qty", qty)
    wb = non_negative("wallet_balance", wallet_balance)
    rate = in_range("mmr", mmr, 0.0, 0.99)
    c = non_negative("cum", cum)
    s = side.sign
    price = (wb + c - s * q * ep) / (q * rate - s * q)
    return max(0.0, price)


def tiered_liquidation_price(
    side: Side, entry_price: float, qty: float, wallet_balance: float, brackets: BracketTable
) -> tuple[float, Bracket]:
    """The liquidation price with the bracket of the notional *at that price*, as Binance
    computes it: the tier of the entry's notional only while the liquidation price stays in it.
    Short 1 @ 49,000 with 4,900: 53,681.59 in the second tier (the first tier's 53,685.26 would
    be the less conservative side). Returns the price and the bracket it used."""
    entry = brackets.for_notional(positive("qty", qty) * positive("entry_price", entry_price))
    lp = liquidation_price(side, entry_price, qty, wallet_balance, entry.mmr, entry.cum)
    if lp <= 0 or brackets.for_notional(lp * qty) is entry:
        return lp, entry  # the usual case: it stays in the entry's tier
    for bracket in brackets.brackets:
        if bracket is entry:
            continue
        lp = liquidation_price(side, entry_price, qty, wallet_balance, bracket.mmr, bracket.cum)
        if lp <= 0 or brackets.for_notional(lp * qty) is bracket:
            return lp, bracket
    lp = liquidation_price(side, entry_price, qty, wallet_balance, entry.mmr, entry.cum)
    return lp, entry  # no tier holds its own price (a table with gaps in mmr): the entry's


def liquidation_distance(side: Side, entry_price: float, liq_price: float) -> float:
    """How far price must move against the position to liquidate it, as a fraction of entry."""
    if side is Side.LONG:
        return (entry_price - liq_price) / entry_price
    return (liq_price - entry_price) / entry_price
