"""A seeded synthetic market: GARCH(1,1) volatility clustering, regimes, jumps and a slowly
wandering funding rate, for several symbols at once. Same seed → same candles.

By default the regimes carry **no drift**: nothing in the prices can be predicted, so a strategy
should lose its fees here, and a run that gains is luck. ``drift = TREND_DRIFT`` (0.25 σ per
candle while a regime lasts, ~100 candles) makes the trending market the mechanics tests and demos
use — there the built-in ensemble wins most trades, which proves its plumbing, not an edge.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import numpy as np

from quantum_trader.bus.messages import CandleEvent
from quantum_trader.core.types import Candle
from quantum_trader.feeds.base import Pacer

START_PRICES = {"BTC": 30_000.0, "ETH": 2_000.0, "BNB": 300.0, "SOL": 25.0, "XRP": 0.5}
START_TS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
SUBSTEPS = 8
TREND_DRIFT = 0.25  # σ per candle in a trending regime (the demo market)


@dataclass(slots=True)
class _SymbolState:
    price: float
    var: float
    regime: int  # −1 down, 0 flat, +1 up
    funding: float
    rng: np.random.Generator


class SyntheticMarket:
    """Generates candles chunk by chunk; pure apart from its RNG state."""

    def __init__(
        self,
        symbols: tuple[str, ...],
        seed: int,
        timeframe_ms: int = 60_000,
        base_vol: float = 0.0009,
        drift: float = 0.0,
    ) -> None:
        self.symbols = symbols
        self.timeframe_ms = timeframe_ms
        self.base_vol, self.drift = base_vol, drift
        self.state = {
            s: _SymbolState(
                price=START_PRICES.get(s.split("/")[0], 100.0),
                var=base_vol**2,
                regime=0,
                funding=0.0001,
                rng=np.random.default_rng([seed, zlib.crc32(s.encode())]),
            )
            for s in symbols
        }

    def next_candle(self, symbol: str, ts: int) -> tuple[Candle, float]:
        st = self.state[symbol]
        rng = st.rng
        if rng.random() < 0.01:  # regime switch, mean persistence ~100 candles
            st.regime = int(rng.choice([-1, 0, 1]))
        sigma = float(np.sqrt(st.var))
        drift = st.regime * self.drift * sigma / SUBSTEPS
        steps = rng.standard_normal(SUBSTEPS) * sigma / np.sqrt(SUBSTEPS) + drift
        if rng.random() < 0.003:  # a jump
            steps[rng.integers(SUBSTEPS)] += rng.standard_normal() * 8 * self.base_vol
        path = st.price * np.exp(np.cumsum(steps))
        o = st.price
        h = float(max(o, path.max()))
        lo = float(min(o, path.min()))
        c = float(path[-1])
        r = float(np.log(c / o))
        # GARCH(1,1): long-run variance base_vol², persistence 0.97
        st.var = 0.02 * self.base_vol**2 + 0.08 * r * r + 0.90 * st.var
        st.funding = float(
            np.clip(
                0.98 * st.funding + 0.02 * 0.0001 + rng.standard_normal() * 0.00002, -0.003, 0.003
            )
        )
        volume = float(abs(rng.standard_normal()) * 100 * (1 + abs(r) / self.base_vol))
        st.price = c
        return Candle(ts, o, h, lo, c, volume), st.funding


class SyntheticFeed:
    name = "synthetic"
    simulated = True

    def __init__(
        self,
        symbols: tuple[str, ...],
        seed: int = 7,
        timeframe_ms: int = 60_000,
        speed: float | None = 600.0,
        warmup: int = 300,
        limit: int | None = None,
        drift: float = 0.0,
    ) -> None:
        self.symbols = symbols
        self.market = SyntheticMarket(symbols, seed, timeframe_ms, drift=drift)
        self.drift = drift
        self.timeframe_ms = timeframe_ms
        self.pacer = Pacer(speed)
        self.warmup = warmup
        self.limit = limit
        self.seed = seed
        self.seen: dict[str, int] = {}  # resume: per symbol, candles up to here are not delivered

    def identity(self) -> dict[str, object]:
        """What makes this market this market: a paper journal belongs to one."""
        return {
            "kind": "synthetic",
            "seed": self.seed,
            "drift": self.drift,
            "symbols": list(self.symbols),
            "timeframe_ms": self.timeframe_ms,
        }

    def resume_after(self, seen: Mapping[str, int]) -> None:
        """Continue the same price path after each symbol's last candle seen (the RNG runs
        through what came before)."""
        self.seen = dict(seen)

    async def events(self) -> AsyncIterator[CandleEvent]:
        i, caught_up = 0, max(self.seen.values(), default=-1)
        while self.limit is None or i < self.limit:
            ts = START_TS + i * self.timeframe_ms
            if i >= self.warmup and ts > caught_up:
                await self.pacer.wait_until(ts)
            else:
                await self.pacer.breathe()  # warm-up and catching up hold the loop no longer
            for symbol in self.symbols:
                candle, funding = self.market.next_candle(symbol, ts)
                if ts > self.seen.get(symbol, -1):
                    yield CandleEvent(symbol, candle, self.timeframe_ms, funding)
            i += 1

    async def close(self) -> None:
        return None
