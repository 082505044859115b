"""Which bar of a held symbol can matter next, found from the candle arrays.

While a symbol has a position (or a shadow trade), most of its bars change nothing but the exit
machine's running extreme: no resting order is touched, no exit rule fires, no funding is due. The
first bar that can matter is the first where any of these holds (each a superset of the exact
condition, so a bar that matters is never passed; one that does not may be delivered anyway):

- the bar's reach — its range extended to the previous close, as the paper engine walks the gap —
  touches a level: a resting order (stop, TP leg, entry), the liquidation price, a shadow's;
- an exit rule could act on it: each rule of :mod:`quantum_trader.core.exit_rules` says where,
  over the arrays (the internal stop, an internal TP leg, the loss guard, the time stop, the
  trailing stop, and whatever rule is added there) — a rule that cannot say makes every bar of
  the stretch matter;
- funding: the bar's open crosses a funding boundary while a position is open;
- a signal against the position, when signals close positions (``exits.on_signal``).

:func:`first_bar` scans in chunks that grow fourfold, so the cost follows the stretch skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from quantum_trader.core.exit_rules import Bars, could_act, running_peak
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
) -> tuple[npt.NDArray[np.bool_] | None, float]:
    """The bars where an exit rule may act — each rule says (:func:`exit_rules.could_act`); None
    when one cannot — and the running extreme after them."""
    run = running_peak(state.plan.side, peak, hi, lo)
    flags = could_act(state, params, Bars(hi, lo, close, close_ts, run))
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
            if more is None:  # a rule that cannot say: every bar of the stretch may matter
                return max(begin, b)
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
