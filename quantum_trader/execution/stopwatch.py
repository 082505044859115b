"""While the daemon runs: every open position's stop must be live on the exchange. A stop that
vanished — cancelled by hand in the exchange's UI, expired by the exchange — is placed again at
once, at the position's current stop price, and the event is logged as an error."""

from __future__ import annotations

import asyncio

from loguru import logger

from quantum_trader.exchange.base import Exchange
from quantum_trader.execution.book import Book
from quantum_trader.execution.exits import ExitManager
from quantum_trader.runtime.loops import every

log = logger.bind(component="stopwatch")


class StopWatch:
    def __init__(self, exchange: Exchange, book: Book, exits: ExitManager, interval: float) -> None:
        self.exchange, self.book, self.exits, self.interval = exchange, book, exits, interval
        self.replaced = 0

    async def check(self) -> int:
        """One pass; the number of stops placed again. Two requests for every symbol at once
        (the open plain and algo orders); the positions are read only when a stop is missing."""
        watched = {
            mp.symbol: mp.stop_order_id
            for mp in list(self.book.positions.values())
            if not mp.closing and mp.stop_order_id is not None
        }
        if not watched:
            return 0
        live = {o.id for o in await self.exchange.fetch_open_orders()}
        missing = {s: stop for s, stop in watched.items() if stop not in live}
        if not missing:
            return 0
        held = {p.symbol for p in await self.exchange.fetch_positions()}
        replaced = 0
        for symbol, stop_id in missing.items():
            mp = self.book.positions.get(symbol)
            if mp is None or mp.closing or mp.stop_order_id != stop_id:
                continue  # closed or moved meanwhile (moves are new-first-then-cancel)
            if symbol not in held:
                continue  # the stop filled: its fill is on its way to the exit manager
            log.error(
                "{} STOP MISSING on the exchange (order {} is gone): placing it again at {:.6g}",
                mp.opened.intent_id,
                stop_id,
                mp.state.stop_price,
            )
            await self.exits.restore_stop(mp)
            replaced += 1
        self.replaced += replaced
        return replaced

    async def run(self) -> None:
        await asyncio.sleep(self.interval)  # reconciliation has just checked every stop
        await every("stop check", self.interval, self.check)
