"""The RL sizer inside the paper daemon: versions rise in /health as trades close; a corrupt
checkpoint is reported and the daemon trades on a fresh policy."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from quantum_trader.app import Daemon
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed
from quantum_trader.settings import Settings
from quantum_trader.sizing.rl_sizer import CHECKPOINT
from tests.integration.helpers import wait_for


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_STATE_DIR", str(tmp_path))


def _health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:  # noqa: S310
        data: dict[str, Any] = json.loads(r.read())
        return data


async def _run_until(daemon: Daemon, check: Any, within: float) -> None:
    run = asyncio.create_task(daemon.run())
    try:
        await wait_for(check, within, "the daemon to get there")
    finally:
        daemon.stop_event.set()
        assert await asyncio.wait_for(run, 30) == 0


async def test_policy_version_rises_in_health_as_trades_close() -> None:
    settings = Settings(rl={"retrain_every": 3}, api={"port": 0})
    daemon = Daemon(
        settings, SyntheticFeed(settings.signals.symbols, speed=3_000.0, drift=TREND_DRIFT)
    )
    assert daemon.api is not None

    async def updated() -> bool:
        if not daemon.api or not daemon.api.bound_port:
            return False
        rl = (await asyncio.to_thread(_health, daemon.api.bound_port))["rl"]
        return bool(rl["policy_updates"] >= 2 and rl["version"] == f"v3.{rl['policy_updates']}")

    await _run_until(daemon, updated, 90)
    snap = daemon.p.sizer.snapshot()
    assert snap["policy"] == "rl" and snap["trades_processed"] >= 6


async def test_corrupt_checkpoint_is_reported_and_trading_goes_on(tmp_path: Path) -> None:
    (tmp_path / CHECKPOINT).write_bytes(os.urandom(2048))
    lines: list[str] = []
    sink = logger.add(lines.append, level="ERROR", format="{message}")
    try:
        settings = Settings(api={"enabled": False})
        daemon = Daemon(
            settings, SyntheticFeed(settings.signals.symbols, speed=3_000.0, drift=TREND_DRIFT)
        )

        async def traded() -> bool:
            return daemon.p.book.closed_count >= 1

        await _run_until(daemon, traded, 90)
    finally:
        logger.remove(sink)
    snap = daemon.p.sizer.snapshot()
    assert snap["policy"] == "rl" and snap["checkpoint_error"]
    assert any("RL checkpoint" in line and "fresh policy" in line for line in lines)
    names = await asyncio.to_thread(os.listdir, tmp_path)
    assert any(name.startswith(f"{CHECKPOINT}.corrupt-") for name in names)
