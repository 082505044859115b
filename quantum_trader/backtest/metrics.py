"""Backtest metrics from the equity curve and the trades, pure.

Per-bar returns r_t = E_t / E_{t−1} − 1; Sharpe = mean(r) / std(r) × √(bars per year);
Sortino = mean(r) / √mean(min(r, 0)²) × √(bars per year); max drawdown = max(1 − E / running peak);
profit factor = gross wins / gross losses; exposure = share of bars with a position open;
TPn hit rate = share of trades whose n-th leg filled; SL hit rate = share closed by the first stop;
gap losses = trades that lost more than the planned loss at their stop (|entry − stop| × qty, the
stop fill's slippage and the fees): a gap through the stop, or a liquidation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from quantum_trader.backtest.recorder import TradeRow
from quantum_trader.core.benchmark import attribution
from quantum_trader.core.risk import RiskTrip, TripKind

YEAR_MS = 365 * 86_400_000


@dataclass(frozen=True, slots=True)
class Metrics:
    total_return: float
    max_drawdown: float
    sharpe: float
    sortino: float
    trades: int
    win_rate: float
    profit_factor: float | None
    exposure: float
    average_leverage: float
    tp1_hit_rate: float
    tp2_hit_rate: float
    tp3_hit_rate: float
    sl_hit_rate: float
    liquidations: int
    realised_pnl: float
    fees: float
    funding: float
    start_equity: float
    end_equity: float
    bars: int
    wall_seconds: float
    bars_per_second: float
    risk_trips: dict[str, int]  # per kind: daily_loss, circuit_breaker, max_drawdown
    risk_trip_times: list[tuple[str, int]]  # (kind, ts ms) in order
    gap_losses: int  # trades that lost more than their stop's planned loss (fees, slippage in)
    gap_loss_usdt: float  # what they lost beyond it
    invariant_violations: int  # book ≠ exchange after a candle (must stay 0)
    worst_trade_loss_of_equity: float  # the worst trade's loss / equity when it opened
    max_margin_util: float  # used margin / equity, the highest seen after any candle
    #: per model, the trades it voted for: {model: {trades, wins, pnl}} (rows overlap)
    model_pnl: dict[str, dict[str, float]] = field(default_factory=dict)
    #: the edge gate: decisions per action (trade/probe/shadow), shadow trades closed, and per
    #: symbol its measured edge and verdict at the end (:meth:`EdgeGate.status`)
    edge: dict[str, Any] = field(default_factory=dict)
    #: per data file: candles used, rows refused (unparsable, inconsistent, conflicting
    #: duplicates, quarantined jumps) with the first reasons, identical duplicates dropped
    data: dict[str, Any] = field(default_factory=dict)
    #: what the positions still open at the end add to equity (marked to the last close, their
    #: entry fees and funding so far in): end − start − realised
    open_pnl: float = 0.0


def drawdown(equity: Sequence[float] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    e = np.asarray(equity, dtype=np.float64)
    out: npt.NDArray[np.float64] = 1.0 - e / np.maximum.accumulate(e) if e.size else e
    return out


def max_drawdown(e: npt.NDArray[np.float64]) -> float:
    """``drawdown(e).max()`` with one temporary, not two (a ten-symbol year is 5 million bars):
    1 − x is monotone in x, so the largest drawdown is 1 − the smallest equity / peak, exactly."""
    if not e.size:
        return 0.0
    ratio = np.maximum.accumulate(e)
    np.divide(e, ratio, out=ratio)
    return float(1.0 - ratio.min())


MOMENT_BLOCK = 1 << 20


def _moments(r: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    """(mean, downside deviation, standard deviation) of the returns, overwriting them: a
    ten-symbol year is 5 million returns, and numpy's ``std`` takes a copy. The mean and the
    deviation are numpy's own to the bit (the same reductions, in place); the downside sums its
    blocks (one block, as every short run has, is ``mean(minimum(r, 0) ** 2)`` exactly)."""
    n = r.size
    if n == 0:
        return 0.0, 0.0, 0.0
    mean = np.add.reduce(r) / n
    down = 0.0
    for lo in range(0, n, MOMENT_BLOCK):
        part = np.minimum(r[lo : lo + MOMENT_BLOCK], 0.0)
        down += float(np.add.reduce(np.square(part, out=part)))
    if n == 1:
        return float(mean), math.sqrt(down / n), 0.0
    r -= mean
    np.multiply(r, r, out=r)
    return float(mean), math.sqrt(down / n), float(np.sqrt(np.add.reduce(r) / n))


def compute(
    equity: Sequence[float],
    ts: Sequence[int],
    exposed: Sequence[int],  # 0/1 per bar
    trades: Sequence[TradeRow],
    liquidations: int,
    bars: int,
    wall_seconds: float,
    trips: Sequence[RiskTrip] = (),
    invariant_violations: int = 0,
    worst_trade_loss_of_equity: float = 0.0,
    max_margin_util: float = 0.0,
    edge: dict[str, Any] | None = None,
) -> Metrics:
    e = np.asarray(equity, dtype=np.float64)
    worst = max_drawdown(e)
    r = np.divide(e[1:], e[:-1]) if e.size > 1 else np.zeros(0)
    r -= 1.0
    mean, downside, std = _moments(r)
    span = (ts[-1] - ts[0]) if len(ts) > 1 else 0
    per_year = (len(ts) - 1) * YEAR_MS / span if span > 0 else 0.0
    n = len(trades)
    wins = sum(t.pnl for t in trades if t.pnl > 0)
    losses = -sum(t.pnl for t in trades if t.pnl < 0)
    return Metrics(
        total_return=float(e[-1] / e[0] - 1.0) if e.size else 0.0,
        max_drawdown=worst,
        sharpe=mean / std * math.sqrt(per_year) if std > 0 else 0.0,
        sortino=mean / downside * math.sqrt(per_year) if downside > 0 else 0.0,
        trades=n,
        win_rate=sum(1 for t in trades if t.pnl > 0) / n if n else 0.0,
        profit_factor=wins / losses if losses > 0 else None,
        exposure=float(np.mean(exposed)) if len(exposed) else 0.0,
        average_leverage=sum(t.leverage for t in trades) / n if n else 0.0,
        tp1_hit_rate=sum(1 for t in trades if t.legs_hit >= 1) / n if n else 0.0,
        tp2_hit_rate=sum(1 for t in trades if t.legs_hit >= 2) / n if n else 0.0,
        tp3_hit_rate=sum(1 for t in trades if t.legs_hit >= 3) / n if n else 0.0,
        sl_hit_rate=sum(1 for t in trades if t.exit_reason == "stop_loss") / n if n else 0.0,
        liquidations=liquidations,
        realised_pnl=sum(t.pnl for t in trades),
        fees=sum(t.fees for t in trades),
        funding=sum(t.funding for t in trades),
        start_equity=float(e[0]) if e.size else 0.0,
        end_equity=float(e[-1]) if e.size else 0.0,
        bars=bars,
        wall_seconds=wall_seconds,
        bars_per_second=bars / wall_seconds if wall_seconds > 0 else 0.0,
        risk_trips={k.value: sum(t.kind is k for t in trips) for k in TripKind},
        risk_trip_times=[(t.kind.value, t.ts) for t in trips],
        gap_losses=sum(1 for t in trades if t.loss_beyond_stop > 0.01),
        gap_loss_usdt=sum(t.loss_beyond_stop for t in trades),
        invariant_violations=invariant_violations,
        worst_trade_loss_of_equity=worst_trade_loss_of_equity,
        max_margin_util=max_margin_util,
        model_pnl=attribution([(t.voters.split(), t.pnl) for t in trades]),
        edge=edge or {},
        open_pnl=float(e[-1] - e[0]) - sum(t.pnl for t in trades) if e.size else 0.0,
    )
