"""One daemon per state directory: a second one sharing the journal would trade the same account
with a book that does not know the other's orders. An ``flock`` on ``qtrader.lock`` is held for
the daemon's life (released by the kernel when the process dies, ``kill -9`` included)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = "qtrader.lock"


class StateDirLocked(Exception):
    """Another process holds the state directory."""


def lock_state_dir(directory: Path) -> IO[str]:
    """Hold the lock (keep the returned file open); :class:`StateDirLocked` if it is taken."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = (directory / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StateDirLocked(
            f"another qtrader (pid {holder}) is running on the state directory {directory}: "
            "stop it, or give this one its own QT_STATE_DIR"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
