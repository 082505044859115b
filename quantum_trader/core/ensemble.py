"""The built-in ensemble "AI engine" (SPEC §3): four independent models vote LONG/SHORT/FLAT with a
probability; consensus and confidence come from the votes. (Any set of models — user models too —
is combined the same way: :mod:`core.models`.)

Every indicator is *windowed* (the value at bar i reads only bars i−n+1..i, each window reduced on
its own), so a rolling window in the daemon and the whole series in a backtest give bit-identical
numbers. Series functions return one value per bar (NaN during warm-up).

- trend:          SMA(20) vs SMA(50) of closes; vote beyond ±0.1 %; p = 0.5 + min(0.45, |gap|×25)
- momentum:       14-bar rate of change in ATR units; vote beyond ±0.5; p = 0.5 + 0.45·tanh(|z|/2)
- breakout:       close beyond the prior 20-bar high/low (Donchian); p by the overshoot in ATR
- mean reversion: Cutler RSI(14): < 30 → LONG, > 70 → SHORT; p grows with the distance past it
Consensus of N models: UNANIMOUS (all agree), STRONG (≥ ¾ agree), SPLIT (longs = shorts), else WEAK.
Confidence = mean p of the agreeing models × (0.85 + 0.15 × agreeing / N).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from quantum_trader.core.types import Consensus, ModelVote, Side, Vote

F64 = npt.NDArray[np.float64]
MODELS = ("trend", "momentum", "breakout", "mean_reversion")
WARMUP = 50  # bars needed before every model can speak (SMA50)


def sma(x: F64, n: int) -> F64:
    out = np.full(x.size, np.nan)
    if x.size >= n:
        out[n - 1 :] = sliding_window_view(x, n).mean(axis=1)
    return out


def _shift(x: F64, k: int) -> F64:
    out = np.full(x.size, np.nan)
    if x.size > k:
        out[k:] = x[:-k]
    return out


def trend_model(close: F64) -> tuple[F64, F64]:
    gap = sma(close, 20) / sma(close, 50) - 1.0
    vote = np.where(gap > 0.001, 1.0, np.where(gap < -0.001, -1.0, 0.0))
    return np.where(np.isnan(gap), np.nan, vote), 0.5 + np.minimum(0.45, np.abs(gap) * 25)


def momentum_model(close: F64, atr_pct: F64) -> tuple[F64, F64]:
    roc = close / _shift(close, 14) - 1.0
    z = roc / (atr_pct * np.sqrt(14.0))
    vote = np.where(z > 0.5, 1.0, np.where(z < -0.5, -1.0, 0.0))
    return np.where(np.isnan(z), np.nan, vote), 0.5 + 0.45 * np.tanh(np.abs(z) / 2)


def breakout_model(high: F64, low: F64, close: F64, atr_pct: F64) -> tuple[F64, F64]:
    hi = np.full(close.size, np.nan)
    lo = np.full(close.size, np.nan)
    if close.size > 20:
        hi[20:] = sliding_window_view(high, 20).max(axis=1)[:-1]
        lo[20:] = sliding_window_view(low, 20).min(axis=1)[:-1]
    up, down = close > hi, close < lo
    over = np.where(up, close / hi - 1.0, np.where(down, 1.0 - close / lo, 0.0)) / atr_pct
    vote = np.where(up, 1.0, np.where(down, -1.0, 0.0))
    return np.where(np.isnan(hi), np.nan, vote), 0.55 + 0.4 * np.tanh(np.abs(over))


def rsi(close: F64, n: int = 14) -> F64:
    diff = np.diff(close, prepend=np.nan)
    gain = sma(np.where(diff > 0, diff, 0.0), n)
    loss = sma(np.where(diff < 0, -diff, 0.0), n)
    gain[:n], loss[:n] = np.nan, np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        rs = gain / loss
    return np.where(loss == 0, np.where(gain == 0, 50.0, 100.0), 100.0 - 100.0 / (1.0 + rs))


def mean_reversion_model(close: F64) -> tuple[F64, F64]:
    r = rsi(close)
    vote = np.where(r < 30, 1.0, np.where(r > 70, -1.0, 0.0))
    dist = np.where(r < 30, 30 - r, np.where(r > 70, r - 70, 0.0))
    return np.where(np.isnan(r), np.nan, vote), 0.5 + 0.45 * np.tanh(dist / 10)


@dataclass(frozen=True, slots=True)
class EnsembleSeries:
    """Votes (+1/−1/0, NaN in warm-up) and probabilities per model, one column per model. Votes
    are float32 (each of those values exactly; half the memory of a year of calls)."""

    votes: npt.NDArray[np.float32]  # shape (bars, models)
    probs: F64
    names: tuple[str, ...] = MODELS
    warmup: int = WARMUP  # bars before every model can speak


def ensemble_series(high: F64, low: F64, close: F64, atr_pct: F64) -> EnsembleSeries:
    def parts() -> Iterator[tuple[F64, F64]]:  # one model at a time
        yield trend_model(close)
        yield momentum_model(close, atr_pct)
        yield breakout_model(high, low, close, atr_pct)
        yield mean_reversion_model(close)

    return EnsembleSeries(*call_columns(parts(), close.size, len(MODELS)))


def call_columns(
    parts: Iterable[tuple[F64, F64]], bars: int, models: int
) -> tuple[npt.NDArray[np.float32], F64]:
    """Each model's (votes, probabilities) copied into its column as it is computed — votes as
    float32 — so only one model's arrays exist beside the two tables (a year of ten symbols'
    calls stacked from a list of all of them held twice the probabilities at once)."""
    votes = np.empty((bars, models), dtype=np.float32)
    probs = np.empty((bars, models))
    for m, (v, p) in enumerate(parts):
        if np.shape(v) != (bars,) or np.shape(p) != (bars,):
            raise ValueError(
                f"model {m}: votes {np.shape(v)} and probabilities {np.shape(p)}, "
                f"expected ({bars},) each"
            )
        votes[:, m], probs[:, m] = v, p
    return votes, probs


@dataclass(frozen=True, slots=True)
class EnsembleCall:
    side: Side | None
    confidence: float
    consensus: Consensus
    votes: tuple[ModelVote, ...]


def consensus_of(n_long: int, n_short: int, n: int) -> Consensus:
    agree = max(n_long, n_short)
    if agree == n:
        return Consensus.UNANIMOUS
    if agree * 4 >= 3 * n:
        return Consensus.STRONG
    if n_long == n_short:
        return Consensus.SPLIT
    return Consensus.WEAK


def call_at(series: EnsembleSeries, i: int) -> EnsembleCall:
    """The ensemble's call at bar ``i`` (no call during warm-up or when longs and shorts tie)."""
    votes = series.votes[i].tolist()
    if any(math.isnan(v) for v in votes):
        return EnsembleCall(None, 0.0, Consensus.WEAK, ())
    n_long = sum(1 for v in votes if v > 0)
    n_short = sum(1 for v in votes if v < 0)
    consensus = consensus_of(n_long, n_short, len(votes))
    if n_long == n_short:
        return EnsembleCall(None, 0.0, consensus, ())
    side = Side.LONG if n_long > n_short else Side.SHORT
    probs = [float(min(1.0, max(0.0, p))) for p in series.probs[i].tolist()]
    mv = tuple(
        ModelVote(name, Vote.LONG if v > 0 else Vote.SHORT if v < 0 else Vote.FLAT, p)
        for name, v, p in zip(series.names, votes, probs, strict=True)
    )
    agreeing = [p for v, p in zip(votes, probs, strict=True) if v * side.sign > 0]
    confidence = sum(agreeing) / len(agreeing) * (0.85 + 0.15 * len(agreeing) / len(mv))
    return EnsembleCall(side, float(confidence), consensus, mv)
