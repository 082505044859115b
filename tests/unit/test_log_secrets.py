"""Secrets never appear in any log format at any level (issue 28, item 8): with canary keys
registered, nothing the daemon's one sink writes holds them — the text and the JSON format, under
journald or not, at TRACE, whether a secret comes through a loguru template, bound extra data, a
stdlib logger (ccxt's DEBUG request lines), an exception's message or its traceback. Before,
``--log-json`` wrote loguru's raw record, whose ``template`` (and ``extra``) kept the key."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from loguru import logger

from quantum_trader.logging import _SECRETS, register_secret, setup_logging

KEY, SECRET = "CANARY-KEY-8f3a91c2d7", "CANARY-SECRET-55e0b4a61f"


class Boom(Exception):
    def __str__(self) -> str:  # a message not in its args: masked all the same
        return f"signature failed for {SECRET}"


def every_path() -> None:
    logger.trace("template " + KEY)
    logger.debug("formatted {}", SECRET)
    logger.bind(api_key=KEY, nested={"secret": SECRET}).info("bound extra")
    logging.getLogger("ccxt.base.exchange").debug("GET /fapi?apiKey=%s&sig=%s", KEY, SECRET)
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        logger.exception("boom")
    try:
        raise Boom()
    except Boom:
        logger.opt(exception=True).error("custom")


@pytest.fixture
def written(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    yield
    _SECRETS.clear()
    setup_logging("INFO")


@pytest.mark.parametrize("json_lines", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("journald", [False, True], ids=["tty", "journald"])
def test_canary_keys_never_reach_the_sink(
    json_lines: bool, journald: bool, written: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("TRACE", json_lines=json_lines, journald=journald)
    register_secret(KEY)
    register_secret(SECRET)
    every_path()
    err = capsys.readouterr().err
    assert err.count("\n") >= 6  # every path wrote
    assert KEY not in err and SECRET not in err
    assert "***" in err
    if json_lines:  # one flat object per line, after journald's priority prefix
        for line in (x for x in err.splitlines() if x.strip()):
            obj = json.loads(line[3:] if journald else line)
            assert {"time", "level", "priority", "component", "message"} <= set(obj)
            if journald:  # journalctl -p warning reads it
                assert line.startswith(f"<{obj['priority']}>{{")
