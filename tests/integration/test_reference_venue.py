"""The reference venue through the real ccxt client: ccxt's public binanceusdm (no keys) pointed
at the fake server, polled for its ticker, as `reference.exchange` polls a venue live."""

from __future__ import annotations

import ccxt.async_support as ccxt_async
import pytest
from aiohttp import web

from quantum_trader.exchange.binance_client import _override
from quantum_trader.runtime.health import HealthMonitor
from quantum_trader.signals.reference import LiveReference, divergence
from quantum_trader.testing.fake_binance import FakeBinance
from tests.integration.helpers import free_port


async def test_a_live_reference_reads_the_venue_through_the_real_ccxt_client() -> None:
    """The divergence follows the venue's price; a venue that goes away is counted."""
    fake = FakeBinance()
    runner = web.AppRunner(fake.app(), shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    client = ccxt_async.binanceusdm({"enableRateLimit": False, "timeout": 2_000})
    _override(client, f"http://127.0.0.1:{port}")
    health = HealthMonitor({"reference": 120.0}, {"reference": 0.05})
    ref = LiveReference(client, {"BTC/USDT:USDT": "BTC/USDT:USDT"}, health, stale_s=60)
    try:
        fake.account.set_price("BTCUSDT", 30_300.0)
        await ref.poll_once()
        assert ref.price("BTC/USDT:USDT", 0) == 30_300.0
        assert divergence(30_000.0, ref.price("BTC/USDT:USDT", 0)) == pytest.approx(
            0.0099, abs=1e-4
        )
        assert health.modules["reference"].seen and ref.errors == 0
        await runner.cleanup()  # the venue goes away: counted, the last price ages out
        await ref.poll_once()
        assert ref.errors == 1 and health.modules["reference"].last_error
    finally:
        await ref.close()
        await runner.cleanup()
