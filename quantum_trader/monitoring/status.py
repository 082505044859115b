"""One snapshot of the daemon for ``GET /health``, ``GET /metrics`` and the exit summary."""

from __future__ import annotations

import time
from typing import Any, Protocol

from quantum_trader.bus.messages import to_jsonable
from quantum_trader.pipeline import Pipeline


class MirrorState(Protocol):
    def snapshot(self) -> dict[str, Any]: ...


async def snapshot(
    p: Pipeline,
    mode: str,
    started: float,
    mirror: MirrorState | None = None,
    restarts: dict[str, int] | None = None,
) -> dict[str, Any]:
    balance = await p.exchange.fetch_balance()
    positions = {pos.symbol: pos for pos in await p.exchange.fetch_positions()}
    stops = {  # per symbol: Binance weighs an all-symbol open-orders read 40, one symbol 1
        o.symbol: o.stop_price
        for symbol in sorted(p.book.positions)
        for o in await p.exchange.fetch_open_orders(symbol)
        if o.type == "STOP_MARKET" and o.id == p.book.positions[symbol].stop_order_id
    }
    managed = []
    for symbol, mp in p.book.positions.items():
        plan, ex_pos = mp.opened.plan, positions.get(symbol)
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
                "exchange_stop": stops.get(symbol),
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
        "equity": round(balance.equity, 6),
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
        },
        "filter_rejections": dict(p.strategy.rejections),
        "risk": p.risk.snapshot(),
        "ilf": p.strategy.leverage_stats.snapshot(),
        "rl": p.sizer.snapshot(),
        "feed": {"candles": p.feed.candles, "finished": p.feed.finished.is_set()},
        "bus": p.bus.stats(),
        "dead_letters": dead,
        "redis": mirror.snapshot() if mirror is not None else {"state": "disabled"},
        "task_restarts": restarts or {},
    }


def prometheus(snap: dict[str, Any]) -> str:
    """Prometheus text exposition of the snapshot's numbers."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP qtrader_{name} {help_text}")
        lines.append(f"# TYPE qtrader_{name} {kind}")
        lines.extend(f"qtrader_{name}{labels} {value:g}" for labels, value in samples)

    health = snap["health"]
    metric(
        "health_score",
        "gauge",
        "Module health 0-100.",
        [(f'{{module="{m}"}}', v["score"]) for m, v in health["modules"].items()]
        + [('{module="overall"}', health["overall"])],
    )
    metric("equity_usdt", "gauge", "Account equity.", [("", snap["equity"])])
    metric("open_positions", "gauge", "Open positions.", [("", len(snap["positions"]))])
    t = snap["trades"]
    metric("trades_closed_total", "counter", "Closed trades.", [("", t["closed"])])
    metric("realised_pnl_usdt", "gauge", "Realised PnL since start.", [("", t["realised_pnl"])])
    metric(
        "liquidations_total", "counter", "Liquidations (must stay 0).", [("", t["liquidations"])]
    )
    risk = snap["risk"]
    metric(
        "risk_trips_total",
        "counter",
        "Risk limit trips.",
        [(f'{{kind="{k}"}}', n) for k, n in risk["trips"].items()],
    )
    metric("risk_halted", "gauge", "1 while the max drawdown halt holds.", [("", risk["halted"])])
    metric(
        "filter_rejections_total",
        "counter",
        "Signals rejected by the filter.",
        [(f'{{reason="{r}"}}', n) for r, n in snap["filter_rejections"].items()],
    )
    topics = snap["bus"]["topics"]
    for field in ("published", "delivered", "dropped", "dead_lettered"):
        metric(
            f"bus_{field}_total",
            "counter",
            f"Bus messages {field}.",
            [(f'{{topic="{name}"}}', c[field]) for name, c in topics.items()],
        )
    subs = snap["bus"]["subscribers"]
    metric(
        "bus_queue_depth",
        "gauge",
        "Subscriber inbox depth.",
        [(f'{{subscriber="{n}"}}', s["queue_depth"]) for n, s in subs.items()],
    )
    metric(
        "bus_handler_latency_p95_ms",
        "gauge",
        "Handler latency p95.",
        [(f'{{subscriber="{n}"}}', s["latency_p95_ms"]) for n, s in subs.items()],
    )
    redis = snap["redis"]
    metric(
        "redis_mirror_up",
        "gauge",
        "1 when the Redis mirror is connected.",
        [("", 1.0 if redis.get("state") == "connected" else 0.0)],
    )
    metric(
        "redis_mirror_dropped_total",
        "counter",
        "Messages the mirror dropped.",
        [("", redis.get("dropped", 0))],
    )
    metric(
        "ilf_average_leverage", "gauge", "Mean decided leverage.", [("", snap["ilf"]["average"])]
    )
    return "\n".join(lines) + "\n"
