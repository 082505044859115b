"""The events a backtest must deliver for their signal: those whose signal the filter would pass on
side, consensus and confidence (health and open positions are the pipeline's to judge). Known in
advance from the timeline; computed symbol by symbol on its decision bars, so no per-event
temporary of the whole run is held (a year of ten symbols is 5 million events)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from quantum_trader.backtest.precompute import CONSENSUS, Timeline
from quantum_trader.core.filter import FilterParams

ENTERED = {"both": (1, -1), "long": (1,), "short": (-1,)}


def candidates(
    tl: Timeline, fp: FilterParams, force_confidence: float = 0.0
) -> tuple[npt.NDArray[np.bool_], list[npt.NDArray[np.int64]]]:
    """Per event, whether it is a candidate; per symbol, its candidates' events in order.
    ``force_confidence``: every signal of an entered side is one (the filter's confidence is
    forced)."""
    flags = np.zeros(tl.ev_sym.size, dtype=np.bool_)
    allowed = [CONSENSUS.index(str(x)) for x in fp.allowed_consensus]
    of = []
    for k, c in enumerate(tl.calls):
        at = tl.position[k][c.bars]  # the events that complete a decision bar, in order
        passes = np.isin(c.side, ENTERED[fp.sides])
        if not force_confidence:
            with np.errstate(invalid="ignore"):
                needed = np.where(
                    c.atr_pct > fp.high_vol_atr_pct, fp.high_vol_min_confidence, fp.min_confidence
                )
            passes &= np.isin(c.consensus, allowed) & (tl.calibrated[at] >= needed)
        mine = at[passes].astype(np.int64)
        flags[mine] = True
        of.append(mine)
    return flags, of
