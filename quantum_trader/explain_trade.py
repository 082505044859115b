"""``qtrader explain TRADE_ID`` / ``--last``: the whole story of a past trade from the journal —
the signal and its votes, the filter's view, the decision table as it was printed at the time
(ILFv2 factors, liquidation guard, levels, sizing caps), every order of the trade and its fills,
and the realised result."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from quantum_trader.store.journal import Journal

MODES = ("paper", "testnet", "live")


def journals(state: Path) -> list[Path]:
    return [p for m in MODES if (p := state / f"journal-{m}.sqlite3").exists()]


def find(
    state: Path, trade: str | None, shadow: bool = False
) -> tuple[Path, str, dict[str, Any]] | None:
    """(journal, trade id, decision record): ``trade`` None means the newest traded decision
    (with ``shadow``: the newest decision the edge gate only followed as a shadow)."""
    best: tuple[Path, str, dict[str, Any]] | None = None
    newest = -1
    for path in journals(state):
        j = Journal(path)
        try:
            tid = trade or j.last_decision_id(shadow)
            record = j.decision(tid) if tid else None
        finally:
            j.close()
        if record is None or tid is None:
            continue
        ts = int(record["signal"]["ts"])
        if trade is not None or ts > newest:
            best, newest = (path, tid, record), ts
    return best


def _num(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _when(ms: int | float | None) -> str:
    if not ms:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(ms) / 1000)) + "Z"


def story(path: Path, trade: str, record: dict[str, Any]) -> str:
    sig, flt, f = record["signal"], record["filter"], record["features"]
    votes = ", ".join(
        f"{v['model']} {v['vote']} {v['probability']:.2f}" for v in sig.get("votes", [])
    )
    lines = [
        f"trade {trade}  ({path.name})",
        "",
        f"Signal  {sig['symbol']} {sig['side']} confidence {sig['confidence']:.3f} "
        f"({_calibrated(sig)}) {sig['consensus']} from {sig['source']} at {_when(sig['ts'])}",
        f"  votes     {votes or 'none recorded (external source)'}",
        "  features  "
        + " ".join(
            f"{k} {_num(f.get(k))}"
            for k in ("price", "atr_pct", "volatility", "regime", "funding_rate")
        )
        + f" divergence {_num(f.get('exchange_divergence'))}",
        f"Filter  passed ({flt['verdict']}): health {flt['overall_health']:.0f}, source "
        f"{flt['source_health']:.0f}, open {', '.join(flt['open_symbols']) or 'none'}",
        "",
        record["table"],
        _gate(record.get("edge")),
        "",
    ]
    j = Journal(path)
    try:
        orders, closed = j.orders_of(trade), j.closed_of(trade)
        fills = {o["client_id"]: j.fills_of(o["client_id"]) for o in orders}
    finally:
        j.close()
    lines.append("Orders")
    for o in orders:
        lines.append(
            f"  {o['role']:<8} {o['side']:<4} {o['type']:<11} qty {o['qty']:g} "
            f"price {o['price']:g} → {o['state']}{_filled(o, fills[o['client_id']])}"
            f"  (journaled {_when(o['created'])})"
        )
    if not orders:
        lines.append("  none journaled")
    if closed is None and (record.get("edge") or {}).get("action") == "shadow":
        lines.append("Result  not traded (edge gate): followed as a shadow trade")
    elif closed is None:
        lines.append("Result  still open (or not entered): see `qtrader positions`")
    else:
        lines.append(
            f"Result  closed by {closed.exit_reason} at {closed.exit_price:g}: pnl "
            f"{closed.pnl:+,.2f} USDT (gross {closed.gross_pnl:+,.2f}, fees {closed.fees:,.2f}, "
            f"funding {closed.funding:+,.2f}), ROE {closed.roe:+.2%}, legs {closed.legs_hit}"
        )
    return "\n".join(lines)


def _filled(order: dict[str, Any], fills: list[tuple[float, float, float]]) -> str:
    """What filled, from the executions booked (their prices, whatever the order row says)."""
    if fills:
        qty = sum(q for q, _, _ in fills)
        avg = sum(q * p for q, p, _ in fills) / qty
        fee = sum(f for _, _, f in fills)
        n = f" in {len(fills)} fills" if len(fills) > 1 else ""
        return f", filled {qty:g} @ {avg:.6g}{n} (fee {fee:.4f})"
    if order["filled"]:
        return f", filled {order['filled']:g} @ {order['avg_price'] or 0:.6g}"
    return ""


def _calibrated(sig: dict[str, Any]) -> str:
    raw = sig.get("raw_confidence")
    if raw is None:  # a record from before the raw confidence was kept
        return "calibrated"
    return f"raw {raw:.3f}, calibrated {sig.get('calibration') or '?'}"


def _gate(edge: dict[str, Any] | None) -> str:
    if not edge:
        return "Edge gate  off (or a record from before the gate)"
    size = {"trade": "full size", "probe": "a probe at the exchange's minimum size",
            "shadow": "NOT TRADED, followed as a shadow trade"}[edge["action"]]  # fmt: skip
    return f"Edge gate  {size}: {edge['reason']}"
