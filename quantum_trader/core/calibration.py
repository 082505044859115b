"""Confidence calibration and the performance adaptations that read it (SPEC §8).

Binned (the default), per signal source: the raw confidence falls in one of six bins (below 0.5,
then 0.5–0.6 … 0.9–1.0). Once its bin holds ≥ ``min_bin`` resolved signals,

    calibrated = clamp((hits_bin + prior × accuracy) / (n_bin + prior), 0.05, 0.95)

— the bin's own hit rate, shrunk toward the source's pooled accuracy by ``prior`` pseudo-signals.
Why binned with shrinkage, not isotonic or Platt: both assume accuracy rises with the raw
confidence, and on the real files it does not (on BTC 1m it falls); a bin has no shape to assume,
and the shrinkage keeps a bin of 30 signals from promising what its noise says (the filter picks
the highest estimates, so an unshrunk bin's luck is exactly what gets traded).

The coarse rule (the seed's) is the fallback while a bin is short of data:
with ≥ 20 resolved signals:  factor = clamp(accuracy / raw, 0.5, 1.5)   (1 when raw < 0.5)
                             calibrated = clamp(raw × (0.7 × factor + 0.3), 0.1, 0.95)
with fewer: the raw confidence is returned unchanged (there is nothing to calibrate against).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from quantum_trader.core.checks import clamp, in_range
from quantum_trader.core.errors import InvalidInput

MIN_RESOLVED = 20
BIN_EDGES = (0.5, 0.6, 0.7, 0.8, 0.9)  # bin k holds raw in [edge k-1, edge k); 0: below 0.5
N_BINS = len(BIN_EDGES) + 1
MIN_BIN = 30
PRIOR = 100.0


@dataclass(frozen=True, slots=True)
class Calibration:
    raw: float
    calibrated: float
    factor: float
    accuracy: float | None
    resolved: int
    applied: bool
    method: str = "coarse"  # "binned" (a bin with data), "coarse" (the fallback), "raw"


def calibrate_confidence(
    raw: float, accuracy: float | None, resolved: int, min_resolved: int = MIN_RESOLVED
) -> Calibration:
    """Scale a model's raw confidence by how often its source was actually right."""
    conf = in_range("raw_confidence", raw, 0.0, 1.0)
    if resolved < 0:
        raise InvalidInput("resolved", f"must be >= 0, got {resolved}")
    if accuracy is None or resolved < min_resolved:
        return Calibration(conf, conf, 1.0, accuracy, resolved, False, "raw")
    acc = in_range("accuracy", accuracy, 0.0, 1.0)
    factor = 1.0 if conf < 0.5 else clamp(acc / conf, 0.5, 1.5)
    calibrated = clamp(conf * (0.7 * factor + 0.3), 0.1, 0.95)
    return Calibration(conf, calibrated, factor, acc, resolved, True)


def confidence_bin(raw: float) -> int:
    return bisect_right(BIN_EDGES, raw)


def calibrate_binned(
    raw: float,
    bin_hits: int,
    bin_n: int,
    accuracy: float | None,
    resolved: int,
    min_resolved: int = MIN_RESOLVED,
    min_bin: int = MIN_BIN,
    prior: float = PRIOR,
) -> Calibration:
    """The bin's shrunk hit rate once it has ``min_bin`` resolved signals; else the coarse rule."""
    if bin_n < min_bin or accuracy is None or resolved < min_resolved:
        return calibrate_confidence(raw, accuracy, resolved, min_resolved)
    conf = in_range("raw_confidence", raw, 0.0, 1.0)
    acc = in_range("accuracy", accuracy, 0.0, 1.0)
    if not 0 <= bin_hits <= bin_n:
        raise InvalidInput("bin_hits", f"must be within 0..{bin_n}, got {bin_hits}")
    calibrated = clamp((bin_hits + prior * acc) / (bin_n + prior), 0.05, 0.95)
    factor = calibrated / conf if conf > 0 else 1.0
    return Calibration(conf, calibrated, factor, acc, resolved, True, "binned")


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
