"""Health on live data: staleness is judged against the candle timeframe, not the poll."""

from __future__ import annotations

from quantum_trader.feeds.live import LiveFeed
from quantum_trader.pipeline import build_pipeline
from quantum_trader.settings import Settings

SYM = "BTC/USDT:USDT"


def test_live_market_data_is_stale_only_after_a_missed_candle() -> None:
    """A 15-minute candle arrives every 900 s: health must not call that stale at 3 polls."""

    class Client:
        async def fetch_ohlcv(self, *a: object, **k: object) -> list[list[float]]:
            return []

        async def fetch_funding_rate(self, symbol: str) -> dict[str, float]:
            return {}

        async def close(self) -> None:
            return None

    feed = LiveFeed(Client(), (SYM,), "15m", 900_000, poll_seconds=60.0)
    p = build_pipeline(Settings(), feed)
    assert p.health.modules["market_data"].stale_after_s == 900 + 3 * 60
