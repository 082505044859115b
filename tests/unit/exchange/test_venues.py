"""Which ccxt venues qtrader accepts, decided from ccxt's own ``has`` before anything is sent, and
the errors the venue-neutral adapter acts on, from ccxt's classes."""

from __future__ import annotations

import ccxt.async_support as ccxt_async
import pytest

from quantum_trader.exchange.base import OrderRejected
from quantum_trader.exchange.binance import BinanceUsdm
from quantum_trader.exchange.binance_client import ConfigError
from quantum_trader.exchange.ccxt_errors import map_error
from quantum_trader.exchange.ccxt_futures import CcxtFutures
from quantum_trader.exchange.venues import (
    check_venue,
    venue_adapter,
    venue_client,
    venue_problems,
)
from quantum_trader.settings import Settings


@pytest.mark.parametrize("venue", ["binanceusdm", "bybit", "okx", "bitget", "kucoinfutures"])
def test_venues_with_what_the_daemon_needs_are_accepted(venue: str) -> None:
    assert venue_problems(venue) == []


def test_a_spot_venue_is_refused_with_every_reason() -> None:
    problems = venue_problems("kraken")
    assert any(p.startswith("swap") for p in problems)
    assert any("stop-loss" in p for p in problems)
    assert any("setLeverage" in p for p in problems)
    with pytest.raises(ConfigError, match="kraken.*lacks swap"):
        check_venue("kraken")


def test_a_venue_without_maintenance_tiers_is_refused_for_the_liquidation_guard() -> None:
    [problem] = [p for p in venue_problems("hyperliquid") if "tiers" in p]
    assert "fetchLeverageTiers or fetchMarketLeverageTiers" in problem


def test_an_unknown_id_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a ccxt exchange id"):
        check_venue("nosuchexchange")


def test_settings_refuse_a_venue_at_load_and_accept_a_capable_one() -> None:
    assert Settings(exchange={"exchange_id": "bybit"}).exchange.exchange_id == "bybit"
    with pytest.raises(ValueError, match="exchange_id 'kraken': ccxt says it lacks swap"):
        Settings(exchange={"exchange_id": "kraken"})


def test_testnet_elsewhere_is_ccxts_sandbox_and_the_fake_url_is_binances_only() -> None:
    client = venue_client("bybit", "testnet", "k", "s")
    try:
        assert client.urls["api"] == client.urls["test"]  # no network: only the URLs switched
        assert type(venue_adapter("bybit", client, "testnet")) is CcxtFutures
    finally:
        import asyncio

        asyncio.run(client.close())
    with pytest.raises(ConfigError, match="no sandbox"):
        venue_client("bitget", "testnet", "k", "s", "p")
    with pytest.raises(ConfigError, match="binanceusdm only"):
        venue_client("bybit", "testnet", "k", "s", url_override="http://127.0.0.1:1")


def test_binance_gets_its_own_adapter_unless_generic_is_asked() -> None:
    client = venue_client("binanceusdm", "testnet", "k", "s")
    try:
        assert type(venue_adapter("binanceusdm", client, "testnet")) is BinanceUsdm
        assert type(venue_adapter("binanceusdm", client, "testnet", generic=True)) is CcxtFutures
    finally:
        import asyncio

        asyncio.run(client.close())


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ccxt_async.DuplicateOrderId("bybit duplicate orderLinkId"), "duplicate"),
        (ccxt_async.OrderNotFound("okx order does not exist"), "not-found"),
        (ccxt_async.MarginModeAlreadySet("bybit margin mode not modified"), "margin-mode-set"),
        (ccxt_async.InvalidOrder("bybit qty invalid"), "invalid"),
    ],
)
def test_the_answers_the_generic_adapter_acts_on_come_from_ccxts_classes(
    exc: Exception, kind: str
) -> None:
    mapped = map_error(exc)
    assert isinstance(mapped, OrderRejected) and mapped.kind == kind
    assert mapped.is_one_of((kind,))


def test_a_binance_code_keeps_the_class_kind_beside_it() -> None:
    mapped = map_error(ccxt_async.OrderNotFound('binanceusdm {"code":-2013,"msg":"no"}'))
    assert isinstance(mapped, OrderRejected)
    assert (mapped.code, mapped.kind) == ("-2013", "not-found")
