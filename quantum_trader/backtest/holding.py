"""Which bar of a held symbol can matter next, found from the candle arrays.

While a symbol has a position (or a shadow trade), most of its bars change nothing but the exit
machine's running extreme: no resting order is touched, no exit rule fires, no funding is due. The
first bar that can matter is the first where any of these holds (each a superset of the exact
condition, so a bar that matters is never passed; one that does not may be delivered anyway):

- the bar's reach — its range extended to the previous close, as the paper engine walks the gap —
  touches a level: a resting order (stop, TP leg, entry), the liquidation price, a shadow's;
- the bar reaches or passes the exit machine's stop, or its next internal TP leg (these act on a
  price beyond them: a leg a bar ago already passed acts now);
- the loss guard: ROE at the close at or below ``loss_guard_roe`` (a 1e-9 margin);
- the time stop: the bar closes ``time_stop_ms`` or more after the entry;
- the trailing stop (last leg, ``trailing``): the running extreme would put the trail within two
  ticks of the stop or beyond it (rounding moves it by at most one);
- funding: the bar's open crosses a funding boundary while a position is open;
- a signal against the position, when signals close positions (``exits.on_signal``).

:func:`first_bar` scans in chunks that grow fourfold, so the cost follows the stretch skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from quantum_trader.core.exits import ExitParams, ExitState
from quantum_trader.feeds.loader import CandleSeries

FIRST_CHUNK = 64


@dataclass(frozen=True, slots=True)
class Watch:
    """What can make a held symbol's bar matter."""

    levels: tuple[float, ...]  # prices whose touch matters
    exits: tuple[tuple[ExitState, ExitParams], ...]  # the exit machines fed every bar
    funding_ms: int = 0  # a funding boundary crossed at a bar's open matters (0: none)
    exit_side: int = 0  # a signal of this side closes the position (exits.on_signal; 0: none)


def _exit_flags(
    state: ExitState,
    params: ExitParams,
    hi: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    close: npt.NDArray[np.float64],
    close_ts: npt.NDArray[np.int64],
    peak: float,
) -> tuple[npt.NDArray[np.bool_], float]:
    """The bars where ``on_tick`` may act (loss guard, time stop, trailing) and the running
    extreme after them."""
    plan = state.plan
    sign = plan.side.sign
    roe = sign * (close - plan.entry_price) / plan.entry_price * plan.leverage
    flags: npt.NDArray[np.bool_] = roe <= params.loss_guard_roe + 1e-9
    # the internal stop and an internal TP leg act on a price at or beyond them, not a touch
    flags |= lo <= state.stop_price if sign > 0 else hi >= state.stop_price
    if params.tp_mode == "internal" and state.legs_done < 3:
        tp = plan.tp_prices[state.legs_done]
        flags |= hi >= tp if sign > 0 else lo <= tp
    if params.time_stop_ms:
        flags |= close_ts - plan.opened_ts >= params.time_stop_ms
    if sign > 0:
        run = np.maximum.accumulate(np.maximum(hi, peak))
    else:
        run = np.minimum.accumulate(np.minimum(lo, peak))
    if params.trailing and state.legs_done >= 2:
        distance = params.trail_distance or plan.sl_distance
        raw = run * (1.0 - sign * distance)
        slack = 2.0 * plan.price_tick + 1e-9 * state.stop_price
        flags |= sign * (raw - state.stop_price) + slack > 0
    return flags, float(run[-1])


def first_bar(
    watch: Watch,
    s: CandleSeries,
    start: int,
    begin: int,
    end: int,
    sides: npt.NDArray[np.int8] | None = None,
) -> int:
    """The first bar in ``[begin, end)`` that can matter, ``end`` if none. The scan starts at
    ``start`` (≤ ``begin``: the first bar the exit machines have not seen), so running extremes
    include the bars already passed over. ``sides``: each bar's signal (+1, −1, 0), for
    ``exit_side``."""
    if start < 1 or begin >= end:
        return begin
    peaks = [state.peak for state, _ in watch.exits]
    levels = np.asarray(watch.levels, dtype=np.float64)
    b, size = start, FIRST_CHUNK
    while b < end:
        stop = min(end, b + size)
        hi, lo, close = s.high[b:stop], s.low[b:stop], s.close[b:stop]
        prev = s.close[b - 1 : stop - 1]
        reach_lo, reach_hi = np.minimum(lo, prev), np.maximum(hi, prev)
        flags = np.zeros(stop - b, dtype=bool)
        if levels.size:
            touched = (reach_lo[:, None] <= levels) & (levels <= reach_hi[:, None])
            flags |= touched.any(axis=1)
        close_ts = s.ts[b:stop] + s.timeframe_ms
        for i, (state, params) in enumerate(watch.exits):
            more, peaks[i] = _exit_flags(state, params, hi, lo, close, close_ts, peaks[i])
            flags |= more
        if watch.funding_ms:
            opens = s.ts[b - 1 : stop] // watch.funding_ms
            flags |= opens[1:] > opens[:-1]
        if watch.exit_side and sides is not None:
            flags |= sides[b:stop] == watch.exit_side
        flags[: max(0, begin - b)] = False
        if flags.any():
            return b + int(np.argmax(flags))
        b, size = stop, size * 4
    return end
