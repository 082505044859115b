"""The sizing policy (SPEC §7): input normalisation inside the network, MLP 6→64→64→1, ReLU,
sigmoid, multiplier = 0.5 + output ∈ [0.5, 1.5]. Trading uses the mean action; training samples a
Gaussian around it. :class:`NumpyPolicy` repeats the forward pass without torch (backtests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

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


@dataclass(frozen=True)
class NumpyPolicy:
    """The same forward pass in numpy, from a policy's weights (float64 math)."""

    mean: npt.NDArray[np.float64]
    std: npt.NDArray[np.float64]
    layers: tuple[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]], ...]

    @staticmethod
    def from_policy(policy: SizerPolicy) -> NumpyPolicy:
        sd = {
            k: v.detach().cpu().numpy().astype(np.float64) for k, v in policy.state_dict().items()
        }
        layers = tuple((sd[f"net.{i}.weight"], sd[f"net.{i}.bias"]) for i in (0, 2, 4))
        return NumpyPolicy(sd["state_mean"], sd["state_std"], layers)

    def __call__(self, states: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x = (np.atleast_2d(states) - self.mean) / self.std
        for k, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if k < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        out: npt.NDArray[np.float64] = 0.5 + 1.0 / (1.0 + np.exp(-x[:, 0]))
        return out
