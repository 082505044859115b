"""Sizer checkpoints: weights, optimizer state, counters and version, written atomically (temp
file + fsync + rename). A missing, truncated, foreign or mis-shaped file is reported, moved aside
(kept, never deleted) and never crashes the daemon."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from loguru import logger

from quantum_trader.sizing.policy import SizerPolicy
from quantum_trader.sizing.state import Counters

log = logger.bind(component="rl")
FORMAT = "qtrader-sizer-v3"


def save(
    path: Path, policy: SizerPolicy, optimizer_state: dict[str, Any], counters: Counters
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    payload = {
        "format": FORMAT,
        "version": counters.version,
        "weights": policy.state_dict(),
        "optimizer": optimizer_state,
        "policy_updates": counters.policy_updates,
        "trades_processed": counters.trades_processed,
        "avg_reward": counters.avg_reward,
        "saved_at": time.time(),
    }
    with tmp.open("wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class CheckpointError(Exception):
    pass


def _read(path: Path) -> dict[str, Any]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise CheckpointError(f"unreadable ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError("not a qtrader sizer checkpoint")
    return payload


@dataclass(frozen=True, slots=True)
class Loaded:
    counters: Counters
    optimizer_state: dict[str, Any] | None  # applied when the first update builds the optimizer
    error: str | None  # why the file was unusable (it was kept aside; a fresh policy is in use)


def load(path: Path, policy: SizerPolicy, fresh_seed: int = 0) -> Loaded:
    """Load the weights into ``policy``; hand back the counters and the optimizer state. The
    optimizer itself is built only when an update needs it (building one costs a second)."""
    if not path.exists():
        return Loaded(Counters(), None, None)
    try:
        payload = _read(path)
        policy.load_state_dict(payload["weights"])
        state = payload["optimizer"]
        if not isinstance(state, dict):
            raise TypeError("optimizer state is not a mapping")
        counters = Counters(
            int(payload["policy_updates"]),
            int(payload["trades_processed"]),
            float(payload["avg_reward"]),
        )
    except (CheckpointError, KeyError, RuntimeError, ValueError, TypeError) as exc:
        reason = (
            str(exc)
            if isinstance(exc, CheckpointError)
            else f"incompatible ({type(exc).__name__}: {str(exc)[:200]})"
        )
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        os.replace(path, aside)
        log.error(
            "RL checkpoint {} {}: kept as {}; starting from a fresh policy",
            path,
            reason,
            aside.name,
        )
        policy.load_state_dict(SizerPolicy(fresh_seed).state_dict())
        return Loaded(Counters(), None, reason)
    log.info(
        "RL checkpoint {} loaded: {} ({} trades processed)",
        path,
        counters.version,
        counters.trades_processed,
    )
    return Loaded(counters, state, None)
