"""The RL sizer's interface. Until the policy lands, the SPEC §7 fallback formula decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from quantum_trader.bus.messages import PnlExperience
from quantum_trader.core.sizing import fallback_multiplier


@dataclass(frozen=True, slots=True)
class SizerChoice:
    """A multiplier and who chose it: ``policy`` (drawn around the policy's mean, ``logp`` its
    log-probability), ``fixed`` or ``fallback`` — and, when the scoreboard has benched the
    policy, which baseline stood in (``fixed (policy benched)``)."""

    multiplier: float
    source: str
    logp: float | None = None


class Sizer(Protocol):
    name: str

    def choose(self, state: tuple[float, ...]) -> SizerChoice:
        """state = (confidence, volatility, pnl_trend, divergence, funding_rate, margin_util)."""
        ...

    async def learn(self, experience: PnlExperience) -> None: ...

    def snapshot(self) -> dict[str, object]: ...


class FixedSizer:
    """Always 1.0×: the baseline an evaluation compares the RL sizer with."""

    name = "fixed"

    def choose(self, state: tuple[float, ...]) -> SizerChoice:
        return SizerChoice(1.0, "fixed")

    async def learn(self, experience: PnlExperience) -> None:
        return None

    def snapshot(self) -> dict[str, object]:
        return {"policy": self.name, "version": "fixed", "trades_processed": 0}


class FallbackSizer:
    name = "fallback"

    def __init__(self, reason: str = "rl.enabled is false") -> None:
        self.experiences = 0
        self.reason = reason
        self.decisions = 0

    def choose(self, state: tuple[float, ...]) -> SizerChoice:
        conf, vol, trend, div, _funding, _util = state
        self.decisions += 1
        return SizerChoice(fallback_multiplier(conf, trend, vol, div), "fallback")

    def multiplier(self, state: tuple[float, ...]) -> float:
        return self.choose(state).multiplier

    async def learn(self, experience: PnlExperience) -> None:
        self.experiences += 1  # the fallback formula has nothing to learn

    def snapshot(self) -> dict[str, object]:
        torch_missing = self.reason.startswith("torch unavailable")
        return {
            "policy": self.name,
            "version": "fallback",
            "reason": self.reason,
            "trades_processed": self.experiences,
            "policy_updates": 0,
            "mean_reward": 0.0,
            "torch_available": not torch_missing,
            "fallback_count": self.decisions,
        }
