"""The torch half of the sizer: the trainable policy, the value baseline, the optimizers (built at
the first update; ``sizing/adam.py``, which imports no compiler), updates on copies, and
checkpoints. The sizer imports this module only when it must load a checkpoint or train."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from loguru import logger

from quantum_trader.sizing import checkpoint
from quantum_trader.sizing.adam import Adam
from quantum_trader.sizing.learner import ADAM_EPS, Learner, ValueBaseline
from quantum_trader.sizing.numpy_policy import NumpyPolicy
from quantum_trader.sizing.policy import SizerPolicy, numpy_policy
from quantum_trader.sizing.state import Counters, Experience, UpdateStats

log = logger.bind(component="rl")


class Trainer:
    def __init__(self, seed: int, lr: float, sigma: float, epochs: int) -> None:
        torch.set_num_threads(1)  # a 6→64→64→1 net gains nothing from threads
        self.seed, self.lr = seed, lr
        self.policy = SizerPolicy(seed)
        self.policy.eval()
        self.baseline = ValueBaseline(seed)
        self.learner = Learner(sigma, lr, epochs)
        self.optimizer: Adam | None = None
        self.baseline_optimizer: Adam | None = None
        self._optimizer_state: dict[str, Any] | None = None

    def load(self, path: Path) -> checkpoint.Loaded:
        loaded = checkpoint.load(path, self.policy, self.seed)
        self._optimizer_state = loaded.optimizer_state
        return loaded

    def numpy(self) -> NumpyPolicy:
        return numpy_policy(self.policy)

    def optimizers(self) -> tuple[Adam, Adam]:
        """Build the optimizers on first use, restoring the checkpoint's state when it fits."""
        if self.optimizer is None:
            self.optimizer = Adam(self.policy.parameters(), lr=self.lr, eps=ADAM_EPS)
            if self._optimizer_state is not None:
                try:
                    self.optimizer.load_state_dict(self._optimizer_state)
                except (KeyError, ValueError, RuntimeError, TypeError) as exc:
                    log.warning("checkpoint optimizer state unusable ({}): fresh optimizer", exc)
                self._optimizer_state = None
        if self.baseline_optimizer is None:
            self.baseline_optimizer = Adam(self.baseline.parameters(), lr=self.lr, eps=ADAM_EPS)
        return self.optimizer, self.baseline_optimizer

    def train_copy(self, batch: list[Experience]) -> tuple[SizerPolicy, Any, UpdateStats]:
        """Train copies (the live policy keeps serving); the baseline is only used here."""
        optimizer, baseline_optimizer = self.optimizers()
        policy, optimizer = copy.deepcopy((self.policy, optimizer))
        stats = self.learner.update(policy, optimizer, batch, self.baseline, baseline_optimizer)
        return policy, optimizer, stats

    def adopt(self, policy: SizerPolicy, optimizer: Any) -> None:
        self.policy, self.optimizer = policy, optimizer

    def save(self, path: Path, counters: Counters) -> None:
        state = (
            dict(self.optimizer.state_dict())
            if self.optimizer is not None
            else (self._optimizer_state or {})
        )
        checkpoint.save(path, self.policy, state, counters)
