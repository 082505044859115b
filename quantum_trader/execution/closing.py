"""How a trade ends: booked and published the moment the position is flat (the book must say so at
once, even while REST fails), then its leftover orders cancelled and any stale one swept. Part of
the exit manager (:class:`~quantum_trader.execution.exits.ExitManager` inherits it)."""

from __future__ import annotations

from loguru import logger

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import PnlExperience, PositionClosed, Topic
from quantum_trader.core.pnl import realised_pnl
from quantum_trader.exchange.base import Exchange, ExchangeError, OrderRejected
from quantum_trader.execution.book import Book, ManagedPosition, client_id, closed_trade
from quantum_trader.execution.ledger import Ledger
from quantum_trader.runtime.clock import Clock
from quantum_trader.runtime.crash import crashpoint

log = logger.bind(component="exits")


class Closing:
    bus: Bus
    exchange: Exchange
    book: Book
    ledger: Ledger
    clock: Clock

    async def _sweep(self, mp: ManagedPosition) -> None:
        """Any order of this trade still open (one whose answer was lost, say) goes too: a stale
        close-position stop would otherwise close the next position on the symbol."""
        prefix = client_id(mp.opened.intent_id, "")
        try:
            stale = [
                o
                for o in await self.exchange.fetch_open_orders(mp.symbol)
                if o.client_id.startswith(prefix)
            ]
        except ExchangeError as exc:
            log.warning("{} open orders not checked after the close ({})", mp.symbol, exc)
            return
        for o in stale:
            log.warning("{} stale order {} cancelled", mp.opened.intent_id, o.client_id)
            await self._cancel(mp.symbol, o.id)

    async def _cancel(self, symbol: str, order_id: str) -> None:
        """A refused cancel (the order is gone) leaves it ``CANCELLING``: if it filled, its fill
        arrives and wins."""
        self.ledger.orders.cancelling(order_id)
        try:
            await self.exchange.cancel_order(symbol, order_id)
        except OrderRejected:
            return  # already gone: filled, expired or cancelled — its fill, if any, is booked
        except ExchangeError as exc:
            log.warning(
                "cancel of {} {} failed ({}); reconciliation retries it", symbol, order_id, exc
            )
            return
        self.ledger.orders.cancelled(order_id)

    async def _finalise(self, mp: ManagedPosition, reason: str) -> None:
        """The trade booked and published first (the position is flat on the exchange: its
        book must say so now, even while REST fails), then its leftover orders cancelled."""
        mp.closing = True
        plan, opened = mp.opened.plan, mp.opened
        try:
            funding = await self.exchange.funding_paid(plan.symbol, plan.opened_ts)
        except ExchangeError as exc:  # the wallet has the real figure; the limits read it
            log.warning("{} funding not read ({}): booked as 0", opened.intent_id, exc)
            funding = 0.0
        pnl = realised_pnl(
            plan.side, plan.entry_price, opened.entry_fee, plan.margin, mp.exits, funding
        )
        now = self.clock.now_ms()
        closed = closed_trade(mp, pnl, reason, now)
        crashpoint("finalise")
        self.ledger.closed(closed)
        self.book.record_close(closed)
        log.info(
            "{} closed {} {} by {}: pnl {:+,.2f} USDT (gross {:+,.2f}, fees {:,.2f}, funding "
            "{:+,.2f}) roe {:+.2%} legs {}",
            opened.intent_id,
            plan.symbol,
            plan.side,
            reason,
            pnl.net,
            pnl.gross,
            pnl.fees,
            pnl.funding,
            pnl.roe,
            mp.state.legs_done,
        )
        try:
            await self._publish_close(mp, closed, now)
        finally:
            for order_id in [mp.stop_order_id, *mp.tp_orders]:
                if order_id is not None:
                    await self._cancel(plan.symbol, order_id)
            await self._sweep(mp)
            self.ledger.orders.forget(opened.intent_id)

    async def _publish_close(self, mp: ManagedPosition, closed: PositionClosed, now: int) -> None:
        opened, plan = mp.opened, mp.opened.plan
        await self.bus.publish(Topic.POSITION_CLOSED, closed)
        if closed.exit_reason.endswith("_estimated"):
            log.warning("{} closed with an estimated exit: not an experience", opened.intent_id)
            return
        experience = PnlExperience(
            opened.intent_id,
            opened.rl_state,
            opened.multiplier,
            plan.leverage,
            closed.roe,
            opened.confidence,
            now,
            opened.target_leverage or plan.leverage,
            opened.logp,
        )
        await self.bus.publish(Topic.PNL, experience)
