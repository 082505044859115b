"""Choose the sizer: the torch policy when it is enabled and importable, else the fallback."""

from __future__ import annotations

from pathlib import Path

from loguru import logger

from quantum_trader.settings import Settings
from quantum_trader.sizing.sizer import FallbackSizer, Sizer


def make_sizer(settings: Settings, state_dir: Path, offload: bool = True) -> Sizer:
    """``offload``: train in a worker thread (live). In simulated time updates run inline so every
    replay of the same candles sizes the same way."""
    rl = settings.rl
    if not rl.enabled:
        return FallbackSizer()
    try:
        from quantum_trader.sizing.rl_sizer import RLConfig, RLSizer
    except ImportError as exc:
        logger.bind(component="rl").error("torch unavailable ({}): fallback sizing formula", exc)
        return FallbackSizer(reason=f"torch unavailable: {exc}")
    return RLSizer(
        state_dir,
        RLConfig(
            rl.retrain_every,
            rl.buffer,
            rl.learning_rate,
            rl.exploration_sigma,
            rl.epochs,
            offload=offload,
            seed=rl.seed,
        ),
    )
