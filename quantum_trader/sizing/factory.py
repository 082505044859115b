"""Choose the sizer: the torch policy when it is enabled and importable, else the fallback."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from loguru import logger

from quantum_trader.settings import Settings
from quantum_trader.sizing.sizer import FallbackSizer, Sizer


def torch_available() -> bool:
    """Whether torch can be imported — asked without importing it (that costs a second)."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def make_sizer(settings: Settings, state_dir: Path) -> Sizer:
    """The RL sizer (its updates train in a worker thread and are awaited where they happen, so
    the event loop stays free and every replay of the same candles sizes the same way), or the
    SPEC's fallback formula when RL is off or torch is missing."""
    rl = settings.rl
    if not rl.enabled:
        return FallbackSizer()
    if not torch_available():
        logger.bind(component="rl").error("torch unavailable: fallback sizing formula")
        return FallbackSizer(reason="torch unavailable")
    from quantum_trader.sizing.rl_sizer import RLConfig, RLSizer

    return RLSizer(
        state_dir,
        RLConfig(
            rl.retrain_every,
            rl.buffer,
            rl.learning_rate,
            rl.exploration_sigma,
            rl.epochs,
            seed=rl.seed,
            decision_sigma=rl.decision_sigma,
        ),
    )
