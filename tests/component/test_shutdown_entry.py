"""SIGTERM while an entry is in flight (issue 28, item 4): the daemon exited 0 with a position
and no stop until the next start placed one. Now an entry in flight is seen through — its stop
placed — within the shutdown timeout and the exit is 0; if it cannot be (the exchange slower
than the timeout), the exit is non-zero with a CRITICAL line naming it, so systemd restarts the
daemon and the start's reconciliation places the stop."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from quantum_trader.app import Daemon
from quantum_trader.bus.messages import Topic
from quantum_trader.core.types import Candle, Side
from quantum_trader.settings import Settings
from tests.component.fakes import ScriptedFeed, SlowExchange, scripted_paper
from tests.component.test_trade_lifecycle import SYM, _intent

M = 60_000


class Feed(ScriptedFeed):
    async def close(self) -> None:
        return None


async def _sigterm_mid_entry(
    tmp_path: Path, delay: float, shutdown_s: float
) -> tuple[int, list[str], Any]:
    paper = scripted_paper()
    t = int(time.time() * 1000) // M * M - 5 * M
    paper.on_candle(SYM, Candle(t, 100.0, 100.0, 100.0, 100.0, 1.0))
    lines: list[str] = []
    daemon: Any = None

    async def enter_then_stop() -> None:
        intent = replace(_intent(Side.LONG), intent_id="S-1", ts=t)
        await daemon.p.bus.publish(Topic.INTENT, intent)  # the queued bus: it is in flight
        await asyncio.sleep(0.05)
        daemon.stop_event.set()  # SIGTERM's handler does just this

    feed = Feed(SYM, [(100.0, 100.0, 100.0, 100.0)] * 3, t, {1: enter_then_stop})
    feed.simulated = False  # the queued bus, as live
    settings = Settings(
        signals={"symbols": (SYM,), "min_confidence": 1.0},
        api={"enabled": False},
        runtime={"shutdown_timeout_seconds": shutdown_s},
    )
    daemon = Daemon(
        settings,
        feed,
        "paper",
        exchange=SlowExchange(paper, delay, frozenset({"create_market_order"})),
    )  # type: ignore[arg-type]
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING", format="{level} {message}")
    try:
        code = await daemon.run()
    finally:
        logger.remove(sink)
    return code, lines, paper


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_STATE_DIR", str(tmp_path))


async def test_an_entry_in_flight_is_seen_through_and_stopped(tmp_path: Path) -> None:
    # a generous timeout: the drain ends as soon as the entry is protected (a slow machine
    # only takes longer)
    code, _, paper = await _sigterm_mid_entry(tmp_path, delay=0.3, shutdown_s=60.0)
    assert code == 0
    assert SYM in paper.engine.positions
    assert any(o.close_position for o in paper.engine.open_orders(SYM))  # its stop is live


async def test_an_entry_slower_than_the_timeout_exits_non_zero_and_says_so(
    tmp_path: Path,
) -> None:
    code, lines, _ = await _sigterm_mid_entry(tmp_path, delay=6.0, shutdown_s=2.0)
    assert code != 0
    assert any(x.startswith("CRITICAL") and "S-1" in x for x in lines), lines
