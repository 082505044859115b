"""The RL position sizer: a policy that sizes every trade and learns from every closed one.

- ``multiplier(state)``: drawn from N(μ(s), ``decision_sigma``) around the policy's mean action,
  clipped to 0.5–1.5 (bounded exploration; a seeded generator, so a replay sizes the same), with
  its log-probability kept in ``last_logp`` for the trade's experience — an update is then an
  importance-corrected step on what was really tried. ``decision_sigma = 0`` trades the mean.
  Computed in numpy — torch is imported only to load a checkpoint or to train. Any failure or
  non-finite output → the SPEC §7 fallback formula, logged and counted.
- ``learn(experience)``: the reward of SPEC §7 (sized ROE) → the replay buffer (1,000) and the
  experience log. An update runs every ``retrain_every`` closed trades, or when the mean |reward| of
  the last 50 falls below 0.001; it trains a copy in a worker thread (the event loop keeps going),
  swaps it in, and writes the checkpoint atomically.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from loguru import logger

from quantum_trader.bus.messages import PnlExperience
from quantum_trader.core.rl_reward import check_state, sizing_reward
from quantum_trader.core.sizing import fallback_multiplier
from quantum_trader.sizing.experiences import ExperienceLog
from quantum_trader.sizing.factory import torch_available
from quantum_trader.sizing.market import SizingMarket
from quantum_trader.sizing.numpy_policy import NumpyPolicy
from quantum_trader.sizing.scoreboard import Scoreboard
from quantum_trader.sizing.sizer import SizerChoice
from quantum_trader.sizing.state import (
    CHECKPOINT,
    EXPERIENCES,
    Counters,
    Experience,
    UpdateStats,
    gaussian_logp,
)

if TYPE_CHECKING:
    from quantum_trader.sizing.policy import SizerPolicy
    from quantum_trader.sizing.trainer import Trainer

log = logger.bind(component="rl")
__all__ = ["CHECKPOINT", "EXPERIENCES", "Evaluation", "RLConfig", "RLSizer"]


@dataclass(frozen=True, slots=True)
class RLConfig:
    retrain_every: int = 100
    buffer: int = 1_000
    lr: float = 1e-3
    sigma: float = 0.25
    epochs: int = 10
    low_reward: float = 0.001
    seed: int = 0  # a fresh policy's initial weights
    decision_sigma: float = 0.1  # exploration in trading (0: the mean action)
    judge_after: int = 50  # out-of-sample trades before the policy can be benched


@dataclass(frozen=True, slots=True)
class Evaluation:
    mean_reward_policy: float
    mean_reward_constant: float
    mean_reward_optimum: float
    correlation: float

    @property
    def improvement(self) -> float:
        return self.mean_reward_policy / self.mean_reward_constant - 1.0


class RLSizer:
    name = "rl"

    def __init__(self, state_dir: Path, config: RLConfig | None = None) -> None:
        self.cfg = config or RLConfig()
        self.path = state_dir / CHECKPOINT
        self._trainer: Trainer | None = None
        self.counters, self.checkpoint_error = Counters(), None
        if self.path.exists() or self.cfg.seed != 0:
            loaded = self.trainer().load(self.path)
            self.counters, self.checkpoint_error = loaded.counters, loaded.error
            self.numpy = self.trainer().numpy()
        else:
            self.numpy = NumpyPolicy.fresh()  # equals torch's seed-0 initialisation (tested)
        self.log = ExperienceLog(state_dir / EXPERIENCES, self.cfg.buffer)
        self.buffer: deque[Experience] = deque(self.log.load(), maxlen=self.cfg.buffer)
        self.recent: deque[float] = deque(maxlen=50)
        self.since_update = 0
        self.fallbacks = 0
        self.last_update: UpdateStats | None = None
        self.update_errors = 0
        self.rng = np.random.default_rng(self.cfg.seed + 10_007)  # the decisions' exploration
        self.last_logp: float | None = None
        # out of sample: the policy vs fixed 1.0× and the formula
        self.scoreboard = Scoreboard(min_trades=self.cfg.judge_after)

    def trainer(self) -> Trainer:
        """The torch half, imported and built on first use."""
        if self._trainer is None:
            from quantum_trader.sizing.trainer import Trainer

            c = self.cfg
            self._trainer = Trainer(c.seed, c.lr, c.sigma, c.epochs)
        return self._trainer

    # ------------------------------------------------------------------ inference
    def mean_action(self, state: tuple[float, ...]) -> float:
        out = float(self.numpy(state)[0])
        if not math.isfinite(out):
            raise ValueError(f"policy output {out}")
        return out

    def multiplier(self, state: tuple[float, ...]) -> float:
        return self.choose(state).multiplier

    def choose(self, state: tuple[float, ...]) -> SizerChoice:
        """Drawn around the policy's mean — or around the better baseline's multiplier while the
        scoreboard says the policy does worse out of sample (named so in the plan)."""
        self.last_logp = None
        try:
            checked = check_state(state)
            choice = self.scoreboard.choice()
            mean = self.center(checked, choice)
            source = "policy" if choice == "policy" else f"{choice} (policy benched)"
            sigma = self.cfg.decision_sigma
            if sigma <= 0:
                return SizerChoice(mean, source)
            action = float(np.clip(mean + self.rng.normal(0.0, sigma), 0.5, 1.5))
            self.last_logp = gaussian_logp(mean, action, sigma)
            return SizerChoice(action, source, self.last_logp)
        except Exception as exc:  # noqa: BLE001 - sizing must never stop a trade decision
            self.fallbacks += 1
            log.warning(
                "policy failed ({}): fallback formula used ({} so far)", exc, self.fallbacks
            )
            safe = tuple(float(v) if math.isfinite(float(v)) else 0.0 for v in state)
            return SizerChoice(_formula(safe), "fallback (policy failed)")

    def center(self, state: tuple[float, ...], sizing: str | None = None) -> float:
        sizing = sizing or self.scoreboard.choice()
        if sizing == "fixed":
            return 1.0
        if sizing == "fallback":
            return _formula(state)
        return self.mean_action(state)

    # ------------------------------------------------------------------ learning
    def experience_of(self, e: PnlExperience) -> Experience:
        state = check_state(e.state)
        reward = sizing_reward(
            e.roe, e.action, e.confidence, e.leverage, e.target_leverage, state[3], state[2]
        )
        if e.logp is not None:  # drawn at the decision: its behaviour probability
            return Experience(state, e.action, reward, e.logp, self.cfg.decision_sigma)
        return Experience(state, e.action, reward, 0.0, 0.0)  # not drawn: no probability

    async def learn(self, e: PnlExperience) -> None:
        exp = self.experience_of(e)
        # judged before it learns from this trade: the policy had not seen it
        self.scoreboard.record(self.mean_action(exp.state), _formula(exp.state), e.roe)
        self.buffer.append(exp)
        self.log.append(exp)
        self.recent.append(exp.reward)
        self.since_update += 1
        self.counters = Counters(
            self.counters.policy_updates,
            self.counters.trades_processed + 1,
            self.counters.avg_reward,
        )
        low = (
            len(self.recent) == self.recent.maxlen
            and sum(abs(r) for r in self.recent) / len(self.recent) < self.cfg.low_reward
        )
        if self.since_update >= self.cfg.retrain_every or (low and self.since_update >= 10):
            await self.update()

    async def update(self) -> None:
        """Train a copy in a worker thread (the first use imports torch: seconds, cold), swap it
        in, checkpoint. The update is awaited where it happens — in simulated time the feed waits
        for it, so runs stay deterministic — while the event loop serves everything else."""
        batch = list(self.buffer)
        self.since_update = 0
        try:
            trainer = await asyncio.to_thread(self.trainer)
            policy, optimizer, stats = await asyncio.to_thread(trainer.train_copy, batch)
        except Exception:
            self.update_errors += 1
            log.opt(exception=True).error("policy update failed; keeping the current policy")
            return
        self._adopt(policy, optimizer, stats)
        await asyncio.to_thread(self.trainer().save, self.path, self.counters)

    def _adopt(self, policy: SizerPolicy, optimizer: Any, stats: UpdateStats) -> None:
        trainer = self.trainer()
        trainer.adopt(policy, optimizer)
        self.numpy, self.last_update = trainer.numpy(), stats
        self.counters = Counters(
            self.counters.policy_updates + 1, self.counters.trades_processed, stats.mean_reward
        )
        log.info(
            "policy {} after {} trades: {} experiences, mean reward {:+.5f}, {:.0f} ms",
            self.counters.version,
            self.counters.trades_processed,
            stats.n,
            stats.mean_reward,
            stats.seconds * 1000,
        )

    # ------------------------------------------------------------------ synthetic training
    def train_synthetic(self, episodes: int, seed: int = 0, trades: int = 100) -> None:
        """Explore on the synthetic sizing market: Gaussian noise around the mean action."""
        market = SizingMarket(seed)
        rng = np.random.default_rng(seed + 1)
        trainer = self.trainer()
        for _ in range(episodes):
            states = market.states(trades)
            mean = self.numpy(states)
            actions = np.clip(mean + rng.normal(0.0, self.cfg.sigma, trades), 0.5, 1.5)
            rewards = market.rewards(states, actions)
            for s, a, m, r in zip(states, actions, mean, rewards, strict=True):
                self.buffer.append(
                    Experience(
                        tuple(float(x) for x in s),
                        float(a),
                        float(r),
                        gaussian_logp(float(m), float(a), self.cfg.sigma),
                        self.cfg.sigma,
                    )
                )
            self.counters = Counters(
                self.counters.policy_updates,
                self.counters.trades_processed + trades,
                self.counters.avg_reward,
            )
            self._adopt(*trainer.train_copy(list(self.buffer)))
        trainer.save(self.path, self.counters)

    def evaluate(self, seed: int = 12_345, n: int = 4_000) -> Evaluation:
        """Noise-free expected rewards on held-out states: the policy vs 1.0× vs the optimum."""
        market = SizingMarket(seed)
        states = market.states(n)
        actions = self.numpy(states)
        optimum = market.optimum(states)
        return Evaluation(
            float(market.rewards(states, actions, noisy=False).mean()),
            float(market.rewards(states, np.ones(n), noisy=False).mean()),
            float(market.rewards(states, optimum, noisy=False).mean()),
            float(np.corrcoef(actions, optimum)[0, 1]),
        )

    def snapshot(self) -> dict[str, object]:
        return {
            "policy": self.name,
            "version": self.counters.version,
            "trades_processed": self.counters.trades_processed,
            "policy_updates": self.counters.policy_updates,
            "mean_reward": round(self.counters.avg_reward, 6),
            "buffer": len(self.buffer),
            "torch_available": torch_available(),
            "fallback_count": self.fallbacks,
            "update_errors": self.update_errors,
            "checkpoint_error": self.checkpoint_error,
            "last_update_ms": round(self.last_update.seconds * 1000, 1)
            if self.last_update
            else None,
            "decision_sigma": self.cfg.decision_sigma,
            "out_of_sample": self.scoreboard.snapshot(),
        }


def _formula(state: tuple[float, ...]) -> float:
    conf, vol, trend, div, _funding, _util = state
    return fallback_multiplier(conf, trend, vol, div)
