"""The exit plan and its state machine (SPEC §9), pure.

A plan is built from the entry *fill* (so slippage moves the prices, not the distances). Then:
- the internal stop is checked first, against the last price: the exchange stop acts intrabar, so
  this only catches a missing one (a candle's low may precede the fill that moved the stop);
- TP legs close their harvest fraction of the *initial* size — on the exchange as reduce-only
  limits (``on_leg_filled``) or watched here (``tp_mode="internal"``);
- after TP1 the stop moves to breakeven (entry ± round-trip fees), after TP2 to TP1's price;
- with only the last leg left, an optional trailing stop follows the best price;
- the loss guard closes at market once the ROE (loss on margin) reaches ``loss_guard_roe``;
- an optional time stop closes after ``time_stop_ms``.
The rules a price update runs are in :mod:`quantum_trader.core.exit_rules` (``on_tick``), each
with how to find, over arrays, the bars where it could act.
The stop only ever tightens. A move that would trigger at once becomes a market close instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from quantum_trader.core.checks import finite, in_range, positive
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.levels import Levels, level_prices, round_toward
from quantum_trader.core.sizing import round_down_to_step
from quantum_trader.core.types import Side


class ActionKind(StrEnum):
    MOVE_STOP = "move_stop"
    CLOSE = "close"  # the whole remaining position at market
    CLOSE_PARTIAL = "close_partial"  # one TP leg at market (internal TP mode)


@dataclass(frozen=True, slots=True)
class ExitAction:
    kind: ActionKind
    reason: str
    qty: float = 0.0
    price: float = 0.0  # the new stop price for MOVE_STOP
    leg: int = 0  # 1..3 for CLOSE_PARTIAL


@dataclass(frozen=True, slots=True)
class ExitParams:
    tp_mode: str = "exchange"  # "exchange": reduce-only limits; "internal": closed at market here
    trailing: bool = True
    trail_distance: float = 0.0  # fraction of price; 0 → the plan's initial SL distance
    loss_guard_roe: float = -0.5
    time_stop_ms: int = 0  # 0 → off
    fee_rate: float = 0.0005  # taker fee, for breakeven = entry ± 2 × fee
    on_signal: bool = False  # a signal against the position closes it at market
    predictive: bool = True  # a predicted performance breach tightens open stops (SPEC §8)

    def __post_init__(self) -> None:
        if self.tp_mode not in ("exchange", "internal"):
            raise InvalidInput("exits.tp_mode", f"expected exchange/internal, got {self.tp_mode!r}")
        in_range("exits.trail_distance", self.trail_distance, 0.0, 0.5)
        in_range("exits.loss_guard_roe", self.loss_guard_roe, -10.0, 0.0)
        in_range("exits.fee_rate", self.fee_rate, 0.0, 0.01)
        if self.time_stop_ms < 0:
            raise InvalidInput("exits.time_stop_ms", f"must be >= 0, got {self.time_stop_ms}")


@dataclass(frozen=True, slots=True)
class ExitPlan:
    symbol: str
    side: Side
    entry_price: float
    qty: float
    leverage: int
    margin: float
    tp_prices: tuple[float, float, float]
    leg_qtys: tuple[float, float, float]
    sl_price: float
    sl_distance: float
    opened_ts: int
    price_tick: float


@dataclass(frozen=True, slots=True)
class ExitState:
    plan: ExitPlan
    remaining: float
    legs_done: int
    stop_price: float
    peak: float  # the most favourable price seen since entry


def split_legs(
    qty: float, harvest: tuple[float, float, float], step: float
) -> tuple[float, float, float]:
    """Leg quantities from the initial size, rounded down to the step; the last leg takes the
    remainder so the legs always sum to the position. A leg too small for one step is empty."""
    q1 = round_down_to_step(qty * harvest[0], step)
    q2 = round_down_to_step(qty * harvest[1], step)
    q3 = round_down_to_step(qty - q1 - q2 + step * 1e-6, step)
    return (q1, q2, q3)


def build_plan(
    symbol: str,
    side: Side,
    fill_price: float,
    qty: float,
    leverage: int,
    levels: Levels,
    ts: int,
    qty_step: float,
    price_tick: float,
) -> ExitPlan:
    entry = positive("fill_price", fill_price)
    size = positive("qty", qty)
    prices = level_prices(entry, side, levels, price_tick)
    return ExitPlan(
        symbol=symbol,
        side=side,
        entry_price=entry,
        qty=size,
        leverage=leverage,
        margin=entry * size / leverage,
        tp_prices=(prices.tp1, prices.tp2, prices.tp3),
        leg_qtys=split_legs(size, levels.harvest, qty_step),
        sl_price=prices.sl,
        sl_distance=levels.sl,
        opened_ts=ts,
        price_tick=price_tick,
    )


def start(plan: ExitPlan) -> ExitState:
    return ExitState(plan, plan.qty, 0, plan.sl_price, plan.entry_price)


def _tighter(side: Side, new: float, old: float) -> bool:
    return new > old if side is Side.LONG else new < old


def breakeven_price(plan: ExitPlan, fee_rate: float) -> float:
    raw = plan.entry_price * (1.0 + plan.side.sign * 2.0 * fee_rate)
    # round away from the entry: breakeven must cover the fees
    return round_toward(raw, plan.price_tick, raw + plan.side.sign * plan.price_tick)


def move_stop(state: ExitState, target: float, last: float, reason: str) -> list[ExitAction]:
    side = state.plan.side
    if not _tighter(side, target, state.stop_price):
        return []
    if (side is Side.LONG and target >= last) or (side is Side.SHORT and target <= last):
        return [ExitAction(ActionKind.CLOSE, f"{reason}_at_market", qty=state.remaining)]
    return [ExitAction(ActionKind.MOVE_STOP, reason, price=target)]


def on_leg_filled(
    state: ExitState, qty: float, last: float, params: ExitParams
) -> tuple[ExitState, list[ExitAction]]:
    """A TP leg filled (on the exchange or by an internal close): shrink and ratchet the stop."""
    filled = positive("leg qty", qty)
    remaining = max(0.0, round(state.remaining - filled, 12))
    legs = min(3, state.legs_done + 1)
    new = replace(state, remaining=remaining, legs_done=legs)
    if remaining <= 0:
        return new, []
    plan = state.plan
    if legs == 1:
        return new, move_stop(new, breakeven_price(plan, params.fee_rate), last, "breakeven")
    return new, move_stop(new, plan.tp_prices[0], last, "stop_to_tp1")


def on_predicted_breach(
    state: ExitState, last: float, params: ExitParams, fraction: float = 0.5
) -> list[ExitAction]:
    """Predictive tightening (SPEC §8): a breach of a performance threshold is predicted within
    hours, so the stop moves ``fraction`` of the way toward breakeven — only if that tightens it
    and the price has not crossed the new stop (tightening never closes a position by itself)."""
    if state.remaining <= 0:
        return []
    current = state.stop_price
    target = current + fraction * (breakeven_price(state.plan, params.fee_rate) - current)
    target = round_toward(target, state.plan.price_tick, current)
    moves = move_stop(state, target, last, "predictive")
    return [a for a in moves if a.kind is ActionKind.MOVE_STOP]


def on_part_filled(state: ExitState, qty: float) -> ExitState:
    """Part of a TP leg filled (the rest still resting): the position shrinks, nothing moves."""
    filled = positive("part qty", qty)
    return replace(state, remaining=max(0.0, round(state.remaining - filled, 12)))


def apply_stop(state: ExitState, price: float) -> ExitState:
    """Record a stop move that the exchange accepted."""
    return replace(state, stop_price=finite("stop price", price))
