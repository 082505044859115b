"""The RL sizer learning the way the daemon feeds it (issue 12): a decision draws the multiplier
around the policy's mean and keeps its log-probability; the closed trade's experience carries it,
so updates are importance-corrected. Without exploration an update must not move the policy
(the gradient is float noise, and Adam used to turn it into full-size steps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from quantum_trader.bus.messages import PnlExperience
from quantum_trader.sizing.market import SizingMarket
from quantum_trader.sizing.rl_sizer import RLConfig, RLSizer


async def trade(sizer: RLSizer, market: SizingMarket, n: int) -> list[float]:
    """``n`` decisions and closes on the sizing market; the held-out improvement after each update."""
    seen, curve = sizer.counters.policy_updates, []
    for k, s in enumerate(market.states(n)):
        state = tuple(float(x) for x in s)
        m = sizer.multiplier(state)
        roe = float(market.roe(s[None, :], np.array([m]))[0])
        exp = PnlExperience(f"t{k}", state, m, 10, roe, state[0], k, 10, sizer.last_logp)
        await sizer.learn(exp)
        if sizer.counters.policy_updates != seen:
            seen = sizer.counters.policy_updates
            curve.append(sizer.evaluate().improvement)
    return curve


async def test_trading_explores_and_learns_without_blowing_up(tmp_path: Path) -> None:
    sizer = RLSizer(tmp_path, RLConfig(retrain_every=100))
    before = sizer.evaluate().improvement
    curve = await trade(sizer, SizingMarket(3), 3_000)
    assert len(curve) == 30
    assert min(curve) > before - 0.05, curve  # no update makes it much worse
    assert curve[-1] > before + 0.1, (before, curve)  # it learned from its own trades


async def test_without_exploration_an_update_leaves_the_policy_where_it_was(tmp_path: Path) -> None:
    sizer = RLSizer(tmp_path, RLConfig(retrain_every=100, decision_sigma=0.0))
    held_out = SizingMarket(99).states(500)
    start = sizer.numpy(held_out)
    await trade(sizer, SizingMarket(3), 500)
    assert sizer.counters.policy_updates == 5
    moved = float(np.abs(sizer.numpy(held_out) - start).max())
    assert moved < 0.01, moved  # the mean action carries no gradient: nothing to learn
