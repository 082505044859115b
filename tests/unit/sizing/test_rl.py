"""The RL sizer: reward, policy shape and numpy parity, checkpoints (also corrupt ones), learning on
the synthetic market (the acceptance bar), learning from closed trades, restarts, fallbacks."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from quantum_trader.bus.messages import PnlExperience
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.rl_reward import sizing_reward, zscore
from quantum_trader.core.sizing import fallback_multiplier
from quantum_trader.settings import Settings
from quantum_trader.sizing import checkpoint
from quantum_trader.sizing.factory import make_sizer
from quantum_trader.sizing.market import SizingMarket
from quantum_trader.sizing.numpy_policy import NumpyPolicy
from quantum_trader.sizing.policy import SizerPolicy, numpy_policy
from quantum_trader.sizing.rl_sizer import CHECKPOINT, EXPERIENCES, RLConfig, RLSizer
from quantum_trader.sizing.sizer import FallbackSizer

STATE = (0.8, 1.2, 0.3, 0.01, 0.0001, 0.2)


def test_reward_formula() -> None:
    # 0.2 roe × 1.5 size × 0.8 conf − 0.005 × |10 − 13| − 0.002 × 0.01 + 0.003 × sign(0.3)
    r = sizing_reward(0.2, 1.5, 0.8, 10, 13, 0.01, 0.3)
    assert r == pytest.approx(0.24 - 0.015 - 0.00002 + 0.003)
    assert sizing_reward(-0.1, 1.0, 0.5, 5, 5, 0.0, -0.2) == pytest.approx(-0.05 - 0.003)
    assert sizing_reward(0.0, 1.0, 0.5, 5, 5, 0.0, 0.0) == 0.0
    with pytest.raises(InvalidInput, match="roe"):
        sizing_reward(math.nan, 1.0, 0.5, 5, 5, 0.0, 0.0)
    assert zscore([1.0, 3.0]) == [-1.0, 1.0] and zscore([2.0, 2.0]) == [0.0, 0.0]


def test_policy_range_and_numpy_parity() -> None:
    torch.manual_seed(3)
    policy = SizerPolicy()
    states = SizingMarket(1).states(500)
    with torch.no_grad():
        out = policy(torch.tensor(states, dtype=torch.float32)).double().numpy()
    assert out.min() >= 0.5 and out.max() <= 1.5
    np.testing.assert_allclose(numpy_policy(policy)(states), out, atol=1e-6)


def test_shipped_fresh_weights_are_torchs_seed_0_initialisation() -> None:
    fresh = NumpyPolicy.fresh()
    torch_policy = numpy_policy(SizerPolicy(0))
    for (w1, b1), (w2, b2) in zip(fresh.layers, torch_policy.layers, strict=True):
        assert np.array_equal(w1, w2) and np.array_equal(b1, b2)
    assert np.array_equal(fresh.mean, torch_policy.mean)


def test_a_fresh_sizer_decides_without_importing_torch(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from quantum_trader.sizing.rl_sizer import RLSizer;"
        f"m = RLSizer(Path({str(tmp_path)!r})).multiplier((0.8, 1.2, 0.3, 0.01, 0.0001, 0.2));"
        "print(0.5 <= m <= 1.5, 'torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["True", "False"]


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    policy = SizerPolicy(seed=5)
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    checkpoint.save(tmp_path / "c.pt", policy, opt.state_dict(), checkpoint.Counters(7, 700, 0.012))
    fresh = SizerPolicy()
    loaded = checkpoint.load(tmp_path / "c.pt", fresh)
    assert loaded.error is None and loaded.counters == checkpoint.Counters(7, 700, 0.012)
    assert loaded.counters.version == "v3.7"
    assert loaded.optimizer_state is not None and "param_groups" in loaded.optimizer_state
    for a, b in zip(policy.state_dict().values(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp file left behind


def test_optimizers_are_built_on_first_update_with_the_saved_state(tmp_path: Path) -> None:
    first = RLSizer(tmp_path)
    first.train_synthetic(2, seed=1)
    restarted = RLSizer(tmp_path)
    assert restarted.trainer().optimizer is None  # nothing built at start (it costs a second)
    optimizer, _ = restarted.trainer().optimizers()
    first_optimizer = first.trainer().optimizer
    assert first_optimizer is not None
    saved = first_optimizer.state_dict()["state"][0]["step"]
    assert optimizer.state_dict()["state"][0]["step"] == saved  # Adam's moments carried over


def _corrupt_truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt_shapes(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["weights"]["net.0.weight"] = torch.zeros(3, 3)
    torch.save(payload, path)


def _corrupt_random(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


@pytest.mark.parametrize("damage", [_corrupt_truncated, _corrupt_shapes, _corrupt_random])
def test_corrupt_checkpoint_gives_a_fresh_policy_and_keeps_the_file(
    tmp_path: Path, damage: object
) -> None:
    trained = RLSizer(tmp_path)
    trained.train_synthetic(2, seed=1)
    damage(tmp_path / CHECKPOINT)  # type: ignore[operator]
    sizer = RLSizer(tmp_path)
    assert sizer.checkpoint_error is not None
    assert sizer.counters.version == "v3.0"
    kept = [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(kept) == 1, "the bad file is kept aside, not deleted"
    assert 0.5 <= sizer.multiplier(STATE) <= 1.5
    assert sizer.snapshot()["checkpoint_error"] == sizer.checkpoint_error


def test_learning_beats_constant_sizing_and_tracks_the_optimum(tmp_path: Path) -> None:
    """Acceptance: after 30,000 seeded synthetic trades, on held-out states, the policy's mean
    reward beats constant 1.0× sizing by ≥ 20 % and its multiplier correlates ≥ 0.8 with the
    known optimum."""
    sizer = RLSizer(tmp_path)
    before = sizer.evaluate()
    sizer.train_synthetic(300, seed=0)
    after = sizer.evaluate()
    assert after.improvement >= 0.20, after
    assert after.correlation >= 0.80, after
    assert after.improvement > before.improvement + 0.2  # it learned; it did not start there
    assert sizer.counters.version == "v3.300"


def _experience(i: int, roe: float = 0.1) -> PnlExperience:
    return PnlExperience(f"i{i}", STATE, 1.0, 10, roe, 0.8, 1_704_067_200_000 + i, 10)


async def test_learns_from_closed_trades_and_survives_a_restart(tmp_path: Path) -> None:
    sizer = RLSizer(tmp_path, RLConfig(retrain_every=5))
    for i in range(12):
        await sizer.learn(_experience(i, roe=0.1 if i % 2 else -0.05))
    assert sizer.counters.policy_updates == 2 and sizer.counters.trades_processed == 12
    assert sizer.counters.version == "v3.2"
    assert (tmp_path / CHECKPOINT).exists()
    lines = (tmp_path / EXPERIENCES).read_text().splitlines()
    assert len(lines) == 12
    restarted = RLSizer(tmp_path, RLConfig(retrain_every=5))
    assert restarted.counters.version == "v3.2"
    assert len(restarted.buffer) == 12  # experiences since the last update are not lost
    with (tmp_path / EXPERIENCES).open("a") as f:
        f.write("{not json\n")
    again = RLSizer(tmp_path)
    assert len(again.buffer) == 12 and again.log.skipped == 1


async def test_low_rewards_trigger_an_update(tmp_path: Path) -> None:
    sizer = RLSizer(tmp_path, RLConfig(retrain_every=1_000))
    for i in range(50):
        await sizer.learn(
            PnlExperience(
                f"i{i}",
                (0.8, 1.2, 0.0, 0.0, 0.0, 0.2),
                1.0,
                10,
                0.0001,
                0.8,
                1_704_067_200_000 + i,
                10,
            )
        )
    assert sizer.counters.policy_updates == 1  # mean |reward| of the last 50 < 0.001


def test_a_failing_policy_falls_back_to_the_formula(tmp_path: Path) -> None:
    sizer = RLSizer(tmp_path)

    sizer.numpy = lambda _states: np.array([math.nan])  # type: ignore[assignment]
    assert sizer.multiplier(STATE) == fallback_multiplier(0.8, 0.3, 1.2, 0.01)
    assert sizer.multiplier((math.nan, 1.0, 0.0, 0.0, 0.0, 0.0)) == fallback_multiplier(
        0.0, 0.0, 1.0, 0.0
    )
    assert sizer.snapshot()["fallback_count"] == 2


def test_without_torch_the_factory_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m.startswith("quantum_trader.sizing.rl_sizer")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch → ImportError
    sizer = make_sizer(Settings(), tmp_path)
    assert isinstance(sizer, FallbackSizer)
    snap = sizer.snapshot()
    assert snap["torch_available"] is False and "torch unavailable" in str(snap["reason"])


def test_disabled_rl_uses_the_formula(tmp_path: Path) -> None:
    sizer = make_sizer(Settings(rl={"enabled": False}), tmp_path)
    assert isinstance(sizer, FallbackSizer)
    assert sizer.multiplier(STATE) == fallback_multiplier(0.8, 0.3, 1.2, 0.01)
