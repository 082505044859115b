"""The exit rules a price update runs (SPEC §9), each declaring beside itself where it could act.

A rule is a small object with two faces:

- ``act(state, tick)``: on one price update — a candle's range in simulation, a ticker price
  live — the actions it takes, or none;
- ``could_act(state, params, bars)``: over a stretch of bars as arrays, a mask of the bars where
  it *could* act (a superset: a bar where it acts is never missed; one where it does not may be
  flagged). ``None`` means it cannot say — the backtester then delivers every bar of the stretch
  (correct by default, slower).

:func:`on_tick` runs :data:`RULES` in order; the backtester's skip-ahead asks the same rules
(:func:`could_act`) and never re-writes one. Adding a rule is a class here and an entry in
:data:`RULES`; its parameter goes in :class:`~quantum_trader.core.exits.ExitParams`.

Order and precedence (unchanged from the SPEC's exit manager): the internal stop first (a
``final`` rule: its actions are the only ones); an internal TP leg; then the running extreme
(``peak``) takes the update; the loss guard and the time stop (final); the trailing stop only when
nothing else acted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from quantum_trader.core.checks import positive
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.exits import (
    ActionKind,
    ExitAction,
    ExitParams,
    ExitState,
    move_stop,
)
from quantum_trader.core.levels import round_toward
from quantum_trader.core.types import Side

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Tick:
    high: float
    low: float
    last: float
    ts: int


@dataclass(frozen=True, slots=True)
class Bars:
    """A stretch of bars as arrays: each bar's range, close and close time, and ``peak`` — the
    running extreme in the position's favour *through* each bar (what a rule after the peak's
    update sees)."""

    high: F64
    low: F64
    close: F64
    close_ts: npt.NDArray[np.int64]
    peak: F64


class ExitRule(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def final(self) -> bool:
        """Its actions are the update's only ones."""

    @property
    def after_peak(self) -> bool:
        """It sees the running extreme updated by this tick."""

    @property
    def alone(self) -> bool:
        """It acts only when no earlier rule did."""

    def act(self, state: ExitState, tick: Tick, params: ExitParams) -> list[ExitAction]: ...

    def could_act(self, state: ExitState, params: ExitParams, bars: Bars) -> Mask | None: ...


def _roe(state: ExitState, price: float | F64) -> float | F64:
    plan = state.plan
    return plan.side.sign * (price - plan.entry_price) / plan.entry_price * plan.leverage


class InternalStop:
    """The backup for a missing exchange stop: the last price at or beyond the stop closes."""

    name, final, after_peak, alone = "stop_internal", True, False, False

    def act(self, state: ExitState, tick: Tick, params: ExitParams) -> list[ExitAction]:
        long = state.plan.side is Side.LONG
        crossed = tick.last <= state.stop_price if long else tick.last >= state.stop_price
        return [ExitAction(ActionKind.CLOSE, self.name, qty=state.remaining)] if crossed else []

    def could_act(self, state: ExitState, params: ExitParams, bars: Bars) -> Mask | None:
        if state.plan.side is Side.LONG:
            return bars.low <= state.stop_price
        return bars.high >= state.stop_price


class InternalLeg:
    """``tp_mode = "internal"``: the next TP leg closes at market once the range reaches it."""

    name, final, after_peak, alone = "internal_tp", False, False, False

    def act(self, state: ExitState, tick: Tick, params: ExitParams) -> list[ExitAction]:
        plan, leg = state.plan, state.legs_done
        if params.tp_mode != "internal" or leg >= 3 or plan.leg_qtys[leg] <= 0:
            return []
        tp = plan.tp_prices[leg]
        if not (tick.high >= tp if plan.side is Side.LONG else tick.low <= tp):
            return []
        qty = plan.leg_qtys[leg] if leg < 2 else state.remaining
        return [ExitAction(ActionKind.CLOSE_PARTIAL, f"tp{leg + 1}", qty, leg=leg + 1)]

    def could_act(self, state: ExitState, params: ExitParams, bars: Bars) -> Mask | None:
        if params.tp_mode != "internal" or state.legs_done >= 3:
            return np.zeros(bars.close.size, dtype=np.bool_)
        tp = state.plan.tp_prices[state.legs_done]
        return bars.high >= tp if state.plan.side is Side.LONG else bars.low <= tp


