"""One snapshot of the daemon for ``GET /health``, ``GET /metrics`` and the exit summary, and that
summary's one screen of text."""

from __future__ import annotations

import time
from typing import Any, Protocol

from quantum_trader.bus.messages import to_jsonable
from quantum_trader.core.stats import net_edge
from quantum_trader.exchange.base import Balance
from quantum_trader.monitoring.account import AccountView
from quantum_trader.pipeline import Pipeline


class MirrorState(Protocol):
    def snapshot(self) -> dict[str, Any]: ...


async def snapshot(
    p: Pipeline,
    mode: str,
    started: float,
    account: AccountView,
    mirror: MirrorState | None = None,
    restarts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """From state only — the book and the account view — never a call to the exchange."""
    balance = account.balance or Balance(p.book.wallet, p.book.equity, p.book.used_margin(), 0.0)
    positions = account.positions
    managed = []
    for symbol, mp in p.book.positions.items():
        plan, ex_pos = mp.opened.plan, positions.get(symbol)
        exchange_stop, confirmed = account.stop_of(symbol, mp.stop_order_id, mp.state.stop_price)
        managed.append(
            {
                "symbol": symbol,
                "intent_id": mp.opened.intent_id,
                "side": plan.side.value,
                "qty": mp.state.remaining,
                "entry_price": plan.entry_price,
                "leverage": plan.leverage,
                "margin": plan.margin,
                "stop_price": mp.state.stop_price,
                "exchange_stop": exchange_stop,
                "stop_confirmed_by_read": confirmed,
                "stop_reason": mp.stop_reason,
                "tp_prices": list(plan.tp_prices),
                "legs_done": mp.state.legs_done,
                "liquidation_price": ex_pos.liquidation_price if ex_pos else None,
                "unrealised_pnl": ex_pos.unrealised_pnl if ex_pos else None,
            }
        )
    dead = [to_jsonable(d) for d in list(p.bus.dead_letters)[-10:]]
    liquidations = p.paper.engine.liquidations if p.paper is not None else 0
    health = p.health.snapshot()
    return {
        "status": health["status"],
        "mode": mode,
        "uptime_s": round(time.monotonic() - started, 1),
        "market_time_ms": p.clock.now_ms(),
        "health": health,
        "equity": round(p.book.equity or balance.equity, 6),  # the freshest known
        "balance": to_jsonable(balance),
        "positions": managed,
        "trades": {
            "closed": p.book.closed_count,
            "wins": p.book.wins,
            "realised_pnl": round(p.book.realised, 6),
            "intents": p.strategy.intents,
            "entry_rejections": p.execution.rejected,
            "emergency_closes": p.execution.emergency_closes,
            "stop_moves": p.exits.stop_moves,
            "liquidations": liquidations,
            "edge": _edge(p.book.pnls),
        },
        "filter_rejections": dict(p.strategy.rejections),
        "risk": p.risk.snapshot(),
        "account": account.snapshot(),
        "ilf": p.strategy.leverage_stats.snapshot(),
        "performance": p.signals.benchmark.snapshot(),
        "edge_gate": _gate(p),
        "reference": getattr(p.signals.reference, "snapshot", lambda: None)(),
        "rl": p.sizer.snapshot(),
        "feed": {"candles": p.feed.candles, "finished": p.feed.finished.is_set()},
        "bus": p.bus.stats(),
        "dead_letters": dead,
        "redis": mirror.snapshot() if mirror is not None else {"state": "disabled"},
        "task_restarts": restarts or {},
    }


def _edge(pnls: list[float]) -> dict[str, Any]:
    e = net_edge(pnls)
    return {
        "trades": e.trades,
        "net_usdt_per_trade": round(e.mean, 4),
        "interval_usdt": [round(e.low, 4), round(e.high, 4)],
        "level": e.level,
        "verdict": e.verdict,
    }


def risk_line(r: dict[str, Any]) -> str:
    """The risk state in one line: the trips so far and every state that holds entries back."""
    trips = ", ".join(f"{k} ×{n}" for k, n in sorted(r["trips"].items())) or "none"
    states = [
        "HALTED: max drawdown (qtrader risk reset lifts it)" if r["halted"] else "",
        "ENTRIES BLOCKED by the loss budget (until one fits again)"
        if r.get("loss_budget_blocked")
        else "",
        "circuit breaker cooling down" if r.get("circuit_breaker") else "",
        "daily loss limit: no entries today" if r.get("kill_switch") else "",
    ]
    return " | ".join([f"trips: {trips}", *(x for x in states if x)])


def summary(s: dict[str, Any], reason: str, start_equity: float) -> str:
    t = s["trades"]
    losses = t["closed"] - t["wins"]
    lines = [
        "",
        f"qtrader {s['mode']} — stopped: {reason} after {s['uptime_s']:.0f}s "
        f"({s['feed']['candles']} candles)",
        f"  trades     {t['closed']} closed ({t['wins']} won, {losses} lost), "
        f"{t['intents']} intents, {t['entry_rejections']} entries rejected",
        f"  pnl        {t['realised_pnl']:+,.2f} USDT realised, "
        f"{s['equity'] - start_equity - t['realised_pnl']:+,.2f} open | equity "
        f"{start_equity:,.2f} → {s['equity']:,.2f} ({s['equity'] - start_equity:+,.2f})",
    ]
    e = t["edge"]
    if e["trades"]:
        lo, hi = e["interval_usdt"]
        lines.append(
            f"  edge       {e['net_usdt_per_trade']:+,.2f} USDT per trade net of costs, "
            f"{e['level']:.0%} interval [{lo:+,.2f}, {hi:+,.2f}] over {e['trades']} trades: "
            f"{e['verdict']}"
        )
    g = s["edge_gate"]
    d = g["decisions"]
    lines.append(
        f"  edge gate  {g['mode']}: decisions traded {d.get('trade', 0)}, probes "
        f"{d.get('probe', 0)}, shadowed {d.get('shadow', 0)}; {g['shadow_trades']} shadow trades"
    )
    lines += [f"    {sym:<14} next {v['action']}: {v['reason']}" for sym, v in g["symbols"].items()]
    lines.append(f"  positions  {len(s['positions'])} open, each with its exchange stop:")
    for pos in s["positions"]:
        lines.append(
            f"    {pos['symbol']:<14} {pos['side']:<5} {pos['qty']:g} @ {pos['entry_price']:.6g} "
            f"{pos['leverage']}x stop {pos['exchange_stop']} ({pos['stop_reason']})"
        )
    dead = sum(c["dead_lettered"] for c in s["bus"]["topics"].values())
    restarts = sum(s["task_restarts"].values())
    lines.append(
        f"  errors     {dead} dead letters, {restarts} task restarts, "
        f"{t['emergency_closes']} emergency closes, {t['liquidations']} liquidations"
    )
    lines.append(f"  risk       {risk_line(s['risk'])}")
    lines.append(
        f"  health     {s['health']['status']} ({s['health']['overall']:.0f}) | "
        f"redis {s['redis']['state']}"
    )
    return "\n".join(lines)


def _gate(p: Pipeline) -> dict[str, Any]:
    """The edge gate: per symbol its measured shadow edge and what the next decision gets."""
    g = p.strategy.edge
    if g is None:
        return {"mode": "off", "decisions": {}, "shadow_trades": 0, "symbols": {}}
    return {
        "mode": g.params.mode,
        "min_trades": g.params.min_trades,
        "confidence": g.params.confidence,
        "decisions": dict(g.actions),
        "shadow_trades": g.closed,
        "symbols": g.status(),
    }
