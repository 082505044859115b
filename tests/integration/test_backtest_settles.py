"""A simulation never races itself (issue 27, item 8): when one candle's walk fills several of a
position's orders (TP1, TP2 and the stop or TP3), every fill is booked before the exit manager
reacts to any, so it never sends a close for a position the paper exchange has already closed —
an offline run shows no Binance error code. The shared XRP file did, twice, with the defaults."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from loguru import logger

from quantum_trader.backtest.runner import run_backtest
from quantum_trader.feeds.loader import load_candles
from quantum_trader.settings import Settings
from tests.integration.test_backtest_held import XRP, needs_data


@needs_data
@pytest.mark.parametrize("fast", [True, False])
def test_the_xrp_backtest_never_closes_what_is_already_closed(tmp_path: Path, fast: bool) -> None:
    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING", format="{message}")
    try:
        run = asyncio.run(run_backtest(Settings(), [load_candles(XRP)], {}, tmp_path, fast=fast))
    finally:
        logger.remove(sink)
    assert run.recorder.trades, "the defaults trade probes on this file"
    refused = [w for w in warnings if "refused" in w or "-20" in w]
    assert not refused, refused
