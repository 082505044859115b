"""The sizing policy (SPEC §7): input normalisation inside the network, MLP 6→64→64→1, ReLU,
sigmoid, multiplier = 0.5 + output ∈ [0.5, 1.5]. Trading uses the mean action; training samples a
Gaussian around it. Decisions run the same forward pass in numpy (:mod:`numpy_policy`)."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from quantum_trader.sizing.numpy_policy import NumpyPolicy

# Typical centre and spread of each state input (confidence, volatility, pnl_trend, divergence,
# funding, margin_util): the input layer standardises with these fixed buffers.
STATE_MEAN = (0.75, 1.0, 0.0, 0.01, 0.0, 0.3)
STATE_STD = (0.15, 0.6, 0.5, 0.02, 0.0005, 0.2)


class SizerPolicy(nn.Module):
    def __init__(self, seed: int = 0) -> None:
        """A fresh policy's weights come from ``seed``: two runs start identical."""
        super().__init__()
        self.register_buffer("state_mean", torch.tensor(STATE_MEAN, dtype=torch.float32))
        self.register_buffer("state_std", torch.tensor(STATE_STD, dtype=torch.float32))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = nn.Sequential(
                nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1)
            )

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """Mean multiplier in [0.5, 1.5] for a batch of states, shape (n, 6) → (n,)."""
        mean = cast(torch.Tensor, self.state_mean)
        std = cast(torch.Tensor, self.state_std)
        x = (state - mean) / std
        return 0.5 + torch.sigmoid(self.net(x)).squeeze(-1)


def numpy_policy(policy: SizerPolicy) -> NumpyPolicy:
    """The torch policy's weights as the numpy forward pass the sizer decides with."""
    return NumpyPolicy.from_arrays(
        {k: v.detach().cpu().numpy() for k, v in policy.state_dict().items()}
    )
