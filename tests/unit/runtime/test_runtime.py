"""Supervisor restarts and fatal shutdown; sd_notify datagrams."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from quantum_trader.runtime.supervisor import Supervisor
from quantum_trader.runtime.systemd import Notifier


async def test_a_crashing_task_is_restarted_then_declared_fatal() -> None:
    sup = Supervisor(max_restarts=2, base_delay=0.001, max_delay=0.01)
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        raise RuntimeError("boom")

    sup.start("flaky", flaky)
    async with asyncio.timeout(5):
        await sup.fatal.wait()
    assert runs == 3 and sup.restarts["flaky"] == 3
    assert "flaky crashed 3 times" in sup.fatal_reason
    await sup.stop()


async def test_a_task_that_recovers_is_not_fatal() -> None:
    sup = Supervisor(max_restarts=2, base_delay=0.001)
    runs = 0

    async def once_bad() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("first time only")

    await asyncio.wait_for(sup.start("t", once_bad), 5)
    assert runs == 2 and not sup.fatal.is_set()


def test_sd_notify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    n = Notifier()
    assert n.enabled and n.watchdog_interval == 10.0
    n.ready("paper")
    n.watchdog()
    n.stopping()
    got = [server.recv(100).decode() for _ in range(3)]
    server.close()
    assert got == ["READY=1\nSTATUS=paper", "WATCHDOG=1", "STOPPING=1"]


def test_sd_notify_is_silent_without_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    n.ready()
    assert not n.enabled and n.sent == []
