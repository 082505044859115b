"""Issue 14: the skip-ahead backtest steps over bars inside positions too — to the next bar that
touches an order, fires an exit rule or pays funding — and still makes exactly the trades, the
per-bar equity and the risk trips of delivering every candle: across TP legs and the stop's
ratchet, trailing, internal TP legs, the time stop, the loss guard, funding, gaps, risk limits
and two symbols held at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from quantum_trader.backtest.runner import BacktestRun, run_backtest
from quantum_trader.feeds.loader import CandleSeries, load_candles, load_funding
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticMarket
from quantum_trader.settings import Settings

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
XRP = DATA / "XRPUSDT-PERP-5m-2021-11.csv"
XRP_FUNDING = DATA / "XRPUSDT-PERP-funding-8h-2021-11.csv"
needs_data = pytest.mark.skipif(not XRP.exists(), reason="../shared/data is not beside")
TRADED = {"signals": {"force_confidence": 0.9}, "edge": {"mode": "off"}}


def _gapped(tmp: Path, bars: int = 5_000, every: int = 61, seed: int = 5) -> list[CandleSeries]:
    """Two overlapping synthetic 1m markets; every ``every``-th candle opens 0.4 % away from the
    previous close (a gap the engine walks from the close to the open)."""
    market = SyntheticMarket(("ETH/USDT:USDT", "SOL/USDT:USDT"), seed=seed, drift=TREND_DRIFT)
    out = []
    for n, symbol in enumerate(market.symbols):
        path = tmp / f"{symbol.split('/')[0]}USDT-1m.csv"
        rows = ["timestamp_ms,open,high,low,close,volume"]
        for i in range(bars):
            c, _ = market.next_candle(symbol, 1_704_067_200_000 + i * 60_000)
            o, h, lo = c.open, c.high, c.low
            if i % every == every - 1:
                o = c.open * (1.004 if (i // every + n) % 2 else 0.996)
                h, lo = max(h, o), min(lo, o)
            rows.append(f"{c.ts},{o!r},{h!r},{lo!r},{c.close!r},{c.volume!r}")
        path.write_text("\n".join(rows) + "\n")
        out.append(load_candles(path))
    return out


def _both(
    settings: Settings, series: list[CandleSeries], tmp: Path, funding: dict[str, Any] | None = None
) -> tuple[BacktestRun, BacktestRun]:
    runs = []
    for fast in (False, True):
        state = tmp / ("fast" if fast else "full")
        state.mkdir()
        runs.append(asyncio.run(run_backtest(settings, series, funding or {}, state, fast=fast)))
    return runs[0], runs[1]


def _same(full: BacktestRun, fast: BacktestRun, at_least: int) -> Counter[str]:
    assert len(full.recorder.trades) >= at_least
    assert fast.recorder.trades == full.recorder.trades
    assert fast.recorder.equity == full.recorder.equity
    assert fast.recorder.ts == full.recorder.ts
    assert fast.recorder.exposed == full.recorder.exposed
    assert fast.recorder.trips == full.recorder.trips
    assert fast.recorder.max_margin_util == full.recorder.max_margin_util
    assert fast.pipeline.strategy.risk.trips == full.pipeline.strategy.risk.trips
    exposed = sum(full.recorder.exposed)
    assert fast.skipped_held > exposed // 2, (fast.skipped_held, exposed)  # most held bars
    assert full.skipped == 0
    return Counter(t.exit_reason for t in full.recorder.trades)


def test_legs_ratchet_and_trailing_across_gaps(tmp_path: Path) -> None:
    settings = Settings(**TRADED)
    reasons = _same(*_both(settings, _gapped(tmp_path), tmp_path), at_least=40)
    assert reasons["trailing"] + reasons["stop_to_tp1"] + reasons["breakeven"] > 0, reasons
    assert reasons["tp3"] > 0, reasons


def test_a_set_trailing_distance(tmp_path: Path) -> None:
    settings = Settings(**TRADED, exits={"trail_distance": 0.002})
    reasons = _same(*_both(settings, _gapped(tmp_path), tmp_path), at_least=40)
    assert reasons["trailing"] > 0, reasons


def test_internal_tp_legs_and_the_time_stop(tmp_path: Path) -> None:
    settings = Settings(**TRADED, exits={"tp_mode": "internal", "time_stop_minutes": 90})
    reasons = _same(*_both(settings, _gapped(tmp_path), tmp_path), at_least=40)
    assert reasons["time_stop"] > 0 and reasons["tp3"] > 0, reasons


def test_the_loss_guard(tmp_path: Path) -> None:
    settings = Settings(**TRADED, exits={"loss_guard_roe": -0.08})
    reasons = _same(*_both(settings, _gapped(tmp_path), tmp_path), at_least=40)
    assert reasons["loss_guard"] > 0, reasons


def test_risk_limits_tripping_while_held(tmp_path: Path) -> None:
    """A tight daily limit that flattens and a tight breaker: the trips fall on bars inside
    positions, found by the risk guard's advance and delivered."""
    risk = {"daily_loss_limit": 0.004, "circuit_breaker_drawdown": 0.003, "on_limit": "flatten"}
    settings = Settings(**TRADED, risk=risk)
    full, fast = _both(settings, _gapped(tmp_path), tmp_path)
    _same(full, fast, at_least=10)
    kinds = Counter(t.kind.value for t in full.recorder.trips)
    assert kinds["daily_loss"] > 0 and kinds["circuit_breaker"] > 0, kinds


@needs_data
def test_funding_paid_while_held(tmp_path: Path) -> None:
    funding = {"XRP/USDT:USDT": load_funding(XRP_FUNDING)}
    settings = Settings(**TRADED)
    full, fast = _both(settings, [load_candles(XRP)], tmp_path, funding)
    _same(full, fast, at_least=30)
    assert sum(1 for t in fast.recorder.trades if t.funding != 0) >= 5
