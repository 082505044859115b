"""Learning for the sizer: a contextual-bandit policy gradient that is correct for a continuous
action.

The behaviour policy is a Gaussian N(μ(s), σ) around the mean multiplier; an experience keeps the
log-probability its action had when it was taken. Rewards are z-scored; a state-value baseline
V(s) (a small MLP fitted to them by least squares) is subtracted, because most of a reward's spread
comes from the state a trade was in, not from the size chosen. An update then maximises the clipped
importance-weighted objective min(ρ·A, clip(ρ, 1 ± ε)·A), ρ = π_new(a|s) / π_old(a|s),
A = z(r) − V(s), for a few epochs (Adam).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from quantum_trader.core.rl_reward import zscore
from quantum_trader.sizing.adam import Adam
from quantum_trader.sizing.policy import STATE_MEAN, STATE_STD, SizerPolicy
from quantum_trader.sizing.state import Experience, UpdateStats

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
#: Adam's ε: a gradient far below it (float noise: an action at the mean carries none) makes a
#: step far below the learning rate, instead of Adam's full-size step in a random direction
ADAM_EPS = 1e-4
MAX_GRAD_NORM = 1.0


class ValueBaseline(nn.Module):
    """V(s): the expected z-scored reward of a state, whatever the size."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.register_buffer("state_mean", torch.tensor(STATE_MEAN, dtype=torch.float32))
        self.register_buffer("state_std", torch.tensor(STATE_STD, dtype=torch.float32))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1)
            self.net = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        mean = cast(torch.Tensor, self.state_mean)
        std = cast(torch.Tensor, self.state_std)
        out: torch.Tensor = self.net((state - mean) / std).squeeze(-1)
        return out


def gaussian_logp(
    mean: torch.Tensor, action: torch.Tensor, sigma: torch.Tensor | float
) -> torch.Tensor:
    s = torch.as_tensor(sigma, dtype=torch.float32)
    return -((action - mean) ** 2) / (2 * s**2) - torch.log(s) - LOG_SQRT_2PI


def _step(optimizer: Adam, loss: torch.Tensor, module: nn.Module) -> None:
    optimizer.zero_grad()
    loss.backward()  # type: ignore[no-untyped-call]
    torch.nn.utils.clip_grad_norm_(module.parameters(), MAX_GRAD_NORM)
    optimizer.step()


class Learner:
    def __init__(
        self, sigma: float = 0.25, lr: float = 1e-3, epochs: int = 10, clip: float = 0.2
    ) -> None:
        self.sigma, self.lr, self.epochs, self.clip = sigma, lr, epochs, clip

    def update(
        self,
        policy: SizerPolicy,
        optimizer: Adam,
        batch: Sequence[Experience],
        baseline: ValueBaseline,
        baseline_optimizer: Adam,
    ) -> UpdateStats:
        started = time.perf_counter()
        states = torch.tensor([e.state for e in batch], dtype=torch.float32)
        actions = torch.tensor([e.action for e in batch], dtype=torch.float32)
        old_logp = torch.tensor([e.logp for e in batch], dtype=torch.float32)
        sigmas = torch.tensor([e.sigma for e in batch], dtype=torch.float32)
        rewards = [e.reward for e in batch]
        z = torch.tensor(zscore(rewards), dtype=torch.float32)
        for _ in range(self.epochs):
            _step(baseline_optimizer, ((baseline(states) - z) ** 2).mean(), baseline)
        with torch.no_grad():
            advantage = z - baseline(states)
            advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
        loss = torch.tensor(0.0)
        drawn = sigmas > 0  # only actions drawn from a known Gaussian have a probability
        policy.train()
        for _ in range(self.epochs if bool(drawn.any()) else 0):
            logp = gaussian_logp(policy(states[drawn]), actions[drawn], sigmas[drawn])
            ratio = torch.exp(logp - old_logp[drawn])
            clipped = torch.clamp(ratio, 1 - self.clip, 1 + self.clip)
            adv = advantage[drawn]
            loss = -torch.min(ratio * adv, clipped * adv).mean()
            _step(optimizer, loss, policy)
        policy.eval()
        return UpdateStats(
            len(batch),
            float(loss.detach()),
            time.perf_counter() - started,
            sum(rewards) / len(rewards),
        )
