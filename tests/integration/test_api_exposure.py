"""The API's exposure (issue 28, item 9): binding beyond loopback needs an explicit opt-in and
then every request needs the token; a connection that never completes a request is closed; a
malformed request is answered 400 and logged in one line, without a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from loguru import logger

from quantum_trader.api.server import ApiServer
from quantum_trader.cli import main
from quantum_trader.logging import setup_logging

TOKEN = "t" * 32


async def snap() -> dict[str, object]:
    return {"health": {"status": "HEALTHY"}}


@pytest.fixture
async def api() -> AsyncIterator[ApiServer]:
    server = ApiServer(snap, "127.0.0.1", 0, lambda s: "m 1\n", {}, TOKEN, idle_timeout=0.5)
    await server.start()
    yield server
    await server.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7"])  # noqa: S104 - what is refused
def test_a_bind_beyond_loopback_needs_the_opt_in(
    host: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QT_API__HOST", host)
    assert main(["check-config"]) == 78
    assert "api.allow_remote" in capsys.readouterr().err
    monkeypatch.setenv("QT_API__ALLOW_REMOTE", "true")
    assert main(["check-config"]) == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "localhost"])
def test_loopback_binds_need_nothing(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_API__HOST", host)
    assert main(["check-config"]) == 0


async def test_beyond_loopback_every_request_needs_the_token() -> None:
    server = ApiServer(snap, "127.0.0.1", 0, lambda s: "m 1\n", {}, TOKEN, token_for_all=True)
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.bound_port}"
        async with ClientSession() as http:
            for path in ("/health", "/metrics"):
                async with http.get(base + path) as r:
                    assert r.status == 401
                auth = {"Authorization": f"Bearer {TOKEN}"}
                async with http.get(base + path, headers=auth) as r:
                    assert r.status == 200
    finally:
        await server.stop()


async def test_a_silent_or_slow_connection_is_closed(api: ApiServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.bound_port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    await writer.drain()
    async with asyncio.timeout(30):  # a generous bound: closed after idle_timeout (0.5 s)
        assert await reader.read() == b""  # EOF: the server closed it
    writer.close()


async def test_a_malformed_request_is_a_400_and_one_line(
    api: ApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("DEBUG")
    lines: list[str] = []
    sink = logger.add(lines.append, level="DEBUG", format="{level} {message}")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.bound_port)
        writer.write(b"\x16\x03\x01 garbage that is not http\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(30):
            answer = await reader.read()
        writer.close()
    finally:
        logger.remove(sink)
    assert answer.split(b" ")[1] == b"400"  # a TLS hello on the plain port
    text = "".join(lines)
    assert "Traceback" not in text and "ERROR" not in text
    assert sum("malformed request" in x for x in lines) == 1, lines
