"""The size's source is named as it was (issue 27, item 6): the RL sizer says "policy" only while
the policy sizes; once the scoreboard benches it, the baseline that stood in is named — in the
sizer's choice, the plan and the decision table ``explain`` prints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from quantum_trader.core.decision import DecisionInputs, decide
from quantum_trader.core.types import Side
from quantum_trader.explain import decision_table
from quantum_trader.sizing.rl_sizer import RLSizer
from quantum_trader.sizing.sizer import FallbackSizer, FixedSizer

STATE = (0.8, 1.2, 0.3, 0.01, 0.0001, 0.2)


def test_a_benched_policy_is_not_called_the_policy(tmp_path: Path) -> None:
    sizer = RLSizer(tmp_path)
    fresh = sizer.choose(STATE)
    assert fresh.source == "policy" and fresh.logp is not None
    for _ in range(sizer.scoreboard.min_trades):  # the policy sized 1.5×, fixed 1.0×: a loser
        sizer.scoreboard.record(1.5, 1.4, -0.1)
    assert sizer.scoreboard.choice() == "fixed"
    benched = sizer.choose(STATE)
    assert benched.source == "fixed (policy benched)"
    x = DecisionInputs(Side.LONG, 100.0, 10_000.0, 0.8, multiplier=benched.multiplier,
                       multiplier_source=benched.source, logp=benched.logp)  # fmt: skip
    d = decide(x)
    assert d.multiplier_source == "fixed (policy benched)"
    assert "(fixed (policy benched))" in decision_table(d)
    assert "(policy)" not in decision_table(d)


def test_the_baselines_name_themselves() -> None:
    assert FixedSizer().choose(STATE).source == "fixed"
    assert FallbackSizer().choose(STATE).source == "fallback"
    x = DecisionInputs(Side.LONG, 100.0, 10_000.0, 0.8)
    assert decide(x).multiplier_source == "fallback"
    assert decide(replace(x, multiplier=1.0, multiplier_source="fixed")).multiplier_source == (
        "fixed"
    )
