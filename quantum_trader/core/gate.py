"""The edge gate (pure): a symbol is traded with real size only while the measured net edge of
its decisions is positive at the configured confidence.

The edge is measured on shadow trades (:mod:`core.shadow`): every decision that passes the filter
and the risk checks is followed as if traded, whether or not it is. So what is measured does not
depend on what the gate let through (no selection by the gate itself), and it is per unit of
notional (leverage and size do not weigh it).

The gate looks again after every outcome, and a 90 % bound checked after every trade lets a
symbol without an edge through far more often than 10 % of the time (on the BTC file a lucky
first fortnight did: walk-forward, the gate opened at 40 shadow trades and lost 136 USDT). So the
confidence is spent over the looks: the look at k outcomes in the window uses
α_k = (1 − confidence) × min_trades / (k (k + 1)), whose sum over k = min_trades … ∞ is
1 − confidence — the chance that a symbol with no edge is ever let through while its window fills
(independent outcomes); once the window is full each look keeps the last α. The bound is the
normal one, mean − z(1 − α_k) × s / √k (a bootstrap cannot resolve tails this thin).

Until ``min_trades`` outcomes are in, up to ``probe_trades`` decisions per symbol are traded at the
exchange's minimum size (probes: they exercise the real path — fills, stops, fees — at the cost of
a few minimum fees); the rest are shadowed. On a symbol with no edge the daemon loses at most the
probes' fees and their small PnL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

import numpy as np

from quantum_trader.core.checks import in_range
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.stats import Edge


class GateAction(StrEnum):
    TRADE = "trade"  # full size: the edge is measured positive (or the gate is off)
    PROBE = "probe"  # the exchange's minimum size, while too few outcomes are in
    SHADOW = "shadow"  # not traded; followed as a shadow trade


@dataclass(frozen=True, slots=True)
class GateParams:
    mode: str = "gate"  # "gate", or "off": every decision trades full size, no shadows
    min_trades: int = 30
    confidence: float = 0.9  # one-sided
    window: int = 200
    probe_trades: int = 2

    def __post_init__(self) -> None:
        if self.mode not in ("gate", "off"):
            raise InvalidInput("edge.mode", f"expected gate/off, got {self.mode!r}")
        in_range("edge.min_trades", self.min_trades, 2, 100_000)
        in_range("edge.confidence", self.confidence, 0.5, 0.999)
        in_range("edge.window", self.window, self.min_trades, 1_000_000)
        in_range("edge.probe_trades", self.probe_trades, 0, 1_000)


@dataclass(frozen=True, slots=True)
class GateVerdict:
    action: GateAction
    reason: str
    edge: Edge


def look_alpha(k: int, params: GateParams) -> float:
    """The error spent on the look at ``k`` outcomes (see the module's docstring)."""
    m = params.min_trades
    k = min(max(k, m), params.window)
    return (1 - params.confidence) * m / (k * (k + 1))


def measured_edge(returns: Sequence[float], params: GateParams) -> Edge:
    """The mean net return per unit of notional over the window and its interval mean ± z × s/√k,
    z at 1 − α_k: ``low`` is the bound the gate opens on, ``level`` the interval's (1 − 2α_k)."""
    r = np.asarray(list(returns)[-params.window :], dtype=np.float64)
    if r.size < 2:
        mean = float(r.mean()) if r.size else 0.0
        return Edge(int(r.size), mean, mean, mean, 0.0)
    alpha = look_alpha(r.size, params)
    half = NormalDist().inv_cdf(1 - alpha) * float(r.std(ddof=1)) / math.sqrt(r.size)
    mean = float(r.mean())
    return Edge(int(r.size), mean, mean - half, mean + half, 1 - 2 * alpha)


def _bp(x: float) -> str:
    return f"{x * 1e4:+.1f} bp"


def gate(returns: Sequence[float], probes_used: int, params: GateParams) -> GateVerdict:
    """What to do with one symbol's next accepted decision."""
    e = measured_edge(returns, params)
    measured = (
        f"edge {_bp(e.mean)}, bound {_bp(e.low)} over {e.trades} shadow trades "
        f"({params.confidence:.0%} over every look)"
    )
    if params.mode == "off":
        return GateVerdict(GateAction.TRADE, f"gate off; {measured}", e)
    if e.trades >= params.min_trades:
        if e.low > 0:
            return GateVerdict(GateAction.TRADE, f"{measured}: positive", e)
        return GateVerdict(GateAction.SHADOW, f"{measured}: not positive, not traded", e)
    if probes_used < params.probe_trades:
        return GateVerdict(
            GateAction.PROBE,
            f"{measured}: {params.min_trades} needed; probe {probes_used + 1} of "
            f"{params.probe_trades} at minimum size",
            e,
        )
    return GateVerdict(
        GateAction.SHADOW, f"{measured}: {params.min_trades} needed, probes used; not traded", e
    )
