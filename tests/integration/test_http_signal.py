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
    src = HttpSignalSource(url, timeout_s=0.3, down_after=100)  # each failure on its own here
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
            ({"action": "MOON", "confidence": 0.7}, 200, 0.0, "action must be one of"),
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


async def test_answers_are_validated_strictly(engine: tuple[str, dict[str, Any]]) -> None:
    """Issue 11, item 12: a string "0.99" or ``true`` as confidence traded; a 50 MB body was
    parsed; a 400-digit number or deeply nested JSON became dead letters instead of counted source
    failures. Each is now a failure of the source with its reason, and nothing is raised."""
    url, state = engine
    src = HttpSignalSource(url, timeout_s=2.0, down_after=100)
    cases: list[tuple[Any, str]] = [
        ({"action": "BUY", "confidence": "0.99"}, "confidence must be a number"),
        ({"action": "BUY", "confidence": True}, "confidence must be a number"),
        ({"action": 1, "confidence": 0.9}, "action must be one of"),
        ('{"action": "BUY", "confidence": 0.9, "pad": "' + "x" * 50_000_000 + '"}', "over"),
        ('{"action": "BUY", "confidence": 1' + "0" * 400 + "}", "not in [0, 1]"),
        ("[" * 30_000 + "]" * 30_000, "nested"),  # under the size limit, far too deep
        ('{"action": "BUY", "confidence": NaN}', "not in [0, 1]"),
    ]
    try:
        for reply, fragment in cases:
            state["reply"] = reply
            assert await src.ask("BTC/USDT:USDT", 1.0, 1.0, "15m") is None, str(reply)[:80]
            assert fragment in src.last_error, (fragment, src.last_error)
        assert src.failures == len(cases)
    finally:
        await src.close()


async def test_a_hanging_engine_does_not_stall_every_call(
    engine: tuple[str, dict[str, Any]],
) -> None:
    """Issue 11, item 12: a hanging engine made every candle wait out the timeout; after three
    failures in a row calls fail at once (still counted) until the cooldown has passed."""
    url, state = engine
    state["delay"] = 2.0
    src = HttpSignalSource(url, timeout_s=0.2, cooldown_s=0.5)
    try:
        started = asyncio.get_running_loop().time()
        for _ in range(20):
            assert await src.ask("BTC/USDT:USDT", 1.0, 1.0, "15m") is None
        assert asyncio.get_running_loop().time() - started < 3 * 0.2 + 0.5  # not 20 × 0.2
        assert (src.calls, src.failures) == (20, 20) and "engine down" in src.last_error
        state["delay"] = 0.0
        await asyncio.sleep(0.6)  # the cooldown has passed: tried again, and it answers
        assert await src.ask("BTC/USDT:USDT", 1.0, 1.0, "15m") is not None
    finally:
        await src.close()
