"""Issue 10, items 3 and 5: the limits bound losses and every trip is reported.

Set-up: the trade lifecycle's (entry at 100.05, 10 units, stop 98.96, equity 10,000).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from quantum_trader.bus.messages import OrderEvent, PositionClosed, Topic
from quantum_trader.core.risk import RiskTrip, TripKind
from quantum_trader.core.types import Side
from quantum_trader.exchange.paper import PaperExchange
from quantum_trader.pipeline import Pipeline, build_pipeline
from quantum_trader.risk_commands import cmd_risk
from quantum_trader.settings import Settings
from quantum_trader.store.journal import Journal
from tests.component.fakes import ScriptedFeed, run_through
from tests.component.test_trade_lifecycle import SYM, T0, _intent

pytestmark = pytest.mark.usefixtures("clean_qt_env")


class Run:
    def __init__(
        self, path: list[tuple[float, float, float, float]], journal: Journal | None, **risk: Any
    ) -> None:
        self.trips: list[RiskTrip] = []
        self.closed: list[PositionClosed] = []
        self.rejected: list[str] = []
        self.paper = PaperExchange()
        hooks = {1: self.enter(1), len(path) + 1: self.enter(2)}
        feed = ScriptedFeed(SYM, [(100.0, 100.0, 100.0, 100.0), *path, path[-1]], T0, hooks)
        settings = Settings(signals={"min_confidence": 1.0}, risk=risk)
        self.p: Pipeline = build_pipeline(settings, feed, self.paper, journal=journal)
        self.p.risk.restore()
        bus = self.p.bus
        bus.subscribe("t1", Topic.RISK_TRIPPED, self._keep(self.trips))
        bus.subscribe("t2", Topic.POSITION_CLOSED, self._keep(self.closed))
        bus.subscribe("t3", Topic.ORDER_REJECTED, self.on_rejected)

    @staticmethod
    def _keep(into: list[Any]) -> Any:
        async def keep(message: Any) -> None:
            into.append(message)

        return keep

    async def on_rejected(self, e: OrderEvent) -> None:
        self.rejected.append(e.reason)

    def enter(self, k: int) -> Any:
        async def go() -> None:
            intent = replace(_intent(Side.LONG), intent_id=f"R-{k}", ts=T0 + k * 60_000)
            await self.p.bus.publish(Topic.INTENT, intent)
            await self.p.bus.drain()

        return go

    async def go(self) -> None:
        await run_through(self.p)


GAP = [(100.05, 100.1, 100.0, 100.05), (92.0, 92.5, 91.8, 92.2)]  # a gap through the stop


async def test_a_trip_is_reported_halts_and_survives_a_restart_until_reset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QT_STATE_DIR", str(tmp_path))
    path = tmp_path / "journal-paper.sqlite3"
    run = Run(GAP, Journal(path), max_drawdown=0.005, circuit_breaker_drawdown=0.004)
    await run.go()
    (trade,) = run.closed  # the stop filled at the gap: ~81 USDT, 0.8 % of equity
    assert trade.pnl < -80 and trade.exit_reason == "stop_loss"
    assert [t.kind for t in run.trips] == [TripKind.CIRCUIT_BREAKER, TripKind.MAX_DRAWDOWN]
    hard = run.trips[1]
    assert hard.peak == 10_000  # the equity before the entry
    assert hard.limit == 0.005 and hard.equity < hard.peak * 0.995
    assert run.rejected and "risk limit tripped" in run.rejected[0]  # the second intent
    snap = run.p.risk.snapshot()
    assert snap["halted"] and snap["trips"] == {"circuit_breaker": 1, "max_drawdown": 1}
    kinds = [json.loads(d)["kind"] for k, d in Journal(path).events() if k == "risk_tripped"]
    assert kinds == ["circuit_breaker", "max_drawdown"]

    again = Run(GAP, Journal(path), max_drawdown=0.005)  # a restart: still halted
    assert again.p.risk.guard.halted
    assert cmd_risk(argparse.Namespace(mode="paper", risk_command="reset"), Settings()) == 0
    assert "halt lifted" in capsys.readouterr().out
    after = Run(GAP, Journal(path), max_drawdown=0.005)
    assert not after.p.risk.guard.halted


async def test_loss_budget_refuses_an_entry_whose_stop_would_breach_the_limit() -> None:
    """10 units × (1.09 % stop + fees, slippage, gap allowance) ≈ 14 USDT could be lost; with a
    drawdown limit of 10 USDT the entry is refused before any order."""
    run = Run([(100.05, 100.1, 100.0, 100.05)], None, max_drawdown=0.001)
    await run.go()
    assert run.paper.engine.positions == {} and not run.closed
    assert run.rejected and "loss budget" in run.rejected[0]


async def test_flatten_closes_every_position_on_a_hard_trip() -> None:
    run = Run([(100.05, 100.1, 100.0, 100.05)], None, on_limit="flatten")
    trip = RiskTrip(TripKind.MAX_DRAWDOWN, T0, 8_000.0, 10_000.0, 10_000.0, 0.2, "test", True)

    async def trip_it() -> None:
        await run.p.bus.publish(Topic.RISK_TRIPPED, trip)

    run.p.feed.feed.hooks[2] = trip_it  # type: ignore[attr-defined]
    await run.go()
    (trade,) = run.closed
    assert trade.exit_reason == "risk_max_drawdown"
    assert run.paper.engine.positions == {}


async def test_a_stop_out_loses_at_most_the_per_trade_cap_with_costs() -> None:
    """Issue 10, item 4: the 1 % cap used to count the stop distance only, so fees and slippage
    took realised losses to 1.10–1.22 % of equity. An intent asking for 5,000 USDT of margin at
    10x is cut by execution to what the cap allows; its stop-out loses ≤ 1 % of equity."""
    run = Run([(100.05, 100.1, 98.0, 98.5)], None)  # straight through the stop, no gap
    big = replace(_intent(Side.LONG), intent_id="R-big", margin_usd=5_000.0)

    async def enter_big() -> None:
        await run.p.bus.publish(Topic.INTENT, big)
        await run.p.bus.drain()

    run.p.feed.feed.hooks[1] = enter_big  # type: ignore[attr-defined]
    await run.go()
    trade = next(c for c in run.closed if c.intent_id == "R-big")
    assert trade.exit_reason == "stop_loss"
    assert trade.margin < 1_000  # capped from 5,000
    assert -trade.pnl <= 0.01 * 10_000
    assert -trade.pnl > 0.008 * 10_000  # the cap did bind: close to it, costs in


async def test_the_loss_budgets_block_is_recorded_once_and_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28, item 14: both intents are refused by the loss budget; the block is one
    ``loss_budget`` trip (event, journal row, /health, `qtrader risk status`), the refusals after
    the first are quiet, and /metrics says entries are blocked."""
    from loguru import logger

    from quantum_trader.monitoring.account import AccountView
    from quantum_trader.status import snapshot

    monkeypatch.setenv("QT_STATE_DIR", str(tmp_path))
    path = tmp_path / "journal-paper.sqlite3"
    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING", format="{message}")
    try:
        run = Run([(100.05, 100.1, 100.0, 100.05)] * 3, Journal(path), max_drawdown=0.001)
        await run.go()
    finally:
        logger.remove(sink)
    assert len(run.rejected) == 2 and all("loss budget" in r for r in run.rejected)
    assert [t.kind for t in run.trips] == [TripKind.LOSS_BUDGET]
    assert sum("rejected: loss budget" in w for w in warnings) == 1  # the rest at DEBUG
    assert sum("RISK TRIPPED loss_budget" in w for w in warnings) == 1
    snap = run.p.risk.snapshot()
    assert snap["loss_budget_blocked"] and snap["trips"] == {"loss_budget": 1}
    assert "qtrader_risk_loss_budget_blocked 1.0" in run.p.metrics.render(
        await snapshot(run.p, "paper", 0.0, AccountView())
    )
    assert cmd_risk(argparse.Namespace(mode="paper", risk_command="status"), Settings()) == 0
    out = capsys.readouterr().out
    assert "tripped loss_budget" in out and "loss budget blocking entries since" in out
