"""The events a backtest must deliver for their signal: those the filter's rules could pass, as
each rule says over the timeline's arrays (:func:`quantum_trader.core.filter.could_pass`; health,
the risk limits and open positions are the daemon's state, so those rules let any through).
Computed symbol by symbol on its decision bars, so no per-event temporary of the whole run is
held (a year of ten symbols is 5 million events)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from quantum_trader.backtest.precompute import Timeline
from quantum_trader.core.filter import CONSENSUS_CODES, FilterParams, SignalArrays, could_pass
from quantum_trader.core.types import Consensus

UNANIMOUS = np.int8(CONSENSUS_CODES.index(Consensus.UNANIMOUS.value))


def candidates(
    tl: Timeline, fp: FilterParams, force_confidence: float = 0.0
) -> tuple[npt.NDArray[np.bool_], list[npt.NDArray[np.int64]]]:
    """Per event, whether it is a candidate; per symbol, its candidates' events in order.
    ``force_confidence``: the signals as the signal service's stress knob makes them — every call
    that confident and unanimous."""
    flags = np.zeros(tl.ev_sym.size, dtype=np.bool_)
    of = []
    for k, c in enumerate(tl.calls):
        at = tl.position[k][c.bars]  # the events that complete a decision bar, in order
        if force_confidence:
            consensus = np.full(c.side.size, UNANIMOUS, dtype=np.int8)
            confidence = np.full(c.side.size, force_confidence)
        else:
            consensus, confidence = c.consensus, tl.calibrated[at]
        passes = could_pass(SignalArrays(c.side, consensus, confidence, c.atr_pct), fp)
        mine = at[passes].astype(np.int64)
        flags[mine] = True
        of.append(mine)
    return flags, of
