"""Adaptive warning thresholds and predictive alerts (SPEC §8), pure.

A threshold warns above (latency p95, error rate) or below (accuracy) its value. Once a metric has
``min_samples`` samples, each new sample moves the value a ``rate`` of the way toward the
metric's own mean + 2σ (above) or mean − σ (below):  value += rate × (target − value).

A forecast fits a least-squares line to the last ``n`` samples (value against hours). When the fit
explains the samples (R² > ``min_r2``) and the line reaches the threshold in the breaching
direction within ``horizon_h`` hours of the last sample, the breach is predicted ``eta_h`` hours
ahead (0: the line is already past it).

An alert is a state machine with hysteresis (:func:`next_alert`): CLEAR → PREDICTED (a forecast
predicts a breach) → BREACHED (a sample is past the threshold) → CLEAR, the last only once
``CLEAR_SAMPLES`` samples in a row are back inside the threshold by ``CLEAR_MARGIN`` of it and no
breach is predicted — never merely because the fit weakened. An episode moves forward only
(a breached alert never steps back to predicted), so each state is announced once per episode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from quantum_trader.core.checks import finite
from quantum_trader.core.errors import InvalidInput

HOUR_MS = 3_600_000
CLEAR_MARGIN = 0.05  # back inside the threshold by 5 % of it ...
CLEAR_SAMPLES = 3  # ... for three samples in a row


@dataclass(frozen=True, slots=True)
class Threshold:
    metric: str
    above: bool  # True: a value above warns (latency, errors); False: below (accuracy)
    value: float

    def breached(self, x: float) -> bool:
        return x > self.value if self.above else x < self.value


@dataclass(frozen=True, slots=True)
class Forecast:
    slope_per_h: float
    r2: float
    eta_h: float | None  # hours until the fitted line breaches; None: no breach predicted


def adapt(
    th: Threshold,
    samples: Sequence[float] | npt.NDArray[np.float64],
    rate: float = 0.1,
    min_samples: int = 100,
) -> Threshold:
    if not 0 < rate <= 1:
        raise InvalidInput("rate", f"must be in (0, 1], got {rate}")
    if len(samples) < min_samples:
        return th
    xs = np.asarray(samples, dtype=np.float64)
    mean = float(xs.sum()) / xs.size
    if not math.isfinite(mean):  # a NaN or an infinity among them: name it
        for x in xs.tolist():
            finite("sample", x)
    dev = xs - mean
    sd = math.sqrt(float(dev @ dev) / xs.size)
    target = mean + 2 * sd if th.above else mean - sd
    return Threshold(th.metric, th.above, th.value + rate * (target - th.value))


def forecast(
    points: Sequence[tuple[int, float]],
    th: Threshold,
    n: int = 20,
    min_r2: float = 0.7,
    horizon_h: float = 24.0,
) -> Forecast | None:
    """The trend of the last ``n`` (ts ms, value) samples against ``th``; None with fewer."""
    if len(points) < n:
        return None
    pts = points[-n:]
    t0 = pts[-1][0]
    hs = [(ts - t0) / HOUR_MS for ts, _ in pts]
    vs = [v if type(v) is float else finite("sample", v) for _, v in pts]
    total = sum(vs)
    if not math.isfinite(total):  # a NaN or an infinity among them (or an overflow): name it
        for v in vs:
            finite("sample", v)
    mh, mv = sum(hs) / n, total / n
    sxx = sum((h - mh) ** 2 for h in hs)
    syy = sum((v - mv) ** 2 for v in vs)
    if sxx == 0 or syy == 0:
        return Forecast(0.0, 0.0, None)  # no time span, or a flat metric: no trend to speak of
    slope = sum((h - mh) * (v - mv) for h, v in zip(hs, vs, strict=True)) / sxx
    r2 = slope * slope * sxx / syy
    now = mv + slope * (0.0 - mh)  # the fitted value at the last sample
    toward = slope > 0 if th.above else slope < 0
    if r2 <= min_r2 or not toward:
        return Forecast(slope, r2, None)
    if th.breached(now):
        return Forecast(slope, r2, 0.0)
    eta = (th.value - now) / slope
    return Forecast(slope, r2, eta if 0 <= eta <= horizon_h else None)


class AlertState(StrEnum):
    CLEAR = "CLEAR"
    PREDICTED = "PREDICTED"
    BREACHED = "BREACHED"


@dataclass(frozen=True, slots=True)
class Alert:
    state: AlertState = AlertState.CLEAR
    inside: int = 0  # consecutive samples back inside the threshold by the margin


def well_inside(th: Threshold, x: float, margin: float = CLEAR_MARGIN) -> bool:
    """Inside the threshold by ``margin`` of its value (the hysteresis band)."""
    band = margin * abs(th.value)
    return x <= th.value - band if th.above else x >= th.value + band


def next_alert(
    alert: Alert,
    value: float,
    th: Threshold,
    fc: Forecast | None,
    margin: float = CLEAR_MARGIN,
    samples: int = CLEAR_SAMPLES,
) -> Alert:
    """The alert after one sample ``value`` with the forecast ``fc`` fitted through it."""
    if th.breached(value):
        return Alert(AlertState.BREACHED, 0)
    predicted = fc is not None and fc.eta_h is not None
    if alert.state is AlertState.CLEAR:
        return Alert(AlertState.PREDICTED, 0) if predicted else alert
    inside = alert.inside + 1 if well_inside(th, value, margin) else 0
    if inside >= samples and not predicted:
        return Alert(AlertState.CLEAR, 0)
    return Alert(alert.state, inside)
