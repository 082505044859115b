"""Crash points for the process-level crash tests: ``QT_CRASH_AT=<name>`` makes the daemon SIGKILL
itself when it reaches that point (a real ``kill -9``: no handler, no flush, no cleanup). Unset,
a crash point costs one string comparison."""

from __future__ import annotations

import os
import signal
import sys

CRASH_AT = os.environ.get("QT_CRASH_AT", "")


def crashpoint(name: str) -> None:
    if CRASH_AT and name == CRASH_AT:
        sys.stderr.write(f"QT_CRASH_AT={name}: SIGKILL now\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
