"""A subscriber's bounded inbox with per-topic overflow policy.

- ``reliable`` messages are never dropped: a full inbox makes the publisher wait (backpressure).
- ``latest`` messages never make anyone wait: when the inbox is full, a pending message with the
  same (topic, key) — e.g. the same symbol — is replaced, or else the oldest ``latest`` message is
  dropped; each drop is counted.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Envelope:
    topic: str
    key: str
    seq: int
    payload: Any
    latest: bool


class Inbox:
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[Envelope] = deque()
        self._not_empty = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = False
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def _push(self, env: Envelope) -> None:
        self._items.append(env)
        self._not_empty.set()
        self._idle.clear()
        if len(self._items) >= self.maxsize:
            self._space.clear()

    def offer_latest(self, env: Envelope) -> None:
        if len(self._items) >= self.maxsize:
            victim = next(
                (e for e in self._items if e.latest and e.topic == env.topic and e.key == env.key),
                None,
            ) or next((e for e in self._items if e.latest), None)
            if victim is not None:
                self._items.remove(victim)
                self.dropped += 1
        self._push(env)

    async def put_reliable(self, env: Envelope) -> None:
        while len(self._items) >= self.maxsize:
            self._space.clear()
            await self._space.wait()
        self._push(env)

    async def get(self) -> Envelope:
        while not self._items:
            self._not_empty.clear()
            await self._not_empty.wait()
        env = self._items.popleft()
        self._busy = True
        if len(self._items) < self.maxsize:
            self._space.set()
        return env

    def done(self) -> None:
        self._busy = False
        if not self._items:
            self._idle.set()

    @property
    def idle(self) -> bool:
        return not self._items and not self._busy

    async def wait_idle(self) -> None:
        await self._idle.wait()
