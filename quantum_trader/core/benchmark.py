"""SPEC §8's performance score: 100 less penalties for latency p95, directional accuracy and error
rate. Pure; the benchmarker (:mod:`quantum_trader.signals.benchmark`) measures the inputs."""

from __future__ import annotations

from collections.abc import Sequence

from quantum_trader.core.checks import in_range


def latency_penalty(p95_ms: float | None) -> float:
    if p95_ms is None:
        return 0.0
    return 30.0 if p95_ms > 500 else 20.0 if p95_ms > 200 else 10.0 if p95_ms > 100 else 0.0


def accuracy_penalty(accuracy: float | None) -> float:
    if accuracy is None:
        return 0.0
    acc = in_range("accuracy", accuracy, 0.0, 1.0)
    if acc < 0.5:
        return 40.0
    return 30.0 if acc < 0.7 else 20.0 if acc < 0.8 else 10.0 if acc < 0.9 else 0.0


def error_penalty(rate: float | None) -> float:
    if rate is None:
        return 0.0
    r = in_range("error rate", rate, 0.0, 1.0)
    return 30.0 if r > 0.2 else 20.0 if r > 0.1 else 10.0 if r > 0.05 else 0.0


def performance_score(
    accuracy: float | None, p95_ms: float | None, error_rate: float | None
) -> float:
    """Score = 100 − penalties; an input not measured yet costs nothing."""
    penalties = latency_penalty(p95_ms) + accuracy_penalty(accuracy) + error_penalty(error_rate)
    return max(0.0, 100.0 - penalties)


def attribution(trades: Sequence[tuple[Sequence[str], float]]) -> dict[str, dict[str, float]]:
    """Per model, the closed trades it voted for: {model: {trades, wins, pnl}} (USDT, net). A
    trade counts for every model that voted its way, so the rows overlap and do not add up."""
    out: dict[str, dict[str, float]] = {}
    for voters, pnl in trades:
        for model in voters:
            row = out.setdefault(model, {"trades": 0, "wins": 0, "pnl": 0.0})
            row["trades"] += 1
            row["wins"] += pnl > 0
            row["pnl"] += pnl
    return dict(sorted(out.items()))
