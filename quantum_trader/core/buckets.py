"""Decision candles from finer feed candles (pure): a backtest or replay of a 1-minute file decides
on the daemon's live timeframe (15 minutes) while its exits and fills still walk every minute.

Buckets are aligned to multiples of the decision timeframe (epoch ms, as exchanges align them). A
decision candle is emitted by the bucket's last feed candle — open of the first, high/low the
extremes, close of the last, volume the sum — and only for a whole bucket: a bucket with a gap is
dropped (no decision is made on a candle the exchange would have drawn differently). The same rule,
vectorised, is :func:`quantum_trader.backtest.resample.resample`.
"""

from __future__ import annotations

from dataclasses import dataclass

from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import Candle


@dataclass(slots=True)
class _Forming:
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    count: int


def ratio(decide_ms: int, feed_ms: int) -> int:
    """Feed candles per decision candle; the decision timeframe must be a whole multiple."""
    if feed_ms <= 0 or decide_ms < feed_ms or decide_ms % feed_ms:
        raise InvalidInput(
            "signals.decision_timeframe",
            f"{decide_ms // 60_000}m is not a whole multiple of the feed's "
            f"{feed_ms // 60_000}m candles",
        )
    return decide_ms // feed_ms


class Aggregator:
    """One symbol's forming decision candle."""

    def __init__(self, decide_ms: int, feed_ms: int) -> None:
        self.decide_ms, self.feed_ms = decide_ms, feed_ms
        self.n = ratio(decide_ms, feed_ms)
        self.forming: _Forming | None = None

    def add(self, c: Candle) -> Candle | None:
        """The decision candle this feed candle completes, if it completes a whole one."""
        start = c.ts // self.decide_ms * self.decide_ms
        f = self.forming
        if f is None or f.start != start:
            f = self.forming = _Forming(start, c.open, c.high, c.low, c.close, c.volume, 1)
        else:
            f.high, f.low = max(f.high, c.high), min(f.low, c.low)
            f.close, f.volume, f.count = c.close, f.volume + c.volume, f.count + 1
        if c.ts + self.feed_ms < start + self.decide_ms:
            return None
        self.forming = None
        if f.count != self.n:
            return None
        return Candle.trusted(f.start, f.open, f.high, f.low, f.close, f.volume)

    def restore(self, candles: list[Candle]) -> None:
        """Become the aggregator that has seen ``candles`` (the forming bucket's, in order)."""
        self.forming = None
        for c in candles:
            self.add(c)
