"""Live, the risk service skips the start-up history and reads the account at most every 5 s;
a candle between reads updates the guard with the equity last read."""

from __future__ import annotations

import time
from typing import Any, cast

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import CandleEvent
from quantum_trader.core.risk import RiskGuard
from quantum_trader.core.types import Candle
from quantum_trader.exchange.base import Balance, Exchange
from quantum_trader.execution.book import Book
from quantum_trader.execution.risk_service import RiskService
from quantum_trader.runtime.clock import SimClock


class Account:
    def __init__(self) -> None:
        self.reads = 0
        self.equity = 10_000.0

    async def fetch_balance(self) -> Balance:
        self.reads += 1
        return Balance(self.equity, self.equity, 0.0, self.equity)


def candle(age_s: float) -> CandleEvent:
    close_ms = int((time.time() - age_s) * 1000)
    return CandleEvent("BTC/USDT:USDT", Candle(close_ms - 60_000, 1, 1, 1, 1, 1), 60_000)


async def test_history_is_skipped_and_reads_are_spaced() -> None:
    account, book = Account(), Book()
    guard = RiskGuard(0.08, 0.12, 60_000, 0.2, 0)
    svc = RiskService(Bus(inline=True), cast(Exchange, account), book, guard, SimClock(1), None,
                      max_candle_age_ms=120_000)  # fmt: skip
    for _ in range(50):
        await svc.on_candle(candle(age_s=3_600))  # start-up history: an hour old
    assert account.reads == 0
    await svc.on_candle(candle(age_s=1))
    account.equity = 9_000.0
    for _ in range(4):  # the other symbols' candles of the same minute
        await svc.on_candle(candle(age_s=1))
    assert account.reads == 1 and book.equity == 10_000.0  # one read serves them all
    assert cast(Any, guard).peak == 10_000.0
