"""ccxt's exceptions mapped once into the adapter's two families, and the retry policy.

Binance's numeric code decides first (it survives any URL, also the fake server's, where ccxt's
per-market tables do not apply); ccxt's class decides otherwise — on every other venue, where
``DuplicateOrderId``, ``OrderNotFound`` and ``MarginModeAlreadySet`` are the answers the adapter
acts on. Messages are cut short and never
carry credentials: ccxt puts the URL (with its signed query, not the secret) in some messages, so
the query string is dropped.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

import ccxt.async_support as ccxt_async
from loguru import logger

from quantum_trader.exchange.base import (
    ExchangeError,
    FatalExchangeError,
    OrderRejected,
    TemporaryExchangeError,
)

log = logger.bind(component="venue")
T = TypeVar("T")
CODE = re.compile(r'"code"\s*:\s*(-?\d+)')
QUERY = re.compile(r"\?\S*")
#: Definite answers about one order: never retried as they are.
REJECT_CODES = frozenset(
    {
        "-1111",  # precision
        "-1116",  # invalid order type
        "-2010",
        "-2011",  # unknown order (cancel of a finished order)
        "-2013",  # order does not exist
        "-2019",  # margin insufficient
        "-2021",  # stop would trigger immediately
        "-2022",  # reduce-only rejected
        "-4003",  # quantity
        "-4046",  # no need to change margin type
        "-4116",  # client order id duplicated
        "-4120",  # conditional order sent to the plain order endpoint
        "-4164",  # min notional
        "-4028",  # leverage not valid
    }
)
FATAL_CODES = frozenset({"-2014", "-2015", "-1022", "-4059"})  # key, permissions, signature, mode
TEMPORARY_CODES = frozenset({"-1001", "-1003", "-1007", "-1008", "-1021", "-1000"})


#: ccxt's classes for a definite "no" about one order → the code the adapters act on
REJECTIONS: tuple[tuple[type[Exception], str], ...] = (
    (ccxt_async.InsufficientFunds, "-2019"),
    (ccxt_async.DuplicateOrderId, "duplicate"),  # the order exists: looked up, not resent
    (ccxt_async.OrderNotFound, "not-found"),
    (ccxt_async.MarginModeAlreadySet, "margin-mode-set"),
    (ccxt_async.InvalidOrder, "invalid"),
    (ccxt_async.BadRequest, "bad-request"),
    (ccxt_async.BadSymbol, "bad-request"),
)


def binance_code(exc: BaseException) -> str | None:
    match = CODE.search(str(exc))
    return match.group(1) if match else None


def clean(message: str, limit: int = 300) -> str:
    return QUERY.sub("?…", message)[:limit]


def map_error(exc: Exception) -> ExchangeError:
    """One ccxt exception → TemporaryExchangeError | FatalExchangeError | OrderRejected."""
    if isinstance(exc, ExchangeError):
        return exc
    code, text = binance_code(exc), clean(f"{type(exc).__name__}: {exc}")
    kind = next((name for klass, name in REJECTIONS if isinstance(exc, klass)), "")
    if code in REJECT_CODES:
        return OrderRejected(code, text, kind)
    if code in FATAL_CODES:
        return FatalExchangeError(text)
    if code in TEMPORARY_CODES:
        return TemporaryExchangeError(text)
    temporary = (
        ccxt_async.NetworkError,  # timeouts, DDoSProtection (429/418), unavailable, 5xx
        ccxt_async.RateLimitExceeded,
        ccxt_async.OnMaintenance,
    )
    if isinstance(exc, temporary):
        return TemporaryExchangeError(text)
    if isinstance(exc, ccxt_async.AuthenticationError | ccxt_async.PermissionDenied):
        return FatalExchangeError(text)
    if kind:  # the most specific class first (REJECTIONS' order)
        return OrderRejected(code or kind, text, kind)
    if isinstance(exc, ccxt_async.BaseError):
        return TemporaryExchangeError(text)
    return TemporaryExchangeError(clean(f"{type(exc).__name__}: {exc}"))


def retry_after_of(client: object) -> str | None:
    """The last answer's Retry-After header (any case), as ccxt keeps it on the client."""
    headers = getattr(client, "last_response_headers", None) or {}
    return next((str(v) for k, v in headers.items() if str(k).lower() == "retry-after"), None)


def rate_limited(exc: BaseException) -> bool:
    """A 429 (rate limit) or 418 (IP ban) answer: every REST caller must wait, not retry."""
    return isinstance(exc, ccxt_async.DDoSProtection | ccxt_async.RateLimitExceeded)


def backoff_seconds(exc: BaseException, attempt: int, retry_after: str | None = None) -> float:
    """429/418: wait what Retry-After says (Binance bans an IP that keeps going), at least 1 s;
    without it 2 s doubling (418: 30 s doubling). Other temporary errors: 0.25 s doubling."""
    if isinstance(exc, ccxt_async.DDoSProtection):
        if retry_after is not None:
            try:
                return float(min(300.0, max(1.0, float(retry_after))))
            except ValueError:
                pass
        base = 30.0 if " 418 " in f" {exc} " else 2.0
        return float(min(300.0, base * 2**attempt))
    return float(min(8.0, 0.25 * 2**attempt))


async def call(
    what: str,
    fn: Callable[[], Awaitable[T]],
    retries: int = 0,
    retry_after: Callable[[], str | None] = lambda: None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run one ccxt call; map its error; retry temporary ones ``retries`` times with backoff.
    Only idempotent calls (reads, cancels, settings) get ``retries`` > 0."""
    for attempt in range(retries + 1):
        try:
            return await fn()
        except Exception as exc:  # noqa: BLE001 - every ccxt error is mapped here, once
            mapped = map_error(exc)
            delay = backoff_seconds(exc, attempt, retry_after())
            if isinstance(mapped, TemporaryExchangeError) and rate_limited(exc):
                mapped.retry_after_s = delay  # whoever calls next waits this long
            if not isinstance(mapped, TemporaryExchangeError) or attempt == retries:
                raise mapped from None
            log.warning("{} failed ({}); retry {} in {:.1f}s", what, mapped, attempt + 1, delay)
            await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
