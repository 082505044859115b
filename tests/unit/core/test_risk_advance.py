"""``RiskGuard.advance`` (issue 14: the backtest steps over bars inside positions) equals one
``update`` per candle: the same state after the candles it applies, no trip among them, and the
candle it stops at is one where ``update`` trips — for the all-time peak (computed at once) and a
rolling one (one update at a time)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quantum_trader.core.risk import DAY_MS, RiskGuard


def _guard(window_ms: int, daily: float = 0.03, breaker: float = 0.05) -> RiskGuard:
    return RiskGuard(daily, breaker, 3_600_000, max_drawdown=0.09, peak_window_ms=window_ms)


def _state(g: RiskGuard) -> tuple[object, ...]:
    return (g._day, g._day_start, list(g._peaks), g._kill_day, g._breaker_until,
            g._in_breach, g.halted, len(g.trips))  # fmt: skip


moves = st.lists(st.floats(-1.0, 1.0), min_size=60, max_size=120)
steps = st.lists(st.integers(1, 6 * 3_600_000), min_size=120, max_size=120)


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.integers(0, 30),
    moves=moves,
    steps=steps,
    window_ms=st.sampled_from([0, 0, 2 * DAY_MS]),
    scale=st.sampled_from([0.002, 0.006, 0.02]),
    limits=st.sampled_from([(0.03, 0.05), (0.01, 0.05), (0.05, 0.02)]),
    crash=st.booleans(),
)
def test_advance_is_update_per_candle(
    prefix: int,
    moves: list[float],
    steps: list[int],
    window_ms: int,
    scale: float,
    limits: tuple[float, float],
    crash: bool,
) -> None:
    returns = scale * np.asarray(moves)
    if crash:  # into the breaker before the stretch, then back: the re-arm inside it
        returns[: min(3, returns.size)] = -0.03
    equity = 10_000 * np.cumprod(1 + returns)
    ts = 1_704_067_200_000 + np.cumsum(steps[: equity.size]).astype(np.int64)
    one, many = _guard(window_ms, *limits), _guard(window_ms, *limits)
    p = min(prefix, equity.size - 1)
    for g in (one, many):  # the same history before the stretch, trips and all
        for i in range(p):
            g.update(float(equity[i]), int(ts[i]))
    applied = many.advance(equity[p:], ts[p:])
    tripped_before = len(one.trips)
    for i in range(p, p + applied):
        one.update(float(equity[i]), int(ts[i]))
    assert len(one.trips) == tripped_before  # no trip among the candles applied at once
    assert _state(many) == _state(one)
    if p + applied < equity.size:  # it stopped where a limit trips
        one.update(float(equity[p + applied]), int(ts[p + applied]))
        assert len(one.trips) > tripped_before


@settings(max_examples=300, deadline=None)
@given(
    moves=st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=40),
    crash=st.booleans(),
    level=st.sampled_from([1.0, 0.999, 0.98, 0.96, 0.93, 0.9, 1.02]),
    length=st.integers(41, 400),
    step=st.sampled_from([60_000, 900_000, 3_600_000, 4 * 3_600_000]),
    limits=st.sampled_from([(0.03, 0.05), (0.01, 0.05), (0.05, 0.02)]),
)
def test_a_flat_stretch_is_update_per_candle(
    moves: list[float],
    crash: bool,
    level: float,
    length: int,
    step: int,
    limits: tuple[float, float],
) -> None:
    """Nothing open: one equity for the whole stretch (the fast path), at a level that trips on
    its first candle or never, inside a day or across many, after a history that may have left
    the breaker in breach, a day killed or the account halted."""
    returns = 0.01 * np.asarray(moves)
    if crash:
        returns[:3] = -0.04
    history = 10_000 * np.cumprod(1 + returns)
    t0 = 1_704_067_200_000 + 7 * 3_600_000
    hist_ts = t0 + np.arange(history.size, dtype=np.int64) * 600_000
    flat = np.full(length, float(history[-1]) * level)
    ts = int(hist_ts[-1]) + np.arange(1, length + 1, dtype=np.int64) * step
    one, many = _guard(0, *limits), _guard(0, *limits)
    for g in (one, many):
        for e, t in zip(history.tolist(), hist_ts.tolist(), strict=True):
            g.update(e, t)
    applied = many.advance(flat, ts)
    before = len(one.trips)
    for i in range(applied):
        one.update(float(flat[i]), int(ts[i]))
    assert len(one.trips) == before
    assert _state(many) == _state(one)
    assert applied in (0, length)  # flat: the first candle trips, or none does
    if applied == 0:
        one.update(float(flat[0]), int(ts[0]))
        assert len(one.trips) > before


def test_a_flat_stretch_moves_only_the_day() -> None:
    g = _guard(0)
    g.update(10_000.0, 0)
    ts = np.arange(1, 5) * DAY_MS // 2
    assert g.advance(np.full(4, 9_990.0), ts) == 4
    assert g.day_start == 9_990.0 and g.peak == 10_000.0 and not g.trips


def test_it_stops_before_the_daily_limit() -> None:
    g = _guard(0)
    g.update(10_000.0, 0)
    equity = np.array([9_900.0, 9_800.0, 9_690.0, 9_600.0])
    assert g.advance(equity, np.arange(1, 5, dtype=np.int64) * 60_000) == 2  # 9,690 is −3.1 %
    assert not g.trips
