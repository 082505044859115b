"""The sizer's torch-free pieces: file names, counters, experiences, the Gaussian log-density.
Importing this module never imports torch."""

from __future__ import annotations

import math
from dataclasses import dataclass

CHECKPOINT = "rl_sizer.pt"
EXPERIENCES = "rl_experiences.jsonl"
LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True, slots=True)
class Counters:
    policy_updates: int = 0
    trades_processed: int = 0
    avg_reward: float = 0.0

    @property
    def version(self) -> str:
        return f"v3.{self.policy_updates}"


@dataclass(frozen=True, slots=True)
class Experience:
    state: tuple[float, ...]
    action: float
    reward: float
    logp: float  # log π_old(action | state) when it was taken
    #: the spread of the Gaussian the action was drawn from; 0: it was not drawn (the mean
    #: action), so it has no probability and teaches the policy nothing (the baseline still fits it)
    sigma: float = 0.25


@dataclass(frozen=True, slots=True)
class UpdateStats:
    n: int
    loss: float
    seconds: float
    mean_reward: float


def gaussian_logp(mean: float, action: float, sigma: float) -> float:
    """log N(action; mean, sigma) — the behaviour log-probability an experience keeps."""
    return -((action - mean) ** 2) / (2 * sigma**2) - math.log(sigma) - LOG_SQRT_2PI
