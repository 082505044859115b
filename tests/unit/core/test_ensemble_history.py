"""Ensemble and history: windowed indicators give bit-identical values on a window and on the whole
series; the incremental ATR equals the array ATR; consensus rules."""

from __future__ import annotations

import numpy as np
import pytest

from quantum_trader.core.ensemble import (
    WARMUP,
    call_at,
    consensus_of,
    ensemble_series,
    rsi,
    sma,
)
from quantum_trader.core.features import atr_pct, volatility, wilder_atr
from quantum_trader.core.history import SymbolHistory
from quantum_trader.core.types import Candle, Consensus
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticMarket

T = 1_704_067_200_000


def _market(n: int) -> tuple[np.ndarray, ...]:
    m = SyntheticMarket(("BTC/USDT:USDT",), seed=11, drift=TREND_DRIFT)
    rows = [m.next_candle("BTC/USDT:USDT", T + i * 60_000)[0] for i in range(n)]
    return tuple(np.array([getattr(c, f) for c in rows]) for f in ("high", "low", "close"))


def test_consensus_rules() -> None:
    assert consensus_of(4, 0, 4) is Consensus.UNANIMOUS
    assert consensus_of(0, 3, 4) is Consensus.STRONG
    assert consensus_of(2, 2, 4) is Consensus.SPLIT
    assert consensus_of(2, 0, 4) is Consensus.WEAK
    assert consensus_of(2, 1, 4) is Consensus.WEAK


def test_sma_and_rsi_by_hand() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert np.isnan(sma(x, 3)[:2]).all() and sma(x, 3)[2:].tolist() == [2.0, 3.0]
    up = np.arange(1.0, 30.0)
    assert rsi(up)[-1] == 100.0
    assert rsi(np.full(30, 5.0))[-1] == 50.0


def test_window_and_full_series_are_bit_identical() -> None:
    h, lo, c = _market(600)
    ap = atr_pct(h, lo, c)
    full = ensemble_series(h, lo, c, ap)
    for end in (200, 333, 600):
        w = ensemble_series(
            h[end - 120 : end], lo[end - 120 : end], c[end - 120 : end], ap[end - 120 : end]
        )
        np.testing.assert_array_equal(w.votes[-1], full.votes[end - 1])
        np.testing.assert_array_equal(w.probs[-1], full.probs[end - 1])


def test_call_at_warm_up_and_a_call() -> None:
    h, lo, c = _market(600)
    series = ensemble_series(h, lo, c, atr_pct(h, lo, c))
    assert np.isnan(series.votes[WARMUP - 2]).any() and call_at(series, WARMUP - 2).side is None
    assert not np.isnan(series.votes[WARMUP - 1]).any()
    calls = [call_at(series, i) for i in range(WARMUP, 600)]
    made = [k for k in calls if k.side is not None]
    assert made, "a 600-bar synthetic market produces calls"
    for k in made:
        assert 0.5 * 0.85 <= k.confidence <= 1.0  # mean p ≥ 0.5, shaded by ≥ 0.85
        assert len(k.votes) == 4


def test_incremental_atr_equals_the_array_atr() -> None:
    h, lo, c = _market(400)
    hist = SymbolHistory(capacity=100, vol_window=80)
    for i in range(400):
        hist.append(
            Candle(
                T + i * 60_000,
                float(c[i - 1]) if i else float(c[0]),
                float(h[i]),
                float(lo[i]),
                float(c[i]),
                1.0,
            )
        )
    full_atr = wilder_atr(h, lo, c)
    assert hist.atr == full_atr[-1]  # bit-identical
    assert len(hist) <= 200 and hist.tail("close", 5).tolist() == c[-5:].tolist()
    assert hist.volatility() == volatility(atr_pct(h, lo, c), 80)


def test_history_rejects_out_of_order_candles() -> None:
    from quantum_trader.core.errors import InvalidInput

    hist = SymbolHistory(capacity=60, vol_window=50)
    hist.append(Candle(T, 1, 1, 1, 1, 1))
    with pytest.raises(InvalidInput, match="not after"):
        hist.append(Candle(T, 1, 1, 1, 1, 1))


def test_restore_equals_the_incremental_history() -> None:
    from quantum_trader.core.features import true_range

    h, lo, c = _market(500)
    o = np.concatenate([[c[0]], c[:-1]])
    ts = np.array([T + i * 60_000 for i in range(500)], dtype=np.float64)
    atr = wilder_atr(h, lo, c)
    arrays = {
        "ts": ts,
        "open": o,
        "high": h,
        "low": lo,
        "close": c,
        "volume": np.ones(500),
        "atr": atr,
        "atr_pct": atr / c,
    }
    for n in (10, 14, 100, 333, 500):
        live = SymbolHistory(capacity=100, vol_window=80)
        for i in range(n):
            live.append(
                Candle(int(ts[i]), float(o[i]), float(h[i]), float(lo[i]), float(c[i]), 1.0)
            )
        restored = SymbolHistory(capacity=100, vol_window=80)
        restored.restore(arrays, n, true_range(h, lo, c))
        assert restored.count == live.count and restored.last_ts == live.last_ts
        for col in ("close", "atr", "atr_pct", "high"):
            np.testing.assert_array_equal(restored.tail(col, 100), live.tail(col, 100))
        if n >= 20:
            assert restored.volatility() == live.volatility()
            assert restored.regime() is live.regime()
        # and both carry on identically
        nxt = Candle(
            int(ts[n - 1]) + 60_000,
            float(c[n - 1]),
            float(c[n - 1]) + 5,
            float(c[n - 1]) - 5,
            float(c[n - 1]) + 1,
            1.0,
        )
        live.append(nxt)
        restored.append(nxt)
        np.testing.assert_equal(restored.atr, live.atr)  # NaN-aware


@pytest.mark.parametrize("steps", [(5, 3, 40), (13, 1, 1, 200), (90, 7, 150, 3), (250, 250)])
def test_extend_equals_appending_each_candle(steps: tuple[int, ...]) -> None:
    """Issue 14: the backtest catches a history up over a short stretch inside a position by
    extending it from the arrays — the same history as appending each candle (the ATR seed,
    the compaction of the buffer and the volatility window included)."""
    from quantum_trader.core.features import true_range

    h, lo, c = _market(500)
    o = np.concatenate([[c[0]], c[:-1]])
    ts = np.array([T + i * 60_000 for i in range(500)], dtype=np.float64)
    atr = wilder_atr(h, lo, c)
    arrays = {"ts": ts, "open": o, "high": h, "low": lo, "close": c, "volume": np.ones(500),
              "atr": atr, "atr_pct": atr / c}  # fmt: skip
    live = SymbolHistory(capacity=100, vol_window=80)
    extended = SymbolHistory(capacity=100, vol_window=80)
    n = 0
    for step in steps:
        for i in range(n, n + step):
            live.append(
                Candle(int(ts[i]), float(o[i]), float(h[i]), float(lo[i]), float(c[i]), 1.0)
            )
        n += step
        extended.extend(arrays, n, true_range(h, lo, c))
        assert extended.count == live.count == n and extended.last_ts == live.last_ts
        for col in ("close", "atr", "atr_pct", "high", "ts"):
            np.testing.assert_array_equal(extended.tail(col, 100), live.tail(col, 100))
        np.testing.assert_equal(extended.atr, live.atr)
        if n >= 20:
            assert extended.volatility() == live.volatility()
            assert extended.regime() is live.regime()
        assert extended._vol.window().tolist() == live._vol.window().tolist()
