"""Confidence calibration and the performance adaptations that read it (SPEC §8).

with ≥ 20 resolved signals:  factor = clamp(accuracy / raw, 0.5, 1.5)   (1 when raw < 0.5)
                             calibrated = clamp(raw × (0.7 × factor + 0.3), 0.1, 0.95)
with fewer: the raw confidence is returned unchanged (there is nothing to calibrate against).
"""

from __future__ import annotations

from dataclasses import dataclass

from quantum_trader.core.checks import clamp, in_range
from quantum_trader.core.errors import InvalidInput

MIN_RESOLVED = 20


@dataclass(frozen=True, slots=True)
class Calibration:
    raw: float
    calibrated: float
    factor: float
    accuracy: float | None
    resolved: int
    applied: bool


def calibrate_confidence(
    raw: float, accuracy: float | None, resolved: int, min_resolved: int = MIN_RESOLVED
) -> Calibration:
    """Scale a model's raw confidence by how often its source was actually right."""
    conf = in_range("raw_confidence", raw, 0.0, 1.0)
    if resolved < 0:
        raise InvalidInput("resolved", f"must be >= 0, got {resolved}")
    if accuracy is None or resolved < min_resolved:
        return Calibration(conf, conf, 1.0, accuracy, resolved, False)
    acc = in_range("accuracy", accuracy, 0.0, 1.0)
    factor = 1.0 if conf < 0.5 else clamp(acc / conf, 0.5, 1.5)
    calibrated = clamp(conf * (0.7 * factor + 0.3), 0.1, 0.95)
    return Calibration(conf, calibrated, factor, acc, resolved, True)


def performance_factor(accuracy: float | None, score: float | None) -> float:
    """Performance-weighted sizing: accuracy ≥ 75 % ×1.2, < 60 % ×0.7; score < 50 ×0.8."""
    factor = 1.0
    if accuracy is not None:
        acc = in_range("accuracy", accuracy, 0.0, 1.0)
        factor *= 1.2 if acc >= 0.75 else 0.7 if acc < 0.60 else 1.0
    if score is not None and in_range("score", score, 0.0, 100.0) < 50.0:
        factor *= 0.8
    return factor


def exit_adaptation(tp_hit_rate: float | None, health: float | None) -> tuple[float, float]:
    """(tp_scale, sl_scale): TP hit rate > 0.8 → TPs ×1.2, < 0.5 → ×0.8; health < 70 → TPs ×0.8
    and the SL tightened to ×0.8 of its distance."""
    tp_scale, sl_scale = 1.0, 1.0
    if tp_hit_rate is not None:
        rate = in_range("tp_hit_rate", tp_hit_rate, 0.0, 1.0)
        tp_scale *= 1.2 if rate > 0.8 else 0.8 if rate < 0.5 else 1.0
    if health is not None and in_range("health", health, 0.0, 100.0) < 70.0:
        tp_scale *= 0.8
        sl_scale *= 0.8
    return tp_scale, sl_scale
