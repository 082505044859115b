"""Simulated time is deterministic: the same candles through the whole pipeline — the RL sizer
learning and updating every 3 trades — give the same trades to the last bit."""

from __future__ import annotations

from pathlib import Path

from quantum_trader.bus.messages import PositionClosed, Topic
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed
from quantum_trader.pipeline import build_pipeline
from quantum_trader.settings import Settings
from quantum_trader.sizing.rl_sizer import RLConfig, RLSizer


async def _trades(state: Path) -> list[PositionClosed]:
    settings = Settings()
    feed = SyntheticFeed(
        settings.signals.symbols, seed=11, speed=None, warmup=300, limit=1_200, drift=TREND_DRIFT
    )
    sizer = RLSizer(state, RLConfig(retrain_every=3))
    p = build_pipeline(settings, feed, sizer=sizer)
    closed: list[PositionClosed] = []

    async def keep(event: PositionClosed) -> None:
        closed.append(event)

    p.bus.subscribe("test", Topic.POSITION_CLOSED, keep)
    p.bus.start()
    await p.feed.run()
    assert sizer.counters.policy_updates >= 2, "the policy must have changed during the run"
    return closed


async def test_two_runs_make_identical_trades(tmp_path: Path) -> None:
    first = await _trades(tmp_path / "a")
    second = await _trades(tmp_path / "b")
    assert len(first) >= 6
    assert first == second
