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
