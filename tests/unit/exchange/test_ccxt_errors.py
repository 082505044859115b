"""ccxt's exceptions mapped once: Binance codes first, classes otherwise; the retry policy."""

from __future__ import annotations

import ccxt.async_support as ccxt_async
import pytest

from quantum_trader.exchange.base import FatalExchangeError, OrderRejected, TemporaryExchangeError
from quantum_trader.exchange.ccxt_errors import backoff_seconds, call, clean, map_error

E = ccxt_async.ExchangeError
CASES = [
    (E('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}'), OrderRejected, "-2019"),
    (E('binanceusdm {"code":-4164,"msg":"notional"}'), OrderRejected, "-4164"),
    (E('binanceusdm {"code":-4116,"msg":"dup"}'), OrderRejected, "-4116"),
    (ccxt_async.InvalidOrder('binanceusdm {"code":-4120,"msg":"algo"}'), OrderRejected, "-4120"),
    (E('binanceusdm {"code":-2015,"msg":"Invalid API-key"}'), FatalExchangeError, None),
    (E('binanceusdm {"code":-1001,"msg":"disconnected"}'), TemporaryExchangeError, None),
    (
        ccxt_async.RequestTimeout("binanceusdm POST http://x/fapi/v1/order"),
        TemporaryExchangeError,
        None,
    ),
    (ccxt_async.DDoSProtection("binanceusdm 429 Too Many Requests"), TemporaryExchangeError, None),
    (ccxt_async.ExchangeNotAvailable("binanceusdm 503"), TemporaryExchangeError, None),
    (ccxt_async.AuthenticationError("binanceusdm bad key"), FatalExchangeError, None),
    (ccxt_async.InsufficientFunds("binanceusdm no money"), OrderRejected, "-2019"),
]


@pytest.mark.parametrize(("exc", "kind", "code"), CASES)
def test_mapping(exc: Exception, kind: type, code: str | None) -> None:
    mapped = map_error(exc)
    assert type(mapped) is kind
    if code is not None:
        assert isinstance(mapped, OrderRejected) and mapped.code == code


def test_signed_queries_are_cut_from_messages() -> None:
    text = clean("GET https://x/fapi/v1/order?symbol=BTCUSDT&timestamp=1&signature=abcdef 500")
    assert "signature" not in text and "abcdef" not in text and text.endswith("?… 500")


def test_backoff_follows_retry_after_for_429_and_418() -> None:
    ddos = ccxt_async.DDoSProtection("binanceusdm 429 Too Many Requests")
    assert backoff_seconds(ddos, 0, "7") == 7.0
    assert backoff_seconds(ddos, 0, "0") == 1.0  # never hammer
    assert backoff_seconds(ddos, 2, None) == 8.0
    banned = ccxt_async.DDoSProtection("binanceusdm 418 I'm a teapot")
    assert backoff_seconds(banned, 0, None) == 30.0
    assert backoff_seconds(ccxt_async.RequestTimeout("t"), 3, None) == 2.0


async def test_call_retries_temporary_errors_only() -> None:
    slept: list[float] = []
    attempts = {"n": 0}

    async def flaky() -> str:
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise ccxt_async.RequestTimeout("t")
        return "ok"

    async def sleep(s: float) -> None:
        slept.append(s)

    assert await call("read", flaky, retries=4, sleep=sleep) == "ok"
    assert slept == [0.25, 0.5]

    async def refused() -> str:
        raise ccxt_async.ExchangeError('{"code":-2019,"msg":"Margin is insufficient."}')

    with pytest.raises(OrderRejected):
        await call("order", refused, retries=4, sleep=sleep)
    assert slept == [0.25, 0.5]  # a definite no is not retried
