"""Adaptive thresholds and predictive alerts (SPEC §8): exact numbers."""

from __future__ import annotations

import pytest

from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.thresholds import HOUR_MS, Threshold, adapt, forecast

LATENCY = Threshold("latency_p95_ms", above=True, value=500.0)
ACCURACY = Threshold("accuracy", above=False, value=0.5)


def test_a_threshold_waits_for_a_hundred_samples_then_drifts_a_tenth_of_the_way() -> None:
    assert adapt(LATENCY, [100.0] * 99) == LATENCY
    samples = [100.0, 300.0] * 50  # mean 200, σ 100
    assert adapt(LATENCY, samples).value == pytest.approx(500 + 0.1 * (400 - 500))  # 490
    low = adapt(ACCURACY, [0.6, 0.8] * 50)  # mean 0.7, σ 0.1 → target 0.6
    assert low.value == pytest.approx(0.5 + 0.1 * (0.6 - 0.5))  # 0.51
    with pytest.raises(InvalidInput):
        adapt(LATENCY, samples, rate=0.0)
    with pytest.raises(InvalidInput):
        adapt(LATENCY, [float("nan")] * 100)


def line(start: float, per_h: float, n: int = 20, noise: float = 0.0) -> list[tuple[int, float]]:
    return [(k * HOUR_MS, start + per_h * k + (noise if k % 2 else -noise)) for k in range(n)]


def test_a_clean_downward_trend_predicts_the_accuracy_breach() -> None:
    # 0.70 falling 0.005 an hour: at the last sample (19 h) 0.605, the 0.5 line in 21 h
    f = forecast(line(0.70, -0.005), ACCURACY)
    assert f is not None
    assert f.slope_per_h == pytest.approx(-0.005) and f.r2 == pytest.approx(1.0)
    assert f.eta_h == pytest.approx((0.605 - 0.5) / 0.005)  # 21 h, inside 24 h


def test_no_prediction_when_too_far_too_noisy_the_wrong_way_or_too_few() -> None:
    assert forecast(line(0.70, -0.005)[:19], ACCURACY) is None  # 19 samples
    far = forecast(line(0.80, -0.005), ACCURACY)  # 0.705 now: 41 h away
    assert far is not None and far.eta_h is None
    noisy = forecast(line(0.70, -0.005, noise=0.05), ACCURACY)
    assert noisy is not None and noisy.r2 < 0.7 and noisy.eta_h is None
    rising = forecast(line(0.55, 0.005), ACCURACY)
    assert rising is not None and rising.eta_h is None
    flat = forecast(line(0.6, 0.0), ACCURACY)
    assert flat is not None and (flat.r2, flat.eta_h) == (0.0, None)


def test_a_line_already_past_the_threshold_is_a_breach_now() -> None:
    f = forecast(line(600.0, 10.0), LATENCY)  # 790 ms now, rising
    assert f is not None and f.eta_h == 0.0
