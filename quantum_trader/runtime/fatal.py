"""A fatal exchange error (keys revoked, permissions, signature) at any moment: new entries stop at
once, the daemon shuts down leaving the exchange stops in place, and exits 78 with the reason so
systemd does not restart it into the same error (temporary errors are retried instead)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from loguru import logger

log = logger.bind(component="runtime")


class FatalLatch:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.reason = ""
        self.on_trip: list[Callable[[], None]] = []

    def trip(self, reason: str) -> None:
        if self.event.is_set():
            return
        self.reason = reason
        for stop in self.on_trip:
            stop()
        log.critical(
            "FATAL EXCHANGE ERROR: {} — no new entries; exchange stops stay in place; fix the "
            "keys or permissions, then start again",
            reason,
        )
        self.event.set()
