"""Issue 11, item 3: a fatal exchange error mid-run (a revoked key) used to be retried for ever —
only start-up treated it as a stop. Now any call that meets one stops new entries at once, and
the daemon shuts down leaving its exchange stops in place and exits 78 (systemd does not restart
it into the same error)."""

from __future__ import annotations

import asyncio
import time

from quantum_trader.app import Daemon
from quantum_trader.exchange.base import Balance, FatalExchangeError
from quantum_trader.exchange.paper import PaperExchange
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed
from quantum_trader.settings import Settings

SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT")


class RevokedLater(PaperExchange):
    """The paper exchange until the key is revoked: then every account read is refused."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after, self.calls = after, 0

    async def fetch_balance(self) -> Balance:
        self.calls += 1
        if self.calls > self.after:
            raise FatalExchangeError("-2015: Invalid API-key, IP, or permissions for action")
        return await super().fetch_balance()


def test_a_key_revoked_mid_run_stops_the_daemon_with_78() -> None:
    settings = Settings(
        api={"enabled": False},
        signals={"symbols": SYMBOLS, "force_confidence": 0.95},
        rl={"enabled": False},
    )
    exchange = RevokedLater(after=400)
    feed = SyntheticFeed(SYMBOLS, seed=3, speed=None, warmup=60, limit=5_000, drift=TREND_DRIFT)
    daemon = Daemon(settings, feed, exchange=exchange, duration_s=60)
    started = time.monotonic()
    assert asyncio.run(daemon.run()) == 78
    assert time.monotonic() - started < 30  # not retried until the duration ran out
    assert daemon.p.fatal.reason.startswith("fetch_balance: -2015")
    assert not daemon.p.strategy.accepting and not daemon.p.execution.accepting
    assert daemon.p.feed.candles < 2 * 5_000  # it stopped early
    paper = daemon.p.paper
    assert paper is not None
    for symbol in paper.engine.positions:  # every open position kept its exchange stop
        assert any(o.close_position for o in paper.engine.open_orders(symbol))
