"""Issue 11, item 2: monitoring from state, not from the exchange. ``/health`` used to read the
exchange on every request — answering 500 exactly when it was down — and the health loop had no
error handling, so an outage counted as task crashes and the daemon exited. Here the exchange
goes down for several refresh intervals mid-run: every ``/health`` answers 200 within its 2 s
timeout, says the account view is failing, and the daemon runs on to its duration."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from quantum_trader.app import Daemon
from quantum_trader.exchange.base import Balance, Position, TemporaryExchangeError
from quantum_trader.exchange.paper import PaperExchange
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed
from quantum_trader.settings import Settings

SYMBOLS = ("BTC/USDT:USDT",)


class Outage(PaperExchange):
    down = False

    async def fetch_balance(self) -> Balance:
        if self.down:
            raise TemporaryExchangeError("503 Service Unavailable")
        return await super().fetch_balance()

    async def fetch_positions(self) -> list[Position]:
        if self.down:
            raise TemporaryExchangeError("503 Service Unavailable")
        return await super().fetch_positions()


def test_health_answers_from_state_through_an_exchange_outage() -> None:
    settings = Settings(
        api={"port": 0},
        signals={"symbols": SYMBOLS},
        rl={"enabled": False},
        runtime={"health_interval_seconds": 0.2, "account_refresh_seconds": 0.2},
    )
    exchange = Outage()
    feed = SyntheticFeed(SYMBOLS, seed=3, speed=300.0, warmup=60, drift=TREND_DRIFT)
    daemon = Daemon(settings, feed, exchange=exchange, duration_s=5.0)
    answers: list[tuple[int, float, dict[str, Any]]] = []
    scraped: list[str] = []

    async def poll() -> None:
        for _ in range(200):  # the API is listening within a second or two
            if daemon.api is not None and daemon.api.bound_port:
                break
            await asyncio.sleep(0.05)
        assert daemon.api is not None and daemon.api.bound_port
        url = f"http://127.0.0.1:{daemon.api.bound_port}/health"
        await asyncio.sleep(0.5)
        exchange.down = True  # an outage of ~3 s: fifteen refresh intervals
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            for _ in range(12):
                started = time.perf_counter()
                async with session.get(url) as r:
                    answers.append((r.status, time.perf_counter() - started, await r.json()))
                await asyncio.sleep(0.25)
            async with session.get(url.replace("/health", "/metrics")) as r:
                assert r.status == 200
                scraped.append(await r.text())
        exchange.down = False

    async def main() -> int:
        poller = asyncio.create_task(poll())
        code = await daemon.run()
        await poller
        return code

    assert asyncio.run(main()) == 0  # ran to its duration: the outage was no crash
    assert len(answers) == 12
    assert all(status == 200 for status, _, _ in answers)
    assert max(seconds for _, seconds, _ in answers) < 0.5
    assert any("503" in a["account"]["error"] for _, _, a in answers)
    assert sum(daemon.supervisor.restarts.values()) == 0
    (text,) = scraped  # prometheus_client: state, the exchange's latency histogram, the process
    assert 'qtrader_health_score{module="exchange"}' in text
    assert 'qtrader_exchange_call_seconds_bucket{le="0.005",method="fetch_balance"}' in text
    assert "process_cpu_seconds_total" in text and "qtrader_account_view_age_seconds" in text
