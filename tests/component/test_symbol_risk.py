"""Symbol risk from the measured volatility rank changes the leverage decided: the same signal on
the most volatile of three symbols gets 1/1.25 of the leverage factor the calmest gets 1/0.75 of;
a configured symbol_risk wins over the rank. Through the strategy's own decision path. (And the
pipeline refuses a decision timeframe that is not a whole multiple of the feed's.)"""

from __future__ import annotations

import pytest

from quantum_trader.bus.messages import Features, LevelsEvent, SignalEvent, Topic
from quantum_trader.core.types import Consensus, Regime, Side, Signal
from quantum_trader.pipeline import build_pipeline
from quantum_trader.settings import Settings
from tests.component.fakes import ScriptedFeed

T = 1_767_225_600_000
SYMS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "DOGE/USDT:USDT")
pytestmark = pytest.mark.usefixtures("clean_qt_env")


async def factor(symbol: str, **leverage: object) -> float:
    p = build_pipeline(Settings(leverage=leverage), ScriptedFeed(symbol, [], T))
    p.execution.accepting = False
    for module in ("market_data", "signals", "exchange"):
        p.health.ok(module)
    if p.strategy.volatilities is not None:  # wired to the signal service's histories
        p.strategy.volatilities = lambda: dict(zip(SYMS, (0.002, 0.004, 0.009), strict=True))
    seen: list[LevelsEvent] = []
    p.bus.add_tap(lambda topic, m: seen.append(m) if topic == Topic.LEVELS else None)
    p.clock.set(T)
    sig = Signal(symbol, Side.LONG, 0.8, Consensus.UNANIMOUS, T)
    await p.strategy.on_signal(SignalEvent(sig, Features(100.0, 0.2, 0.002, 1.0, Regime.RANGE)))
    [levels] = seen
    return float(levels.factors.symbol)


async def test_the_most_volatile_symbol_gets_less_leverage() -> None:
    calm, mid, wild = [await factor(s) for s in SYMS]
    assert (calm, mid, wild) == pytest.approx((1 / 0.75, 1.0, 1 / 1.25))


async def test_a_configured_symbol_risk_wins_over_the_rank() -> None:
    assert await factor(SYMS[2], symbol_risk={SYMS[2]: 0.5}) == pytest.approx(2.0)
    assert await factor(SYMS[2], symbol_risk_from="config") == pytest.approx(1.0)


def test_a_decision_timeframe_that_is_not_a_multiple_of_the_feed_is_refused() -> None:
    from quantum_trader.settings import ConfigError

    feed = ScriptedFeed(SYMS[0], [], T, timeframe_ms=120_000)
    with pytest.raises(ConfigError, match="whole multiple"):
        build_pipeline(Settings(signals={"decision_timeframe": "5m"}), feed)
