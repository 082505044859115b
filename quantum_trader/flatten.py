"""``qtrader flatten``: every position closed at market and our orders cancelled — through the
running daemon's API when one answers (``POST /flatten``, authenticated by the token the daemon
writes to its state directory at start, mode 0600), or directly on the exchange otherwise. The
daemon stops taking new entries once flattened (a restart trades again); both paths journal it.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from loguru import logger

from quantum_trader.core.types import OrderSide, Side
from quantum_trader.exchange.base import Exchange, ExchangeError
from quantum_trader.execution.book import ours
from quantum_trader.pipeline import Pipeline
from quantum_trader.store.journal import Journal

log = logger.bind(component="flatten")
TOKEN_FILE = "api.token"  # noqa: S105 - the file's name, not a secret
REASON = "operator_flatten"


def write_token(state: Path) -> str:
    """A fresh token for this daemon run, readable by its user only."""
    token = secrets.token_urlsafe(32)
    path = state / TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    path.chmod(0o600)
    return token


def read_token(state: Path) -> str | None:
    path = state / TOKEN_FILE
    return path.read_text().strip() if path.is_file() else None


def authorised(header: str | None, token: str) -> bool:
    given = (header or "").removeprefix("Bearer ").strip()
    return bool(given) and hmac.compare_digest(given, token)


async def flatten_daemon(
    p: Pipeline, journal: Journal | None, wait_s: float = 30.0
) -> dict[str, Any]:
    """The running daemon's flatten: no new entries, every position closed at market (its stop
    and TP legs cancelled by the close), any order of ours left cancelled."""
    p.strategy.accepting = False
    p.execution.accepting = False
    before = sorted(mp.opened.intent_id for mp in p.book.positions.values())
    log.warning("flatten asked: {} position(s) {}; no new entries", len(before), before)
    if journal is not None:
        journal.event("flatten", f"operator: {len(before)} position(s) {before}")
    await p.exits.flatten(REASON)
    for _ in range(int(wait_s * 10)):
        if not p.book.positions:
            break
        await asyncio.sleep(0.1)
    cancelled = await _cancel_ours(p.exchange, p.book.open_symbols())
    still = sorted(mp.opened.intent_id for mp in p.book.positions.values())
    return {
        "closed": [i for i in before if i not in still],
        "still_open": still,
        "orders_cancelled": cancelled,
        "new_entries": "stopped until restart",
    }


async def _cancel(ex: Exchange, symbol: str, order_id: str) -> bool:
    """One cancel; a refusal (filled or gone meanwhile, the exchange down) is logged, not raised:
    the rest of the flatten goes on."""
    try:
        await ex.cancel_order(symbol, order_id)
    except ExchangeError as exc:
        log.warning("flatten: cancel {} on {} refused: {}", order_id, symbol, exc)
        return False
    return True


async def _cancel_ours(ex: Exchange, keep: frozenset[str] = frozenset()) -> int:
    """Cancel our live orders on symbols with no position left."""
    orders = [o for o in await ex.fetch_open_orders() if o.symbol not in keep and ours(o.client_id)]
    return sum([await _cancel(ex, o.symbol, o.id) for o in orders])


async def flatten_direct(ex: Exchange, journal: Journal | None) -> dict[str, Any]:
    """No daemon: cancel our orders and close each position at market, reduce-only. A position
    the exchange refuses to close is reported still open; the others are closed regardless."""
    closed, still = [], []
    for pos in await ex.fetch_positions():
        if pos.qty <= 0:
            continue
        what = f"{pos.symbol} {pos.side} {pos.qty:g}"
        for order in await ex.fetch_open_orders(pos.symbol):
            if ours(order.client_id):
                await _cancel(ex, pos.symbol, order.id)
        side = OrderSide.SELL if pos.side is Side.LONG else OrderSide.BUY
        try:
            await ex.create_market_order(pos.symbol, side, pos.qty, f"qtflat{secrets.token_hex(6)}",
                                         reduce_only=True)  # fmt: skip
        except ExchangeError as exc:
            log.error("flatten: {} not closed: {}", what, exc)
            still.append(what)
            continue
        closed.append(what)
    cancelled = await _cancel_ours(ex)
    if journal is not None:
        journal.event(
            "flatten", f"operator, no daemon: closed {closed}, still open {still}, "
            f"cancelled {cancelled}",
        )  # fmt: skip
    return {"closed": closed, "still_open": still, "orders_cancelled": cancelled}


def add_flatten_parser(sub: Any, common: Any) -> None:
    p = sub.add_parser(
        "flatten",
        help="close every position at market and cancel our orders",
        description="Through the running daemon's API when one answers (it then takes no new "
        "entries until restarted), else directly on the exchange (--testnet/--live settings). "
        "Asks first; --yes does not.",
    )
    common(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--url", help="the daemon's API (default: http://[api] host:port)")


def _confirm(what: str, yes: bool) -> bool:
    if yes:
        return True
    try:
        return input(f"{what} — close at market and cancel our orders? [y/N] ").strip() in (
            "y",
            "Y",
        )
    except EOFError:  # no terminal to answer from
        return False


async def _http(method: str, url: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.request(method, url, headers=headers) as response,
    ):
        return response.status, dict(await response.json())


def _print(result: dict[str, Any]) -> int:
    print(f"closed {len(result['closed'])}: {', '.join(result['closed']) or 'none'}")
    print(f"orders cancelled: {result['orders_cancelled']}")
    if result.get("new_entries"):
        print(f"new entries: {result['new_entries']}")
    if result["still_open"]:
        print(f"STILL OPEN: {', '.join(result['still_open'])} — see `qtrader positions`")
        return 1
    return 0


def cmd_flatten(args: Any, settings: Any) -> int:
    import aiohttp

    from quantum_trader.runtime.paths import state_dir

    url = args.url or f"http://{settings.api.host}:{settings.api.port}"
    try:
        _, snap = asyncio.run(_http("GET", f"{url}/health"))
    except (aiohttp.ClientError, TimeoutError, OSError):
        snap = None
    if snap is not None:
        positions = [f"{p['symbol']} {p['side']} {p['qty']:g}" for p in snap["positions"]]
        if not _confirm(f"daemon at {url}: {len(positions)} position(s) {positions}", args.yes):
            print("nothing done")
            return 1
        token = read_token(state_dir())
        if token is None:
            print(f"no {TOKEN_FILE} in {state_dir()}: run as the daemon's user (same QT_STATE_DIR)")
            return 1
        status, result = asyncio.run(_http("POST", f"{url}/flatten", token))
        if status != 200:
            print(f"the daemon refused: {status} {result.get('error')}")
            return 1
        return _print(result)
    return _direct(settings, url, args.yes)


def _direct(settings: Any, url: str, yes: bool) -> int:
    from quantum_trader.exchange.venues import venue_adapter, venue_client
    from quantum_trader.params import api_keys, api_password

    mode = settings.exchange.mode
    if mode == "paper":
        print(
            f"no daemon answering at {url}; the paper account lives in the daemon: start it "
            "(`qtrader run --paper`) and flatten through it, or `qtrader paper reset`"
        )
        return 1
    key, secret = api_keys(settings)
    x = settings.exchange
    password = api_password(settings)
    client = venue_client(x.exchange_id, mode, key, secret, password, x.url_override, x.timeout_ms)

    async def run() -> int:
        ex = venue_adapter(x.exchange_id, client, mode, generic=x.adapter == "generic")
        try:
            await ex.start()
            held = [f"{p.symbol} {p.side} {p.qty:g}" for p in await ex.fetch_positions()]
            if not _confirm(f"no daemon; {mode} account: {len(held)} position(s) {held}", yes):
                print("nothing done")
                return 1
            from quantum_trader.runtime.paths import state_dir

            journal = Journal(state_dir() / f"journal-{mode}.sqlite3")
            try:
                return _print(await flatten_direct(ex, journal))
            finally:
                journal.close()
        finally:
            await ex.close()

    return asyncio.run(run())
