"""``qtrader flatten``: through the daemon (the pipeline on the fake Binance server, real ccxt
client) every position is closed at market, its stop and TP legs cancelled, new entries stop and
it is journaled; directly on the exchange (no daemon) our orders are cancelled and positions
closed reduce-only; the API refuses a missing or wrong token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from quantum_trader.api.server import ApiServer
from quantum_trader.core.types import OrderSide
from quantum_trader.flatten import (
    authorised,
    flatten_daemon,
    flatten_direct,
    read_token,
    write_token,
)
from quantum_trader.store.journal import Journal
from tests.integration.fake_exchange import serving
from tests.integration.helpers import free_port
from tests.integration.test_binance_fake import SYM, Desk, intent

pytestmark = pytest.mark.usefixtures("clean_qt_env")


@pytest.fixture
async def desk() -> AsyncIterator[Desk]:
    async with serving(timeout_ms=200) as (fake, ex):
        yield Desk(fake, ex)


async def test_flatten_through_the_daemon_closes_cancels_halts_and_journals(
    desk: Desk,
    tmp_path: Path,
) -> None:
    await desk.enter(intent())
    assert desk.position_qty() > 0 and desk.live_stops() and desk.live_limits()
    journal = Journal(tmp_path / "journal.sqlite3")
    result = await flatten_daemon(desk.p, journal, wait_s=10)
    assert result["closed"] == [intent().intent_id] and result["still_open"] == []
    assert desk.position_qty() == 0 and not desk.live_stops() and not desk.live_limits()
    [closed] = desk.closed
    assert closed.exit_reason == "operator_flatten"
    assert not desk.p.strategy.accepting and not desk.p.execution.accepting
    await desk.enter(intent(1))  # a new entry is not taken
    assert desk.position_qty() == 0
    assert any(kind == "flatten" for kind, _ in journal.events())
    journal.close()
    desk.check()


async def test_flatten_without_a_daemon_cancels_ours_and_closes_reduce_only(
    desk: Desk,
) -> None:
    ex = desk.ex
    await ex.create_market_order(SYM, OrderSide.BUY, 0.01, "qthand1")  # by hand, or left over
    await ex.create_limit_order(SYM, OrderSide.SELL, 0.01, 40_000.0, "qtleftover1")
    await ex.create_limit_order(SYM, OrderSide.SELL, 0.01, 41_000.0, "someone-elses")
    result = await flatten_direct(ex, None)
    assert result["closed"] == [f"{SYM} LONG 0.01"]
    assert desk.position_qty() == 0
    left = [o["clientOrderId"] for o in desk.live_limits()]
    assert left == ["someone-elses"]  # not ours: left alone


async def test_the_api_asks_for_the_token(tmp_path: Path) -> None:
    token = write_token(tmp_path)
    assert read_token(tmp_path) == token and (tmp_path / "api.token").stat().st_mode & 0o077 == 0
    assert authorised(f"Bearer {token}", token) and not authorised("Bearer nope", token)
    assert not authorised(None, token)

    async def snap() -> dict[str, object]:
        return {"health": {"status": "HEALTHY"}}

    calls = []

    async def flatten() -> dict[str, object]:
        calls.append(1)
        return {"closed": []}

    port = free_port()
    api = ApiServer(snap, "127.0.0.1", port, lambda s: "", {"flatten": flatten}, token)
    await api.start()
    try:
        async with ClientSession() as http:
            url = f"http://127.0.0.1:{port}/flatten"
            async with http.post(url) as r:
                assert r.status == 401
            async with http.post(url, headers={"Authorization": "Bearer wrong"}) as r:
                assert r.status == 401
            assert not calls
            async with http.post(url, headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200 and await r.json() == {"closed": []}
            assert calls == [1]
            async with http.post(f"http://127.0.0.1:{port}/nothing") as r:
                assert r.status == 404
    finally:
        await api.stop()


async def test_a_cancel_the_exchange_refuses_does_not_stop_the_flatten(desk: Desk) -> None:
    ex = desk.ex
    await ex.create_market_order(SYM, OrderSide.BUY, 0.01, "qthand2")
    await ex.create_limit_order(SYM, OrderSide.SELL, 0.01, 40_000.0, "qtleftover2")
    refuse = {"method": "DELETE", "path": "/fapi/v1/order", "kind": "error", "status": 400}
    desk.fake.faults.append({**refuse, "code": -1102, "msg": "injected", "times": 2})
    result = await flatten_direct(ex, None)
    assert result["closed"] == [f"{SYM} LONG 0.01"] and result["still_open"] == []
    assert desk.position_qty() == 0  # closed although its order could not be cancelled
