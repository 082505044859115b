"""Logging: one sink, stdlib intercepted, secrets masked whoever logs them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from loguru import logger

from quantum_trader.logging import _SECRETS, register_secret, setup_logging


@pytest.fixture
def lines() -> Iterator[list[str]]:
    setup_logging("DEBUG", journald=True)
    captured: list[str] = []
    sink = logger.add(captured.append, format="{extra[component]} | {message}", level="DEBUG")
    yield captured
    logger.remove(sink)
    _SECRETS.clear()


def test_stdlib_logging_is_routed_through_loguru(lines: list[str]) -> None:
    logging.getLogger("ccxt.base.exchange").warning("rate limited: %s", "429")
    assert any(line.startswith("ccxt | rate limited: 429") for line in lines)


def test_registered_secrets_are_masked(lines: list[str]) -> None:
    register_secret("API-KEY-123456")
    logger.info("signing with API-KEY-123456 now")
    logging.getLogger("aiohttp.client").error("header X-MBX-APIKEY: API-KEY-123456")
    joined = "\n".join(lines)
    assert "API-KEY-123456" not in joined
    assert joined.count("***") == 2


def test_short_values_are_not_treated_as_secrets(lines: list[str]) -> None:
    register_secret("ab")
    logger.info("a b ab")
    assert lines[-1].endswith("a b ab\n")


def test_keys_read_from_a_keys_file_are_masked_in_ccxt_debug_lines(
    lines: list[str], tmp_path: object
) -> None:
    """Issue 11, item 11: keys from the environment were masked, keys from ``exchange.keys_file``
    were not — ccxt's DEBUG request lines printed them (113 times in 14 s)."""
    from pathlib import Path

    from quantum_trader.exchange.binance_client import read_keys_file

    path = Path(str(tmp_path)) / "keys"
    path.write_text("KEY=file-key-0123456789abcdef\nSECRET=file-secret-fedcba9876543210\n")
    path.chmod(0o600)
    key, secret = read_keys_file(path)
    logging.getLogger("ccxt.base.exchange").debug(
        "GET https://demo-fapi.binance.com/fapi/v2/balance?signature=x, Request: "
        "{'X-MBX-APIKEY': '%s'} secret %s",
        key,
        secret,
    )
    joined = "\n".join(lines)
    assert "file-key-0123456789abcdef" not in joined
    assert "file-secret-fedcba9876543210" not in joined


def test_under_journald_each_line_carries_its_syslog_priority(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 11, item 7: every line went to journald at priority 6, so ``journalctl -p warning``
    showed nothing; the symbol is in the line when bound."""
    setup_logging("DEBUG", journald=True)
    logger.bind(component="exits", symbol="BTC/USDT:USDT").warning("stop moved")
    logger.info("running")
    logger.critical("LIQUIDATED")
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("<4>WARNING exits      BTC/USDT:USDT | stop moved")
    assert err[1].startswith("<6>INFO") and err[2].startswith("<2>CRITICAL")
