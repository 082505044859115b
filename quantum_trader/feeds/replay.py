"""Replay recorded candles (one file per symbol), merged in time order, paced or at full speed."""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Mapping, Sequence

import numpy as np

from quantum_trader.bus.messages import CandleEvent
from quantum_trader.core.types import Candle
from quantum_trader.feeds.base import Pacer
from quantum_trader.feeds.loader import CandleSeries, FundingSeries


class ReplayFeed:
    name = "replay"
    simulated = True

    def __init__(
        self,
        series: Sequence[CandleSeries],
        speed: float | None = None,
        funding: dict[str, FundingSeries] | None = None,
    ) -> None:
        self.series = list(series)
        self.symbols = tuple(s.symbol for s in series)
        self.pacer = Pacer(speed)
        self.funding = funding or {}
        self.seen: dict[str, int] = {}  # resume: per symbol, rows up to here are skipped

    def identity(self) -> dict[str, object]:
        """The recorded series this replay is of (a paper journal belongs to one market)."""
        return {
            "kind": "replay",
            "series": [
                [s.symbol, int(s.ts[0]), int(s.ts[-1]), len(s)] for s in self.series if len(s)
            ],
        }

    def resume_after(self, seen: Mapping[str, int]) -> None:
        self.seen = dict(seen)

    async def events(self) -> AsyncIterator[CandleEvent]:
        starts = [
            int(np.searchsorted(s.ts, self.seen.get(s.symbol, -1), side="right"))
            for s in self.series
        ]
        heap = [
            (int(s.ts[i]), k, i)
            for k, (s, i) in enumerate(zip(self.series, starts, strict=True))
            if i < len(s)
        ]
        heapq.heapify(heap)
        while heap:
            ts, k, i = heapq.heappop(heap)
            s = self.series[k]
            await self.pacer.wait_until(ts)
            yield event_at(s, i, self.funding)
            if i + 1 < len(s):
                heapq.heappush(heap, (int(s.ts[i + 1]), k, i + 1))

    async def close(self) -> None:
        return None


def event_at(s: CandleSeries, i: int, funding: dict[str, FundingSeries]) -> CandleEvent:
    """Bar ``i`` of a recorded series as the feed delivers it (the backtest builds the same)."""
    candle = Candle.trusted(
        int(s.ts[i]),
        float(s.open[i]),
        float(s.high[i]),
        float(s.low[i]),
        float(s.close[i]),
        float(s.volume[i]),
    )
    rates = funding.get(s.symbol)
    return CandleEvent(
        s.symbol, candle, s.timeframe_ms, rates.rate_at(candle.ts) if rates else None
    )