class LossGuard:
    """The loss on margin (ROE at the last price) at or past ``loss_guard_roe`` closes."""

    name, final, after_peak, alone = "loss_guard", True, True, False

    def act(self, state: ExitState, tick: Tick, params: ExitParams) -> list[ExitAction]:
        if _roe(state, tick.last) <= params.loss_guard_roe:
            return [ExitAction(ActionKind.CLOSE, self.name, qty=state.remaining)]
        return []

    def could_act(self, state: ExitState, params: ExitParams, bars: Bars) -> Mask | None:
        roe: F64 = np.asarray(_roe(state, bars.close))
        return roe <= params.loss_guard_roe + 1e-9


class TimeStop:
    """``time_stop_ms`` after the entry, the position closes (0: off)."""

    name, final, after_peak, alone = "time_stop", True, True, False

    def act(self, state: ExitState, tick: Tick, params: ExitParams) -> list[ExitAction]:
        if params.time_stop_ms and tick.ts - state.plan.opened_ts >= params.time_stop_ms:
            return [ExitAction(ActionKind.CLOSE, self.name, qty=state.remaining)]
        return []

    def could_act(self, state: ExitState, params: ExitParams, bars: Bars) -> Mask | None:
        if not params.time_stop_ms:
            return np.zeros(bars.close.size, dtype=np.bool_)
        return bars.close_ts - state.plan.opened_ts >= params.time_stop_ms


class Trailing:
    """With only the last leg left, the stop follows the best price at the trail distance (the
    plan's SL distance unless ``trail_distance``); a move that would trigger at once closes."""

    name, final, after_peak, alone = "trailing", False, True, True

    def act(self, state: ExitState, tick: Tick, params: ExitParams) -> list[ExitAction]:
        plan = state.plan
        if not params.trailing or state.legs_done < 2:
            return []
        distance = params.trail_distance or plan.sl_distance
        target = state.peak * (1.0 - plan.side.sign * distance)
        target = round_toward(target, plan.price_tick, state.peak)
        return move_stop(state, target, tick.last, self.name)

    def could_act(self, state: ExitState, params: ExitParams, bars: Bars) -> Mask | None:
        plan = state.plan
        if not params.trailing or state.legs_done < 2:
            return np.zeros(bars.close.size, dtype=np.bool_)
        sign = plan.side.sign
        distance = params.trail_distance or plan.sl_distance
        raw = bars.peak * (1.0 - sign * distance)
        slack = 2.0 * plan.price_tick + 1e-9 * state.stop_price  # rounding moves it ≤ one tick
        return np.asarray(sign * (raw - state.stop_price) + slack > 0)


RULES: tuple[ExitRule, ...] = (InternalStop(), InternalLeg(), LossGuard(), TimeStop(), Trailing())


def peak_after(side: Side, peak: float, high: float, low: float) -> float:
    """The running extreme in the position's favour after a price range."""
    return max(peak, high) if side is Side.LONG else min(peak, low)


def running_peak(side: Side, peak: float, high: F64, low: F64) -> F64:
    """:func:`peak_after` through each bar of a stretch."""
    if side is Side.LONG:
        return np.maximum.accumulate(np.maximum(high, peak))
    return np.minimum.accumulate(np.minimum(low, peak))


def on_tick(
    state: ExitState, high: float, low: float, last: float, ts: int, params: ExitParams
) -> tuple[ExitState, list[ExitAction]]:
    """One price update: a candle's range in simulation, a ticker price (high = low = last) live."""
    hi, lo, px = positive("high", high), positive("low", low), positive("last", last)
    if hi < lo:
        raise InvalidInput("high", f"{hi:g} is below low {lo:g}")
    if state.remaining <= 0:
        return state, []
    tick, peaked = Tick(hi, lo, px, ts), False
    actions: list[ExitAction] = []
    for rule in RULES:
        if rule.after_peak and not peaked:
            state = replace(state, peak=peak_after(state.plan.side, state.peak, hi, lo))
            peaked = True
        if rule.alone and actions:
            continue
        got = rule.act(state, tick, params)
        if got and rule.final:
            return state, got
        actions += got
    return state, actions


def could_act(state: ExitState, params: ExitParams, bars: Bars) -> Mask | None:
    """The bars of a stretch where any rule could act; None when a rule cannot say (deliver
    every bar)."""
    out = np.zeros(bars.close.size, dtype=np.bool_)
    for rule in RULES:
        mask = rule.could_act(state, params, bars)
        if mask is None:
            return None
        out |= mask
    return out
