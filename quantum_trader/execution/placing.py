"""Placing orders when answers get lost. Binance lets a client order id be reused once its order
is no longer open, so a lost answer is never simply retried: the order is looked up by its client
id until the exchange says definitely whether it exists, and only a definite "no" sends again.

"Not found" is only definite once the request can no longer be executed: a request held up in
the network may still reach the matching engine later — but never after its ``recvWindow`` has
passed (Binance rejects it then). So before a resend, the look-up is repeated after
``exchange.order_expiry_ms`` from the moment the request was sent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from loguru import logger

from quantum_trader.core.order_state import OrderState
from quantum_trader.core.types import OrderSide
from quantum_trader.exchange.base import (
    Exchange,
    ExchangeError,
    Order,
    OrderRejected,
    TemporaryExchangeError,
)
from quantum_trader.execution.book import ManagedPosition
from quantum_trader.execution.ledger import Ledger

log = logger.bind(component="execution")


async def look_up(
    exchange: Exchange, symbol: str, cid: str, tries: int, base: float, need_fill: bool
) -> Order | None:
    """The order if it exists (filled, when ``need_fill``), None if the exchange says it does not;
    raises when the exchange never answers definitely."""
    for look in range(tries):
        await asyncio.sleep(min(8.0, base * 2**look))
        try:
            found = await exchange.fetch_order_by_client_id(symbol, cid)
        except TemporaryExchangeError as exc:
            log.warning("{} look-up failed ({}): looking again, not resending", cid, exc)
            continue
        if found is None or not need_fill or found.filled_qty > 0:
            return found
        log.warning("{} exists but is not filled yet ({}): looking again", cid, found.status)
    raise TemporaryExchangeError(f"{cid}: state unknown after {tries} look-ups")


async def send_once(
    exchange: Exchange,
    symbol: str,
    cid: str,
    create: Callable[[], Awaitable[Order]],
    attempts: int,
    base: float,
    on_attempt: Callable[[], Awaitable[None]] | None = None,
    need_fill: bool = True,
) -> Order:
    """Send an order; after a lost answer look it up; resend only on a definite "not there"."""
    expiry_s = getattr(exchange, "order_expiry_ms", 0) / 1000
    for attempt in range(attempts):
        if on_attempt is not None:
            await on_attempt()
        sent = time.monotonic()
        try:
            return await create()
        except TemporaryExchangeError as exc:
            log.warning("{} attempt {} got no answer: {}", cid, attempt + 1, exc)
        found = await look_up(exchange, symbol, cid, attempts, base * 2**attempt, need_fill)
        wait = sent + expiry_s - time.monotonic()
        if found is None and wait > 0:  # it may still arrive: ask again once it no longer can
            log.warning(
                "{} not found yet; asking again in {:.2f}s, when it cannot arrive", cid, wait
            )
            await asyncio.sleep(wait)
            found = await look_up(exchange, symbol, cid, attempts, base, need_fill)
        if found is not None:
            return found
    raise TemporaryExchangeError(f"{cid} not confirmed after {attempts} attempts")


async def until_known(
    exchange: Exchange, symbol: str, cid: str, base: float, patience_s: float = 1_800.0
) -> Order | None:
    """An entry whose state stayed unknown through every retry: keep asking (backing off to a
    minute) until the exchange says whether it exists — a filled entry must not go unprotected.
    Gives up only after ``patience_s``; reconciliation at the next start settles it then."""
    delay, deadline = base, time.monotonic() + patience_s
    while True:
        try:
            return await look_up(exchange, symbol, cid, 1, delay, need_fill=True)
        except TemporaryExchangeError:
            if time.monotonic() > deadline:
                raise
            delay = min(60.0, delay * 2)


async def send_stop(
    exchange: Exchange, ledger: Ledger, mp: ManagedPosition, cid: str, price: float, base: float
) -> Order:
    """A position's close-position stop: journaled first, a lost answer looked up, and a failure
    journaled as ``rejected`` (a definite no) or ``unknown``; the caller decides what follows."""
    plan = mp.opened.plan
    side = OrderSide.to_close(plan.side)
    ledger.orders.submitted(
        mp.opened.intent_id, cid, "stop", plan.symbol, side.value, "STOP_MARKET", 0, price
    )
    try:
        return await send_once(
            exchange,
            plan.symbol,
            cid,
            lambda: exchange.create_stop_market(plan.symbol, side, price, cid),
            2,
            base,
            need_fill=False,
        )
    except ExchangeError as exc:
        ledger.orders.move(
            cid, OrderState.REJECTED if isinstance(exc, OrderRejected) else OrderState.UNKNOWN
        )
        raise
