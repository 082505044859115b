"""Shadow trades (pure): a decision that was not traded — or was, the measurement is the same —
followed candle by candle as the exchange and the exit manager would have followed it, so the
edge of a symbol's signals is measured net of costs without risking money on them.

One unit of notional enters at the decision's price, moved against it by the slippage, with the
taker fee. Each candle is walked as the paper exchange walks it (gap from the previous close, then
open → nearer extreme → farther extreme → close): the stop (a stop-market: the stop price moved
against it by the slippage) and every TP leg still resting (a limit: its price, maker fee) fill
in path order; a gap through an order fills it at the open. After the candle, the exit state
machine of :mod:`core.exits` moves the stop (breakeven, TP1, trailing) and may close at the
close (loss guard, time stop, a stop move that would trigger at once). Funding is not simulated
(8-hourly, small against the stop distance; the real trades book it).

The outcome is the trade's net return per unit of entry notional: Σ legs side × (exit − entry) ×
fraction / entry − fees. That is the unit the edge gate compares across symbols and leverages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from quantum_trader.core.checks import in_range, positive
from quantum_trader.core.exit_rules import on_tick
from quantum_trader.core.exits import (
    ActionKind,
    ExitAction,
    ExitParams,
    ExitState,
    apply_stop,
    build_plan,
    on_leg_filled,
    start,
)
from quantum_trader.core.levels import Levels
from quantum_trader.core.types import Side

UNIT_STEP = 1e-9  # the legs of one unit of quantity, as fractions


@dataclass(frozen=True, slots=True)
class ShadowCosts:
    taker_fee: float = 0.0005
    maker_fee: float = 0.0002
    slippage: float = 0.0002  # fraction of price, against every market fill (stops included)

    def __post_init__(self) -> None:
        in_range("shadow.taker_fee", self.taker_fee, 0.0, 0.01)
        in_range("shadow.maker_fee", self.maker_fee, -0.001, 0.01)
        in_range("shadow.slippage", self.slippage, 0.0, 0.05)


@dataclass(frozen=True, slots=True)
class Shadow:
    key: str  # the decision's intent id
    state: ExitState
    entry_ts: int  # the decision candle's close: later candles move it
    last_close: float
    realised: float  # per unit of entry notional, fees in, so far
    probe: bool = False  # a real probe trade was placed for it
    traded: bool = False  # a real trade (full size) was placed for it


@dataclass(frozen=True, slots=True)
class ShadowOutcome:
    key: str
    symbol: str
    side: Side
    entry_ts: int
    exit_ts: int
    net_return: float  # per unit of entry notional, fees and slippage in
    reason: str  # stop, tp3, loss_guard, time_stop, …
    probe: bool = False
    traded: bool = False


def open_shadow(
    key: str,
    symbol: str,
    side: Side,
    price: float,
    leverage: int,
    levels: Levels,
    ts: int,
    price_tick: float,
    costs: ShadowCosts,
) -> Shadow:
    """A shadow entered at ``price`` (the decision candle's close) at ``ts``."""
    fill = positive("price", price) * (1.0 + side.sign * costs.slippage)
    plan = build_plan(symbol, side, fill, 1.0, leverage, levels, ts, UNIT_STEP, price_tick)
    return Shadow(key, start(plan), ts, price, -costs.taker_fee)


def _fill_return(state: ExitState, qty: float, price: float, fee: float) -> float:
    plan = state.plan
    gross = plan.side.sign * (price - plan.entry_price) * qty
    return (gross - fee * price * qty) / plan.entry_price


def _resting(state: ExitState) -> list[tuple[float, str, int]]:
    """(level, kind, leg) of every order on the book: the stop and the unfilled TP legs."""
    plan = state.plan
    out = [(state.stop_price, "stop", 0)]
    for leg in range(state.legs_done, 3):
        if plan.leg_qtys[leg] > 0:
            out.append((plan.tp_prices[leg], "tp", leg))
    return out


def resting_levels(state: ExitState) -> list[float]:
    """The prices of the shadow's resting orders: a candle that reaches none steps it simply."""
    return [level for level, _, _ in _resting(state)]


def _touched(side: Side, kind: str, level: float, lo: float, hi: float) -> bool:
    if kind == "stop":
        return lo <= level if side is Side.LONG else hi >= level
    return hi >= level if side is Side.LONG else lo <= level


def _walk(
    shadow: Shadow, a: float, b: float, gap: bool, costs: ShadowCosts
) -> tuple[Shadow, list[float], str | None]:
    """One straight price segment a → b: fill what it touches, nearest to ``a`` first. The
    state's remaining and legs_done move with the fills (within the candle, nothing else does)."""
    state, side = shadow.state, shadow.state.plan.side
    lo, hi = min(a, b), max(a, b)
    hits = sorted(
        (abs(level - a), kind, leg, level)
        for level, kind, leg in _resting(state)
        if _touched(side, kind, level, lo, hi)
    )
    legs: list[float] = []
    realised = shadow.realised
    for _, kind, leg, level in hits:
        if kind == "stop":
            px = (b if gap else level) * (1.0 - side.sign * costs.slippage)
            realised += _fill_return(state, state.remaining, px, costs.taker_fee)
            state = replace(state, remaining=0.0)
            return replace(shadow, state=state, realised=realised), legs, "stop"
        qty = min(state.plan.leg_qtys[leg] if leg < 2 else state.remaining, state.remaining)
        realised += _fill_return(state, qty, b if gap else level, costs.maker_fee)
        remaining = max(0.0, round(state.remaining - qty, 12))
        state = replace(state, remaining=remaining, legs_done=leg + 1)
        legs.append(qty)
        if remaining <= 0:
            return replace(shadow, state=state, realised=realised), legs, f"tp{leg + 1}"
    return replace(shadow, state=state, realised=realised), legs, None


def _close_at(shadow: Shadow, price: float, costs: ShadowCosts) -> Shadow:
    state = shadow.state
    px = price * (1.0 - state.plan.side.sign * costs.slippage)
    realised = shadow.realised + _fill_return(state, state.remaining, px, costs.taker_fee)
    return replace(shadow, state=replace(state, remaining=0.0), realised=realised)


def step(
    shadow: Shadow,
    ts: int,
    o: float,
    h: float,
    lo: float,
    c: float,
    exits: ExitParams,
    costs: ShadowCosts,
) -> tuple[Shadow, str | None]:
    """One candle (``ts`` its close time). Returns the shadow and, once it is flat, why."""
    if ts <= shadow.entry_ts or shadow.state.remaining <= 0:
        return shadow, None
    reach_lo, reach_hi = min(lo, shadow.last_close), max(h, shadow.last_close)
    if not any(reach_lo <= level <= reach_hi for level, _, _ in _resting(shadow.state)):
        state, actions = on_tick(shadow.state, h, lo, c, ts, replace(exits, tp_mode="exchange"))
        return _act(replace(shadow, state=state, last_close=c), actions, c, costs)
    path = (o, h, lo, c) if abs(h - o) <= abs(o - lo) else (o, lo, h, c)
    segments = [(shadow.last_close, o, True)]
    segments += [(a, b, False) for a, b in zip(path, path[1:], strict=False)]
    before = shadow.state
    filled: list[float] = []
    for a, b, gap in segments:
        if a == b:
            continue
        shadow, legs, done = _walk(shadow, a, b, gap, costs)
        filled += legs
        if done is not None:
            return replace(shadow, last_close=c), done
    shadow = replace(shadow, last_close=c)
    state = before  # the exit manager hears of each leg after the candle
    for qty in filled:
        state, actions = on_leg_filled(state, qty, c, exits)
        shadow, closed = _act(replace(shadow, state=state), actions, c, costs)
        if closed:
            return shadow, closed
        state = shadow.state
    state, actions = on_tick(state, h, lo, c, ts, replace(exits, tp_mode="exchange"))
    return _act(replace(shadow, state=state), actions, c, costs)


def _act(
    shadow: Shadow, actions: list[ExitAction], close: float, costs: ShadowCosts
) -> tuple[Shadow, str | None]:
    for action in actions:
        if action.kind is ActionKind.MOVE_STOP:
            shadow = replace(shadow, state=apply_stop(shadow.state, action.price))
        else:  # a close at market (tp_mode is exchange here: no partial closes)
            return _close_at(shadow, close, costs), action.reason
    return shadow, None


def outcome(shadow: Shadow, ts: int, reason: str) -> ShadowOutcome:
    plan = shadow.state.plan
    return ShadowOutcome(
        shadow.key,
        plan.symbol,
        plan.side,
        shadow.entry_ts,
        ts,
        shadow.realised,
        reason,
        shadow.probe,
        shadow.traded,
    )
