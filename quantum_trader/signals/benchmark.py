"""Phase 3C's performance benchmarker (SPEC §8), in market time so a backtest and the daemon agree:

- per signal model — each built-in model's vote, and the signal as traded (``ensemble``, or
  ``http`` for an external engine) — its directional accuracy at the signal's horizon over a
  rolling window (7 days), the call latency p95 and error rate, and the SPEC's score. The traded
  signal's accuracy is the calibrator's record (its last 500 resolved signals): one record for
  calibration and sizing, which a backtest answers exactly on the bars it skips;
- per exit level: how often closed trades reached TP1, TP2, TP3, and how often the stop closed
  them, over the same window.

Consumers read :meth:`sizing_factor` (performance-weighted sizing) and :meth:`exit_scales` (exit
adaptation); each answers "no adjustment" until it has ``min_resolved`` signals or
``min_trades`` closed trades behind it.

Adaptive thresholds and predictive alerts (``core.thresholds``): the traded signal's accuracy is
sampled at every closed trade, each called model's latency p95 and error rate every 5 minutes of
market time — events both a backtest and its every-candle twin see, so they agree. Each metric's
warning threshold adapts to its own history; a least-squares trend predicting a breach within
24 h queues a ``health.alert`` (status ``PREDICTED``, score = hours to the breach; ``BREACHED``
once a sample is past it; ``CLEARED`` only after several samples back inside it by a margin —
:func:`~quantum_trader.core.thresholds.next_alert`), which the exit manager answers by tightening
open stops once per episode (a breach predicted within 4 h, or reached).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sortedcontainers import SortedList

from quantum_trader.bus.messages import HealthAlert, PositionClosed
from quantum_trader.core.benchmark import performance_score
from quantum_trader.core.calibration import exit_adaptation, performance_factor
from quantum_trader.core.sorted_window import Recent
from quantum_trader.core.thresholds import (
    Alert,
    AlertState,
    Forecast,
    Threshold,
    adapt,
    forecast,
    next_alert,
)
from quantum_trader.core.types import Side

WEEK_MS = 7 * 86_400_000
STOP_REASONS = frozenset({"stop_loss", "stop_internal", "liquidation"})
SAMPLE_MS = 300_000  # latency and errors: one sample per 5 minutes of market time
CALLS = 200  # the calls behind a model's latency p95 and error rate
FORECAST_N = 20  # the samples a forecast's trend is fitted to
#: the starting warning thresholds: the SPEC score's first penalty tier of each metric
START = {"accuracy": (False, 0.5), "latency_p95_ms": (True, 500.0), "error_rate": (True, 0.2)}


@dataclass(slots=True)
class Watch:
    """One metric of one model: its samples, its adaptive threshold, the latest forecast."""

    threshold: Threshold
    values: Recent = field(default_factory=lambda: Recent(500))
    recent: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=FORECAST_N))
    last: Forecast | None = None
    alert: Alert = field(default_factory=Alert)


@dataclass(frozen=True, slots=True)
class _Call:
    symbol: str
    model: str
    side: Side
    price: float
    due_ts: int


class _ModelStats:
    """A model's resolved outcomes in the window and its last 200 calls, with running counts
    (integers, so each rate is the same division as counting the deque)."""

    __slots__ = ("outcomes", "correct", "calls", "errors", "_ok_ms")

    def __init__(self) -> None:
        self.outcomes: deque[tuple[int, bool]] = deque()  # (resolved at, correct)
        self.correct = 0
        self.calls: deque[tuple[float, bool]] = deque()  # (latency ms, ok), the last CALLS
        self.errors = 0
        self._ok_ms = SortedList()  # the latencies of the ok calls among them

    def resolved(self, ts: int, ok: bool) -> None:
        self.outcomes.append((ts, ok))
        self.correct += ok

    def expire(self, edge: int) -> None:
        while self.outcomes and self.outcomes[0][0] < edge:
            self.correct -= self.outcomes.popleft()[1]

    def called(self, latency_ms: float, ok: bool) -> None:
        if len(self.calls) == CALLS:
            old_ms, old_ok = self.calls.popleft()
            self._forget(old_ms, old_ok)
        self.calls.append((latency_ms, ok))
        if ok:
            self._ok_ms.add(latency_ms)
        else:
            self.errors += 1

    def _forget(self, latency_ms: float, ok: bool) -> None:
        if ok:
            self._ok_ms.remove(latency_ms)
        else:
            self.errors -= 1

    def accuracy(self) -> float | None:
        return self.correct / len(self.outcomes) if self.outcomes else None

    def p95_ms(self) -> float | None:
        lat = self._ok_ms
        return float(lat[int(0.95 * (len(lat) - 1))]) if lat else None

    def error_rate(self) -> float | None:
        return self.errors / len(self.calls) if self.calls else None


class PerformanceBenchmarker:
    def __init__(
        self, window_ms: int = WEEK_MS, min_resolved: int = 50, min_trades: int = 20
    ) -> None:
        self.window_ms, self.min_resolved, self.min_trades = window_ms, min_resolved, min_trades
        self.models: dict[str, _ModelStats] = defaultdict(_ModelStats)
        self._pending: deque[_Call] = deque()
        self._exits: deque[tuple[int, int, bool]] = deque()  # (closed at, legs hit, by the stop)
        self._exit_counts = [0, 0, 0, 0]  # of them: reached TP1, TP2, TP3; closed by the stop
        self.now_ms = 0
        #: the traded signal's record of resolved signals: the calibrator's (one record for both,
        #: which a backtest answers from its precomputed timeline on the bars it skips)
        self.traded: Callable[[], tuple[float | None, int]] | None = None
        self.traded_model = ""
        self.watches: dict[tuple[str, str], Watch] = {}
        self.alerts: list[HealthAlert] = []  # queued for the bus (``take_alerts``)
        self._next_sample = 0

    # ------------------------------------------------------------------ measuring
    def call(self, model: str, latency_ms: float, ok: bool) -> None:
        self.models[model].called(latency_ms, ok)
        if self.now_ms >= self._next_sample and self.now_ms > 0:
            self._next_sample = self.now_ms + SAMPLE_MS
            for name, s in self.models.items():
                for metric, value in (
                    ("latency_p95_ms", s.p95_ms()),
                    ("error_rate", s.error_rate()),
                ):
                    if value is not None and s.calls:
                        self.sample(name, metric, value, self.now_ms)

    def sample(self, model: str, metric: str, value: float, ts: int) -> None:
        """One sample: the threshold adapts, the trend is fitted, a change of forecast alerts."""
        above, start = START[metric]
        w = self.watches.setdefault((model, metric), Watch(Threshold(metric, above, start)))
        w.recent.append((ts, value))
        w.values.append(value)
        w.threshold = adapt(w.threshold, w.values.window())
        w.last = forecast(list(w.recent), w.threshold, n=FORECAST_N)
        before, w.alert = w.alert.state, next_alert(w.alert, value, w.threshold, w.last)
        if w.alert.state is before:
            return
        module, th, state = f"performance.{model}.{metric}", w.threshold.value, w.alert.state
        if state is AlertState.PREDICTED and w.last is not None and w.last.eta_h is not None:
            eta = w.last.eta_h
            text = (
                f"{metric} {value:.4g} trending {w.last.slope_per_h:+.3g}/h (R² {w.last.r2:.2f}) "
                f"toward its warning threshold {th:.4g}: breach predicted in {eta:.1f} h"
            )
            self.alerts.append(HealthAlert(module, "PREDICTED", round(eta, 2), text, ts))
        elif state is AlertState.BREACHED:
            text = f"{metric} {value:.4g} is past its warning threshold {th:.4g}"
            self.alerts.append(HealthAlert(module, "BREACHED", 0.0, text, ts))
        else:
            text = f"{metric} {value:.4g} back inside its warning threshold {th:.4g}"
            self.alerts.append(HealthAlert(module, "CLEARED", 0.0, text, ts))

    def take_alerts(self) -> list[HealthAlert]:
        alerts, self.alerts = self.alerts, []
        return alerts

    def track(self, symbol: str, model: str, side: Side, price: float, due_ts: int) -> None:
        self._pending.append(_Call(symbol, model, side, price, due_ts))

    def resolve(self, symbol: str, price: float, ts: int) -> None:
        """Settle this symbol's calls whose horizon has passed, at ``price``."""
        self.now_ms = max(self.now_ms, ts)
        keep: deque[_Call] = deque()
        for c in self._pending:
            if c.symbol == symbol and c.due_ts <= ts:
                self.models[c.model].resolved(ts, (price - c.price) * c.side.sign > 0)
            else:
                keep.append(c)
        self._pending = keep
        self._expire()

    def closed(self, trade: PositionClosed) -> None:
        self.now_ms = max(self.now_ms, trade.closed_ts)
        exit_ = (trade.closed_ts, trade.legs_hit, trade.exit_reason in STOP_REASONS)
        self._exits.append(exit_)
        self._count_exit(exit_, 1)
        self._expire()
        accuracy, resolved = self.accuracy(self.traded_model)
        if accuracy is not None and resolved >= self.min_resolved:
            self.sample(self.traded_model, "accuracy", accuracy, trade.closed_ts)

    def _expire(self) -> None:
        edge = self.now_ms - self.window_ms
        for stats in self.models.values():
            stats.expire(edge)
        while self._exits and self._exits[0][0] < edge:
            self._count_exit(self._exits.popleft(), -1)

    def _count_exit(self, exit_: tuple[int, int, bool], step: int) -> None:
        _, legs, stop = exit_
        for j, reached in enumerate((legs >= 1, legs >= 2, legs >= 3, stop)):
            self._exit_counts[j] += step * reached

    # ------------------------------------------------------------------ reading
    def accuracy(self, model: str) -> tuple[float | None, int]:
        if model == self.traded_model and self.traded is not None:
            return self.traded()
        s = self.models[model]
        return s.accuracy(), len(s.outcomes)

    def score(self, model: str) -> float:
        s = self.models[model]
        return performance_score(self.accuracy(model)[0], s.p95_ms(), s.error_rate())

    def exit_rates(self) -> dict[str, float] | None:
        if not self._exits:
            return None
        n, (tp1, tp2, tp3, sl) = len(self._exits), self._exit_counts
        return {"tp1": tp1 / n, "tp2": tp2 / n, "tp3": tp3 / n, "sl": sl / n}

    def sizing_factor(self, model: str) -> float:
        """Performance-weighted sizing for a signal from ``model`` (1.0 until measured)."""
        accuracy, resolved = self.accuracy(model)
        if resolved < self.min_resolved:
            return 1.0
        return performance_factor(accuracy, self.score(model))

    def exit_scales(self, health: float | None) -> tuple[float, float]:
        """(tp_scale, sl_scale): the TP1 hit rate once ``min_trades`` closed, and the health."""
        rates = self.exit_rates()
        enough = rates is not None and len(self._exits) >= self.min_trades
        return exit_adaptation(rates["tp1"] if enough and rates else None, health)

    def snapshot(self) -> dict[str, object]:
        models = {
            name: {
                "accuracy": None if (a := self.accuracy(name)[0]) is None else round(a, 4),
                "resolved": self.accuracy(name)[1],
                "latency_p95_ms": None if (p := s.p95_ms()) is None else round(p, 2),
                "error_rate": None if (e := s.error_rate()) is None else round(e, 4),
                "score": self.score(name),
                "sizing_factor": self.sizing_factor(name),
            }
            for name, s in sorted(self.models.items())
        }
        rates = self.exit_rates()
        watches = {
            f"{model}.{metric}": {
                "threshold": round(w.threshold.value, 4),
                "samples": len(w.values),
                "trend_per_h": None if w.last is None else round(w.last.slope_per_h, 6),
                "r2": None if w.last is None else round(w.last.r2, 3),
                "breach_in_h": None if w.last is None or w.last.eta_h is None
                else round(w.last.eta_h, 2),
                "alert": str(w.alert.state),
            }
            for (model, metric), w in sorted(self.watches.items())
        }  # fmt: skip
        return {
            "window_days": self.window_ms / 86_400_000,
            "models": models,
            "thresholds": watches,
            "exits": {
                "trades": len(self._exits),
                **({k: round(v, 4) for k, v in rates.items()} if rates else {}),
            },
        }
