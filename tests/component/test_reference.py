"""The reference venue: the divergence from another market's price reaches ILFv2 (div_f) and the
sizer's state; from a file in backtests (as-of lookup, gaps not used), from a polled ccxt client
live (stale prices not used, the ``reference`` health module shows it)."""

from __future__ import annotations

import numpy as np
import pytest

from quantum_trader.bus.messages import Features, LevelsEvent, SignalEvent, Topic
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.types import Consensus, Regime, Side, Signal
from quantum_trader.feeds.loader import CandleSeries
from quantum_trader.pipeline import build_pipeline
from quantum_trader.runtime.health import HealthMonitor
from quantum_trader.settings import Settings
from quantum_trader.signals.reference import FileReference, LiveReference, divergence
from tests.component.fakes import ScriptedFeed

SYM, T, H = "XRP/USDT:USDT", 1_767_225_600_000, 3_600_000


def hourly(closes: list[float]) -> CandleSeries:
    n = len(closes)
    ts = T + H * np.arange(n, dtype=np.int64)
    c = np.asarray(closes, dtype=float)
    return CandleSeries(SYM, H, ts, c, c, c, c, np.ones(n))


def test_divergence_is_the_relative_gap_clamped() -> None:
    assert divergence(101.0, 100.0) == pytest.approx(0.01)
    assert divergence(99.0, 100.0) == pytest.approx(0.01)
    assert divergence(100.0, None) == 0.0 and divergence(100.0, float("nan")) == 0.0
    assert divergence(500.0, 100.0) == 1.0


def test_a_reference_file_answers_as_of_the_time_and_not_across_a_gap() -> None:
    ref = FileReference({SYM: hourly([1.00, 1.02, 1.04])})
    assert ref.price(SYM, T) is None  # the first candle closes at T + 1 h
    assert ref.price(SYM, T + H) == 1.00
    assert ref.price(SYM, T + H + 59 * 60_000) == 1.00
    assert ref.price(SYM, T + 3 * H) == 1.04
    assert ref.price(SYM, T + 5 * H) == 1.04  # two candles old: still used
    assert ref.price(SYM, T + 5 * H + 1) is None  # older: the file has ended
    assert ref.price("BTC/USDT:USDT", T + H) is None


class Venue:
    """A hand-written ccxt-like public client."""

    def __init__(self) -> None:
        self.price: float | None = 1.05
        self.closed = False

    async def fetch_ticker(self, symbol: str) -> dict[str, object]:
        if self.price is None:
            raise ConnectionError("venue down")
        return {"symbol": symbol, "last": self.price}

    async def close(self) -> None:
        self.closed = True


async def test_a_live_reference_is_polled_and_goes_stale() -> None:
    health = HealthMonitor({"reference": 120.0}, {"reference": 0.05})
    venue = Venue()
    ref = LiveReference(venue, {SYM: "XRP/USDT"}, health, stale_s=0.05)
    await ref.poll_once()
    assert ref.price(SYM, 0) == 1.05 and health.modules["reference"].seen
    venue.price = None
    await ref.poll_once()
    assert "venue down" in health.modules["reference"].last_error and ref.errors == 1
    import asyncio

    await asyncio.sleep(0.06)
    assert ref.price(SYM, 0) is None  # stale: not used


async def test_the_divergence_and_the_symbol_risk_lower_the_leverage_decided() -> None:
    settings = Settings(signals={"symbols": (SYM,)}, leverage={"symbol_risk": {SYM: 1.25}})
    p = build_pipeline(settings, ScriptedFeed(SYM, [], T))
    p.execution.accepting = False
    for module in ("market_data", "signals", "exchange"):
        p.health.ok(module)
    seen: list[object] = []
    p.bus.add_tap(
        lambda topic, m: seen.append(m) if topic in (Topic.INTENT, Topic.LEVELS) else None
    )
    p.signals.reference = FileReference({SYM: hourly([100.0, 100.0, 95.0])})
    feats = p.signals._divergence(SYM, 100.0, T + 3 * H)  # noqa: SLF001 - the service's own lookup
    assert feats == pytest.approx(0.05 / 0.95)
    p.clock.set(T)
    sig = Signal(SYM, Side.LONG, 0.8, Consensus.UNANIMOUS, T)
    f = Features(100.0, 0.2, 0.002, 1.0, Regime.RANGE, 0.0, feats)
    await p.strategy.on_signal(SignalEvent(sig, f))
    [levels] = [m for m in seen if isinstance(m, LevelsEvent)]
    [intent] = [m for m in seen if isinstance(m, TradeIntent)]
    assert levels.factors is not None
    assert levels.factors.divergence == pytest.approx(1 - 0.05 / 0.95)
    assert levels.factors.symbol == pytest.approx(1 / 1.25)
    assert intent.exchange_divergence == pytest.approx(0.05 / 0.95)


async def test_a_banned_reference_venue_is_not_polled_until_its_retry_after() -> None:
    """Issue 28, item 12: every REST poller backs off on 429/418 by Retry-After — the reference
    venue's too: the round stops at the ban and no call goes out until it has passed."""
    import ccxt.async_support as ccxt

    class Banned(Venue):
        last_response_headers = {"Retry-After": "60"}
        calls = 0

        async def fetch_ticker(self, symbol: str) -> dict[str, object]:
            self.calls += 1
            raise ccxt.DDoSProtection("418 I'm a teapot")

    venue = Banned()
    ref = LiveReference(venue, {SYM: "XRP/USDT", "BTC/USDT:USDT": "BTC/USDT"},
                        HealthMonitor({"reference": 120.0}, {"reference": 0.05}))  # fmt: skip
    for _ in range(5):
        await ref.poll_once()
    assert venue.calls == 1 and ref.errors == 1
