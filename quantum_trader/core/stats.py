"""Honest numbers about a run's trades: the net edge per trade with a bootstrap interval, so a
demo's gains are read for what they are."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: no verdict on fewer trades: a bootstrap of a handful of values is little more than their
#: range (3 winners give [min, max] > 0). The edge gate's default ``edge.min_trades``.
MIN_VERDICT_TRADES = 30


@dataclass(frozen=True, slots=True)
class Edge:
    trades: int
    mean: float  # net PnL per trade (fees and funding in), in the values' unit (USDT)
    low: float  # the interval at ``level``
    high: float
    level: float
    min_trades: int = MIN_VERDICT_TRADES

    @property
    def verdict(self) -> str:
        if self.trades < self.min_trades:
            return f"too few trades to say ({self.trades} of {self.min_trades} needed)"
        if self.low > 0:
            return "an edge at this confidence"
        if self.high < 0:
            return "a loss at this confidence"
        return "no evidence of an edge"


def net_edge(pnls: list[float], level: float = 0.95, resamples: int = 2_000, seed: int = 0) -> Edge:
    """``pnls``: each closed trade's net PnL. Percentile bootstrap of the mean (no normality
    assumed: trade PnLs are skewed by stops and legs); seeded, so a run's summary is
    reproducible."""
    r = np.asarray(pnls, dtype=float)
    if r.size == 0:
        return Edge(0, 0.0, 0.0, 0.0, level)
    if r.size == 1:
        return Edge(1, float(r[0]), float(r[0]), float(r[0]), level)
    rng = np.random.default_rng(seed)
    means = r[rng.integers(0, r.size, size=(resamples, r.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Edge(int(r.size), float(r.mean()), float(low), float(high), level)
