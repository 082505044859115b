"""The skip-ahead asks the rules (issue 27, item 4): a backtest that steps over quiet bars makes
exactly the trades and the per-bar equity of one that delivers every candle — generated over the
filter's and the exit manager's parameters — and a new exit rule needs no change to the
backtester: declared with where it could act, skipping still agrees; declared without, skipping
turns itself off for the stretch and still agrees.

Before, the skip-ahead kept its own copies of the rules: an exit rule added in the obvious places
(a "lock profit at ROE x") gave a skipping backtest of other trades than every candle's, with the
suites green (the outside review's 115 trades / −187.94 USDT against 116 / −176.90)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantum_trader.backtest.runner import BacktestRun, run_backtest
from quantum_trader.core import exit_rules
from quantum_trader.core.exit_rules import Bars, Mask, Tick
from quantum_trader.core.exits import ActionKind, ExitAction, ExitParams, ExitState
from quantum_trader.feeds.loader import CandleSeries
from quantum_trader.settings import Settings
from tests.integration.test_backtest_held import _gapped

BARS = 2_500


def market(tmp: Path) -> list[CandleSeries]:
    """Two trending synthetic 1m markets, every 41st candle opening 0.4 % off the last close."""
    return _gapped(tmp, bars=BARS, every=41, seed=11)


def both(config: dict[str, Any], series: list[CandleSeries], tmp: Path) -> list[BacktestRun]:
    runs = []
    for fast in (False, True):
        state = tmp / ("fast" if fast else "full")
        state.mkdir(parents=True)
        runs.append(asyncio.run(run_backtest(Settings(**config), series, {}, state, fast=fast)))
    return runs


def agree(full: BacktestRun, fast: BacktestRun) -> None:
    assert fast.recorder.trades == full.recorder.trades
    assert fast.recorder.equity == full.recorder.equity  # per bar
    assert fast.recorder.ts == full.recorder.ts
    assert fast.recorder.trips == full.recorder.trips


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> list[CandleSeries]:
    return market(tmp_path_factory.mktemp("market"))


# every set holds UNANIMOUS (what a forced signal is): each generated run trades
consensus = st.sampled_from([["UNANIMOUS", "STRONG"], ["UNANIMOUS", "STRONG", "WEAK"],
                             ["UNANIMOUS", "STRONG", "SPLIT", "WEAK"]])  # fmt: skip
signals = st.fixed_dictionaries({
    "min_confidence": st.sampled_from([0.0, 0.5, 0.6, 0.7]),
    "allowed_consensus": consensus,
    "sides": st.sampled_from(["both", "long", "short"]),
    "high_vol_atr_pct": st.sampled_from([0.05, 0.002]),
    "high_vol_min_confidence": st.sampled_from([0.8, 0.55]),
    "force_confidence": st.sampled_from([0.0, 0.0, 0.9]),
})  # fmt: skip
exits = st.fixed_dictionaries({
    "tp_mode": st.sampled_from(["exchange", "internal"]),
    "trailing": st.booleans(),
    "trail_distance": st.sampled_from([0.0, 0.002, 0.006]),
    "loss_guard_roe": st.sampled_from([-0.5, -0.1, -0.04]),
    "time_stop_minutes": st.sampled_from([0, 45, 240]),
    "on_signal": st.booleans(),
})  # fmt: skip


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(signals=signals, exits=exits)
def test_skipping_equals_every_candle_over_the_parameters(
    series: list[CandleSeries], tmp_path_factory: pytest.TempPathFactory,
    signals: dict[str, Any], exits: dict[str, Any],
) -> None:  # fmt: skip
    config = {"signals": signals, "exits": exits, "edge": {"mode": "off"}}
    full, fast = both(config, series, tmp_path_factory.mktemp("run"))
    assert full.recorder.trades, f"a generated run made no trade: {config}"
    agree(full, fast)


class LockProfit:
    """A new exit rule, written as a user would: at ROE ≥ 0.3 on the close, close it all."""

    name, final, after_peak, alone = "lock_profit", True, True, False
    ROE = 0.3

    def roe(self, state: ExitState, price: Any) -> Any:
        p = state.plan
        return p.side.sign * (price - p.entry_price) / p.entry_price * p.leverage

    def act(self, state: ExitState, tick: Tick, params: ExitParams) -> list[ExitAction]:
        if self.roe(state, tick.last) >= self.ROE:
            return [ExitAction(ActionKind.CLOSE, self.name, qty=state.remaining)]
        return []

    def could_act(self, state: ExitState, params: ExitParams, bars: Bars) -> Mask | None:
        return np.asarray(self.roe(state, bars.close) >= self.ROE - 1e-9)


class Undeclared(LockProfit):
    """The same rule without saying where it could act: skipping must not step over it."""

    def could_act(self, state: ExitState, params: ExitParams, bars: Bars) -> Mask | None:
        return None


TRADED = {"signals": {"force_confidence": 0.9}, "edge": {"mode": "off"},
          "exits": {"tp_mode": "internal"}}  # fmt: skip


@pytest.mark.parametrize("rule", [LockProfit(), Undeclared()], ids=["declared", "undeclared"])
def test_a_new_exit_rule_needs_no_change_to_the_backtester(
    rule: LockProfit, series: list[CandleSeries], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = both(TRADED, series, tmp_path / "base")[0]
    monkeypatch.setattr(exit_rules, "RULES", (*exit_rules.RULES, rule))
    full, fast = both(TRADED, series, tmp_path / "rule")
    agree(full, fast)
    locked = [t for t in full.recorder.trades if t.exit_reason == "lock_profit"]
    assert locked, "the rule should have closed trades on this market"
    assert full.recorder.trades != base.recorder.trades  # the rule changed the run
