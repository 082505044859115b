"""Hand-written fakes for component tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from quantum_trader.bus.messages import CandleEvent
from quantum_trader.core.types import Candle

Hook = Callable[[], Awaitable[None]]


class ScriptedFeed:
    """Yields the given candles in order; ``hooks[k]`` runs (and may assert or inject) before the
    k-th candle is yielded."""

    name = "scripted"
    simulated = True

    def __init__(
        self,
        symbol: str,
        ohlc: list[tuple[float, float, float, float]],
        start_ts: int,
        hooks: dict[int, Hook] | None = None,
        timeframe_ms: int = 60_000,
        funding_rate: float | None = None,
    ) -> None:
        self.symbols = (symbol,)
        self.symbol = symbol
        self.ohlc = ohlc
        self.start_ts = start_ts
        self.hooks = hooks or {}
        self.timeframe_ms = timeframe_ms
        self.funding_rate = funding_rate

    async def events(self) -> AsyncIterator[CandleEvent]:
        for k, (o, h, lo, c) in enumerate(self.ohlc):
            hook = self.hooks.get(k)
            if hook is not None:
                await hook()
            candle = Candle(self.start_ts + k * self.timeframe_ms, o, h, lo, c, 1.0)
            yield CandleEvent(self.symbol, candle, self.timeframe_ms, self.funding_rate)
