"""The paper exchange's state as JSON, for the journal: wallet, positions, live orders (and the most
recent finished ones, so that look-ups by client id still answer after a restart), leverage, the
last prices, funding owed to open positions, counters. Saved after every change of money or
orders; restored before reconciliation, which then treats the paper exchange like any other."""

from __future__ import annotations

import math
from typing import Any

from quantum_trader.bus.messages import to_jsonable
from quantum_trader.core.types import Side
from quantum_trader.exchange.base import Order
from quantum_trader.exchange.paper_engine import PaperEngine
from quantum_trader.exchange.paper_rules import FundingPayment, PaperPosition
from quantum_trader.store.codec import decode

KEEP_FINISHED_IN_SNAPSHOT = 20  # enough for look-ups of the orders in flight at a crash


def snapshot(e: PaperEngine) -> dict[str, Any]:
    live = [oid for ids in e._live.values() for oid in ids]  # noqa: SLF001 - the engine's own state
    finished = list(e._finished)[-KEEP_FINISHED_IN_SNAPSHOT:]  # noqa: SLF001
    open_symbols = set(e.positions)
    return {
        "wallet": e.wallet,
        "positions": {
            s: [p.side.value, p.qty, p.entry, p.margin, p.leverage] for s, p in e.positions.items()
        },
        "orders": [to_jsonable(e.orders[i]) for i in [*finished, *live] if i in e.orders],
        "leverage": e.leverage,
        "last": e.last,
        "funding_rate": e.funding_rate,
        "next_funding": e._next_funding,  # noqa: SLF001
        "funding": [[f.symbol, f.ts, f.amount] for f in e.funding if f.symbol in open_symbols],
        "liquidations": e.liquidations,
        "now": e.now,
        "seen": e.seen,
        "seq": e._seq,  # noqa: SLF001
    }


def _finite(what: str, value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} is {value!r}")
    return number


def restore(e: PaperEngine, s: dict[str, Any]) -> None:
    """Load a snapshot; ValueError (naming the field) when a number in it is not finite."""
    _finite("wallet", s["wallet"])
    for symbol, (_, qty, entry, margin, _lev) in s["positions"].items():
        for what, value in (("qty", qty), ("entry", entry), ("margin", margin)):
            _finite(f"{symbol} {what}", value)
    for symbol, price in s["last"].items():
        _finite(f"{symbol} last price", price)
    e.wallet = float(s["wallet"])
    e.positions = {}
    for symbol, (side, qty, entry, margin, lev) in s["positions"].items():
        pos = PaperPosition(Side(side), float(qty), float(entry), float(margin), int(lev))
        e._refresh_liq(pos)  # noqa: SLF001
        e.positions[symbol] = pos
    e.orders, e._live, e._client = {}, {}, {}  # noqa: SLF001
    e._finished.clear()  # noqa: SLF001
    for raw in s["orders"]:
        order: Order = decode(Order, raw)
        e._client[order.client_id] = order.id  # noqa: SLF001
        e._set(order)  # noqa: SLF001
        if not order.status.live:
            e._finished.append(order.id)  # noqa: SLF001
    e.leverage = {k: int(v) for k, v in s["leverage"].items()}
    e.last = {k: float(v) for k, v in s["last"].items()}
    e.funding_rate = {k: float(v) for k, v in s["funding_rate"].items()}
    e._next_funding = {k: int(v) for k, v in s["next_funding"].items()}  # noqa: SLF001
    e.funding = [FundingPayment(a, int(b), float(c)) for a, b, c in s["funding"]]
    e.liquidations = int(s["liquidations"])
    e.now = int(s["now"])
    e.seen = {k: int(v) for k, v in s.get("seen", {}).items()}
    e._seq = int(s["seq"])  # noqa: SLF001
