"""The external HTTP signal source against a real local aiohttp server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from quantum_trader.signals.http_source import HttpSignalSource


@pytest.fixture
async def engine() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {
        "reply": {"action": "BUY", "confidence": 0.8},
        "status": 200,
        "delay": 0.0,
        "bodies": [],
    }

    async def handler(request: web.Request) -> web.Response:
        state["bodies"].append(await request.json())
        await asyncio.sleep(state["delay"])
        if isinstance(state["reply"], str):
            return web.Response(text=state["reply"], status=state["status"])
        return web.json_response(state["reply"], status=state["status"])

    app = web.Application()
    app.router.add_post("/api/ai/signal", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", state
    await runner.cleanup()


async def test_answers_and_failures(engine: tuple[str, dict[str, Any]]) -> None:
    url, state = engine
    src = HttpSignalSource(url, timeout_s=0.3)
    try:
        call = await src.ask("BTC/USDT:USDT", 30_000.0, 12.0, "15m")
        assert call is not None and (call.side, call.confidence) == ("LONG", 0.8)
        assert state["bodies"][0] == {
            "symbol": "BTC/USDT:USDT",
            "price": 30_000.0,
            "volume": 12.0,
            "timeframe": "15m",
        }
        state["reply"] = {"action": "HOLD", "confidence": 0.4}
        hold = await src.ask("BTC/USDT:USDT", 30_000.0, 12.0, "15m")
        assert hold is not None and hold.side is None
        bad_cases: list[tuple[Any, int, float, str]] = [
            ({"action": "SELL", "confidence": 1.7}, 200, 0.0, "not in [0, 1]"),
            ({"action": "MOON", "confidence": 0.7}, 200, 0.0, "expected LONG/SHORT"),
            ("<html>oops</html>", 200, 0.0, "ContentTypeError|JSONDecodeError|Error"),
            ({"action": "BUY", "confidence": 0.7}, 503, 0.0, "HTTP 503"),
            ({"action": "BUY", "confidence": 0.7}, 200, 1.0, "TimeoutError"),
        ]
        for reply, status, delay, fragment in bad_cases:
            state.update(reply=reply, status=status, delay=delay)
            assert await src.ask("BTC/USDT:USDT", 1.0, 1.0, "15m") is None
            assert any(f in src.last_error for f in fragment.split("|")), src.last_error
        assert (src.calls, src.failures) == (7, 5)
    finally:
        await src.close()


async def test_unreachable_engine_is_a_counted_failure() -> None:
    src = HttpSignalSource("http://127.0.0.1:9", timeout_s=0.5)
    try:
        assert await src.ask("BTC/USDT:USDT", 1.0, 1.0, "15m") is None
        assert src.failures == 1 and "ClientConnectorError" in src.last_error
    finally:
        await src.close()
