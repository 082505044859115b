"""The reference venue (SPEC §5's cross-exchange divergence): another market's price for the same
asset, so a price that runs away from the rest of the world lowers leverage (ILFv2's divergence
factor) and shows in the sizer's state.

- :class:`FileReference` — replay and backtests (``--reference FILE``): the close of the reference
  candle that closed last at or before the decision's time, if it is at most ``max_age_ms`` old;
  a pure function of the bar's time, so a backtest and its every-candle twin agree.
- :class:`LiveReference` — live and paper-live (``reference.exchange``): a ccxt public client polled
  for tickers every ``poll_s``; a price older than ``stale_s`` is not used, and the ``reference``
  health module shows the staleness.

divergence = |price − reference| / reference, clamped to 0–1; 0 when there is no usable reference.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
from loguru import logger

from quantum_trader.feeds.loader import CandleSeries
from quantum_trader.runtime.health import HealthMonitor

log = logger.bind(component="reference")


class Reference(Protocol):
    def price(self, symbol: str, ts_ms: int) -> float | None: ...


def divergence(price: float, reference: float | None) -> float:
    if reference is None or not reference > 0 or not price > 0:
        return 0.0
    return min(1.0, abs(price - reference) / reference)


class FileReference:
    def __init__(self, series: Mapping[str, CandleSeries], max_age_ms: int | None = None) -> None:
        self.series = dict(series)
        self.max_age_ms = max_age_ms
        self._close_ts = {k: s.ts + s.timeframe_ms for k, s in self.series.items()}

    def price(self, symbol: str, ts_ms: int) -> float | None:
        s = self.series.get(symbol)
        if s is None:
            return None
        closes = self._close_ts[symbol]
        k = int(np.searchsorted(closes, ts_ms, side="right")) - 1
        if k < 0:
            return None
        max_age = self.max_age_ms if self.max_age_ms is not None else 2 * s.timeframe_ms
        if ts_ms - int(closes[k]) > max_age:
            return None  # the reference file has a gap here, or has ended
        return float(s.close[k])


class LiveReference:
    def __init__(
        self,
        client: Any,
        symbols: Mapping[str, str],
        health: HealthMonitor,
        poll_s: float = 30.0,
        stale_s: float = 120.0,
    ) -> None:
        """``symbols``: our symbol → the reference venue's symbol for the same asset."""
        self.client, self.symbols, self.health = client, dict(symbols), health
        self.poll_s, self.stale_s = poll_s, stale_s
        self.latest: dict[str, tuple[float, float]] = {}  # our symbol → (price, monotonic read)
        self.errors = 0
        self._hold_until = 0.0  # monotonic: a 429/418 said wait (Retry-After)
        self._bans = 0

    def price(self, symbol: str, ts_ms: int) -> float | None:
        got = self.latest.get(symbol)
        if got is None or time.monotonic() - got[1] > self.stale_s:
            return None
        return got[0]

    async def poll_once(self) -> None:
        if time.monotonic() < self._hold_until:
            return  # rate limited: the venue said how long to wait
        for ours, theirs in self.symbols.items():
            try:
                ticker = await self.client.fetch_ticker(theirs)
                price = float(ticker.get("last") or ticker.get("close") or 0.0)
                if not price > 0 or not np.isfinite(price):
                    raise ValueError(f"no usable price in the ticker: {price!r}")
            except Exception as exc:  # noqa: BLE001 - a reference is optional: counted, shown
                self.errors += 1
                self.health.error("reference", f"{theirs}: {exc}")
                log.warning("reference {} unavailable: {}", theirs, exc)
                from quantum_trader.exchange import ccxt_errors as ce  # imports ccxt: only here

                if ce.rate_limited(exc):  # the rest of the round would only deepen a ban
                    wait = ce.backoff_seconds(exc, self._bans, ce.retry_after_of(self.client))
                    self._hold_until = time.monotonic() + wait
                    self._bans += 1
                    return
                continue
            self._bans = 0
            self.latest[ours] = (price, time.monotonic())
            self.health.ok("reference")

    async def run(self) -> None:
        while True:
            await self.poll_once()
            await asyncio.sleep(self.poll_s)

    def snapshot(self) -> dict[str, object]:
        now = time.monotonic()
        return {
            "symbols": self.symbols,
            "age_s": {k: round(now - t, 1) for k, (_, t) in self.latest.items()},
            "errors": self.errors,
        }

    async def close(self) -> None:
        await self.client.close()
