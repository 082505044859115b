"""The sizer judged out of sample, trade by trade, against the two baselines it must beat.

When a trade closes — before the sizer learns from it — each sizing says what it would have made
of it: the policy as it stood (trained only on trades that closed earlier), fixed 1.0×, and the
SPEC §7 fallback formula. A trade's ROE on margin does not depend on its size (PnL and fees scale
with it), so multiplier × ROE is each sizing's return on the base margin. Over the last
``window`` trades, once there are ``min_trades``, the sizer trades the policy only while no
baseline did better on average; otherwise the better baseline sizes (the policy keeps learning
from what is traded). The difference policy − best baseline is reported with a bootstrap interval.
"""

from __future__ import annotations

from collections import deque
from operator import itemgetter

from quantum_trader.core.stats import net_edge

SIZINGS = ("policy", "fixed", "fallback")


class Scoreboard:
    def __init__(self, window: int = 200, min_trades: int = 50) -> None:
        self.window, self.min_trades = window, min_trades
        self.rows: deque[tuple[float, float, float]] = deque(maxlen=window)  # per sizing: m × roe

    def record(self, policy_m: float, fallback_m: float, roe: float) -> None:
        self.rows.append((policy_m * roe, roe, fallback_m * roe))

    def means(self) -> dict[str, float]:
        n = len(self.rows)
        return {
            k: sum(map(itemgetter(i), self.rows)) / n if n else 0.0 for i, k in enumerate(SIZINGS)
        }

    def choice(self) -> str:
        """What sizes the next trade: the policy until judged, then the best on average."""
        if len(self.rows) < self.min_trades:
            return "policy"
        means = self.means()
        best = max(("fixed", "fallback"), key=lambda k: means[k])
        return "policy" if means["policy"] >= means[best] else best

    def snapshot(self) -> dict[str, object]:
        means = self.means()
        best = max(("fixed", "fallback"), key=lambda k: means[k])
        k = SIZINGS.index(best)
        edge = net_edge([r[0] - r[k] for r in self.rows])
        return {
            "sizing": self.choice(),
            "trades": len(self.rows),
            "judged_after": self.min_trades,
            "return_per_trade": {s: round(v, 6) for s, v in means.items()},
            "policy_minus_best_baseline": {
                "baseline": best,
                "mean": round(edge.mean, 6),
                "interval_95": [round(edge.low, 6), round(edge.high, 6)],
            },
        }
