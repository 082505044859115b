"""While the daemon runs: every open position's stop must be live on the exchange. A stop that
vanished — cancelled by hand in the exchange's UI, expired by the exchange — is placed again at
once, at the position's current stop price, and the event is logged as an error."""

from __future__ import annotations

import asyncio

from loguru import logger

from quantum_trader.exchange.base import Exchange
from quantum_trader.execution.book import Book
from quantum_trader.execution.exits import ExitManager
from quantum_trader.monitoring.account import AccountView
from quantum_trader.runtime.loops import every

log = logger.bind(component="stopwatch")


class StopWatch:
    def __init__(
        self,
        exchange: Exchange,
        book: Book,
        exits: ExitManager,
        interval: float,
        account: AccountView | None = None,
    ) -> None:
        self.exchange, self.book, self.exits, self.interval = exchange, book, exits, interval
        self.account = account  # told what each read found: /health shows confirmed stops
        self.replaced = 0

    async def check(self) -> int:
        """One pass; the number of stops placed again. One symbol at a time (Binance weighs an
        all-symbol open-orders read 40, one symbol 1); positions are read only when a stop is
        missing."""
        replaced = 0
        for mp in list(self.book.positions.values()):
            stop_id = mp.stop_order_id
            if mp.closing or stop_id is None:
                continue
            orders = await self.exchange.fetch_open_orders(mp.symbol)
            if self.account is not None:
                self.account.saw_orders(mp.symbol, stop_id, orders)
            if stop_id in {o.id for o in orders} or mp.stop_order_id != stop_id or mp.closing:
                continue  # live, or moved meanwhile (moves are new-first-then-cancel)
            held = {p.symbol for p in await self.exchange.fetch_positions()}
            if mp.symbol not in held or mp.symbol not in self.book.positions:
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
