"""Supervised background tasks (STYLE): named, strongly referenced, restarted with capped
exponential backoff and jitter after a crash; too many crashes in the window → ``fatal`` is set so
the daemon shuts down cleanly and exits non-zero (systemd restarts it)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable

from loguru import logger

log = logger.bind(component="supervisor")
TaskFactory = Callable[[], Awaitable[None]]


class Supervisor:
    def __init__(
        self,
        max_restarts: int = 5,
        window_s: float = 600.0,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
    ) -> None:
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.base_delay, self.max_delay = base_delay, max_delay
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.restarts: dict[str, int] = {}
        self.fatal = asyncio.Event()
        self.fatal_reason = ""
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography

    def start(self, name: str, factory: TaskFactory) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run(name, factory), name=name)
        self.tasks[name] = task
        self.restarts.setdefault(name, 0)
        return task

    async def _run(self, name: str, factory: TaskFactory) -> None:
        crashes: deque[float] = deque()
        while True:
            try:
                await factory()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                now = time.monotonic()
                crashes.append(now)
                while crashes and now - crashes[0] > self.window_s:
                    crashes.popleft()
                self.restarts[name] += 1
                log.opt(exception=True).error("task {} crashed ({} in window)", name, len(crashes))
                if len(crashes) > self.max_restarts:
                    self.fatal_reason = f"task {name} crashed {len(crashes)} times"
                    log.critical("{}: shutting down", self.fatal_reason)
                    self.fatal.set()
                    return
                delay = min(self.max_delay, self.base_delay * 2 ** (len(crashes) - 1))
                await asyncio.sleep(delay * (0.5 + self._rng.random()))

    async def stop(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
