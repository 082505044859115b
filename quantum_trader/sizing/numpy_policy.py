"""The sizing policy's forward pass in numpy (float64) — how the sizer decides, in the daemon and
in backtests alike; torch is only needed to train. Equal to the torch forward pass within 1e-6
(tested). A fresh seed-0 policy's weights ship with the package (``fresh_seed0.npz``; a test
checks they are exactly torch's seeded initialisation), so deciding never imports torch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
FRESH = Path(__file__).with_name("fresh_seed0.npz")
LAYERS = ("net.0", "net.2", "net.4")


@dataclass(frozen=True)
class NumpyPolicy:
    mean: F64
    std: F64
    layers: tuple[tuple[F64, F64], ...]

    @staticmethod
    def from_arrays(weights: Mapping[str, npt.NDArray[np.floating]]) -> NumpyPolicy:
        """From a policy's state dict as numpy arrays (``state_mean``, ``net.0.weight``, …)."""
        f = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
        layers = tuple((f[f"{n}.weight"], f[f"{n}.bias"]) for n in LAYERS)
        return NumpyPolicy(f["state_mean"], f["state_std"], layers)

    @staticmethod
    def fresh() -> NumpyPolicy:
        with np.load(FRESH) as data:
            return NumpyPolicy.from_arrays({k: data[k] for k in data.files})

    def __call__(self, states: npt.ArrayLike) -> F64:
        x = (np.atleast_2d(np.asarray(states, dtype=np.float64)) - self.mean) / self.std
        for k, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if k < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        out: F64 = 0.5 + 1.0 / (1.0 + np.exp(-x[:, 0]))
        return out
