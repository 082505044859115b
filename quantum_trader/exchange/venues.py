"""Which ccxt venues qtrader trades on, checked before anything is sent, and their clients.

A venue is any ccxt exchange whose ``has`` says it can do what the daemon needs (``NEEDS``): trade
USDT-margined linear swaps, place a stop-loss trigger order, and read what the liquidation guard,
the book and reconciliation read. Anything missing refuses the venue with the reasons, at config
load, before a key is read. ``binanceusdm`` gets its own adapter (algo stops on the mark price,
streams); every other venue the generic one (:class:`exchange.ccxt_futures.CcxtFutures`).
``exchange.adapter = "generic"`` drives Binance through the generic adapter too.

``--testnet`` on Binance is its demo trading (:mod:`exchange.binance_client`); elsewhere it is
ccxt's sandbox mode, refused where ccxt knows no sandbox URL, and checked to have switched.
"""

from __future__ import annotations

from typing import Any

from quantum_trader.exchange.base import FatalExchangeError
from quantum_trader.exchange.binance_client import ConfigError, make_client
from quantum_trader.logging import register_secret

BINANCE = "binanceusdm"
#: capability (ccxt ``has`` key, or alternatives) → what it is needed for
NEEDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("swap",), "perpetual swaps"),
    (("createOrder",), "orders"),
    (("createStopLossOrder",), "a stop-loss trigger order, the hard stop"),
    (("cancelOrder",), "cancelling orders"),
    (("fetchOrder",), "reading an order back, never retrying one blind"),
    (("fetchOpenOrders",), "open orders, for reconciliation"),
    (("fetchPositions",), "positions, for reconciliation"),
    (("fetchBalance",), "the balance, for the risk limits"),
    (("fetchMyTrades",), "trade history: fees, fills while away"),
    (("setLeverage",), "setting the leverage"),
    (("fetchLeverageTiers", "fetchMarketLeverageTiers"), "margin tiers, for the liquidation guard"),
    (("fetchOHLCV",), "candles"),
)


def venue_class(exchange_id: str) -> Any:
    import ccxt.async_support as ccxt_async
    import ccxt.pro as ccxt_pro

    if exchange_id not in ccxt_async.exchanges:
        raise ConfigError(f"exchange_id {exchange_id!r} is not a ccxt exchange id")
    return getattr(ccxt_pro, exchange_id, None) or getattr(ccxt_async, exchange_id)


def venue_problems(exchange_id: str) -> list[str]:
    """What the venue lacks, as reasons; empty when qtrader can trade on it."""
    has = venue_class(exchange_id)().has
    return [
        f"{' or '.join(keys)}: {why}" for keys, why in NEEDS if not any(has.get(k) for k in keys)
    ]


def check_venue(exchange_id: str) -> None:
    problems = venue_problems(exchange_id)
    if problems:
        raise ConfigError(f"exchange_id {exchange_id!r}: ccxt says it lacks {'; '.join(problems)}")


def venue_client(
    exchange_id: str,
    mode: str,
    key: str,
    secret: str,
    password: str | None = None,
    url_override: str | None = None,
    timeout_ms: int = 10_000,
    recv_window_ms: int = 5_000,
) -> Any:
    """The trading client: REST and, where ccxt.pro has the venue, websockets."""
    if exchange_id == BINANCE:
        return make_client(
            mode, key, secret, url_override, timeout_ms, recv_window_ms=recv_window_ms
        )
    check_venue(exchange_id)
    if url_override:
        raise ConfigError("exchange.url_override is the fake Binance server's: binanceusdm only")
    for text in (key, secret, password or ""):
        register_secret(text)
    client = venue_class(exchange_id)(
        {
            "apiKey": key,
            "secret": secret,
            **({"password": password} if password else {}),
            "enableRateLimit": True,
            "timeout": timeout_ms,
            "options": {"defaultType": "swap"},
        }
    )
    if mode == "testnet":
        if not client.urls.get("test"):
            raise ConfigError(f"--testnet: ccxt knows no sandbox for {exchange_id}")
        client.set_sandbox_mode(True)
        if client.urls.get("api") != client.urls.get("test"):
            raise FatalExchangeError(f"--testnet: {exchange_id} did not switch to its sandbox")
    elif mode != "live":
        raise ConfigError(f"unknown exchange mode {mode!r}")
    return client


def venue_adapter(
    exchange_id: str, client: Any, mode: str, sweep_s: float = 30.0, generic: bool = False
) -> Any:
    """The adapter for the venue: Binance's own unless ``generic``."""
    name = f"{'binance' if exchange_id == BINANCE else exchange_id}-{mode}"
    if exchange_id == BINANCE and not generic:
        from quantum_trader.exchange.binance import BinanceUsdm

        return BinanceUsdm(client, name, sweep_s=sweep_s)
    from quantum_trader.exchange.ccxt_futures import CcxtFutures

    return CcxtFutures(client, name, sweep_s=sweep_s)
