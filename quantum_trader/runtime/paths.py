"""Where the daemon keeps its state — light enough for every command to import."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """``QT_STATE_DIR``, else systemd's ``$STATE_DIRECTORY``, else ``~/.local/state/qtrader``."""
    raw = os.environ.get("QT_STATE_DIR") or os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    path = Path(raw) if raw else Path.home() / ".local" / "state" / "qtrader"
    path.mkdir(parents=True, exist_ok=True)
    return path
