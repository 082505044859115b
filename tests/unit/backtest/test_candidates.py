"""The events whose signal passes the filter's consensus, side and confidence checks — found per
symbol on its decision bars — are exactly those of the filter's rule applied event by event."""

from __future__ import annotations

import numpy as np
import pytest

from quantum_trader.backtest.candidates import candidates
from quantum_trader.backtest.precompute import CONSENSUS, Timeline, timeline
from quantum_trader.feeds.loader import CandleSeries
from quantum_trader.params import filter_params
from quantum_trader.settings import Settings

MIN = 60_000


def _series(symbol: str, start: int, n: int, step: int, seed: int) -> CandleSeries:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.003, n)))
    ts = (start + step * np.arange(n)).astype(np.int64)
    return CandleSeries(symbol, step, ts, close.copy(), close * 1.002, close * 0.998, close,
                        rng.lognormal(0.0, 0.5, n))  # fmt: skip


def _per_event(tl: Timeline, settings: Settings) -> np.ndarray:
    """The rule event by event: every event's signal side, consensus and ATR % laid out."""
    fp = filter_params(settings)
    n = tl.ev_sym.size
    side, cons = np.zeros(n, np.int8), np.full(n, CONSENSUS.index("WEAK"), np.int8)
    atr_pct = np.full(n, np.nan)
    for k, c in enumerate(tl.calls):
        at = tl.position[k][c.bars]
        side[at], cons[at], atr_pct[at] = c.side, c.consensus, c.atr_pct
    entered = {"both": (1, -1), "long": (1,), "short": (-1,)}[settings.signals.sides]
    if settings.signals.force_confidence:
        return np.isin(side, entered)
    allowed = np.isin(cons, [CONSENSUS.index(str(x)) for x in fp.allowed_consensus])
    with np.errstate(invalid="ignore"):
        needed = np.where(
            atr_pct > fp.high_vol_atr_pct, fp.high_vol_min_confidence, fp.min_confidence
        )
    return np.isin(side, entered) & allowed & (tl.calibrated >= needed)


@pytest.mark.parametrize(
    "signals",
    [
        {},
        {"sides": "long", "min_confidence": 0.3, "high_vol_min_confidence": 0.5},
        {"sides": "short", "allowed_consensus": ["UNANIMOUS", "STRONG", "SPLIT", "WEAK"]},
        {"force_confidence": 0.95},
        {"min_confidence": 0.0, "high_vol_min_confidence": 0.0, "high_vol_atr_pct": 0.0005},
    ],
)
def test_candidates_equal_the_rule_event_by_event(signals: dict[str, object]) -> None:
    parts = [
        _series("A/USDT:USDT", 0, 3_000, MIN, 1),
        _series("B/USDT:USDT", 7 * MIN, 2_500, MIN, 2),
        _series("C/USDT:USDT", 0, 700, 5 * MIN, 3),
    ]
    settings = Settings(signals=signals)
    tl = timeline(parts, min_resolved=20, keep=200)
    flags, of = candidates(tl, filter_params(settings), settings.signals.force_confidence)
    expected = _per_event(tl, settings)
    assert expected.any()  # the case has candidates to find
    assert np.array_equal(flags, expected)
    for k in range(len(parts)):
        assert np.array_equal(of[k], np.flatnonzero(expected & (tl.ev_sym == k)))
