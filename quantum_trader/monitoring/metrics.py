"""``GET /metrics`` through prometheus_client: the daemon's state at scrape time (a collector over
the status snapshot — health, equity, trades, risk trips, bus, Redis), a histogram of every exchange
call's latency by method, and the process collector's CPU, memory and file descriptors. One
registry per daemon, so tests and several pipelines in one process never collide."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _gauge(name: str, text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"qtrader_{name}", text, value=float(value))


def _labelled(
    kind: type[GaugeMetricFamily] | type[CounterMetricFamily],
    name: str,
    text: str,
    label: str,
    samples: dict[str, float],
) -> Metric:
    family = kind(f"qtrader_{name}", text, labels=[label])
    for key, value in samples.items():
        family.add_metric([key], float(value))
    return family


class SnapshotCollector(Collector):
    """Yields the figures of the snapshot handed to it just before a scrape."""

    def __init__(self) -> None:
        self.snap: dict[str, Any] | None = None

    def collect(self) -> Iterator[Metric]:  # noqa: C901 - one metric family a line
        s = self.snap
        if s is None:
            return
        modules = {m: v["score"] for m, v in s["health"]["modules"].items()}
        yield _labelled(
            GaugeMetricFamily, "health_score", "Module health 0-100.", "module",
            {**modules, "overall": s["health"]["overall"]},
        )  # fmt: skip
        t, risk = s["trades"], s["risk"]
        yield _gauge("equity_usdt", "Account equity.", s["equity"])
        yield _gauge("open_positions", "Open positions.", len(s["positions"]))
        yield CounterMetricFamily("qtrader_trades_closed", "Closed trades.", value=t["closed"])
        yield _gauge("realised_pnl_usdt", "Realised PnL since start.", t["realised_pnl"])
        yield CounterMetricFamily(
            "qtrader_liquidations", "Liquidations (must stay 0).", value=t["liquidations"]
        )
        yield _labelled(
            CounterMetricFamily, "risk_trips", "Risk limit trips.", "kind", risk["trips"]
        )
        yield _gauge("risk_halted", "1 while the max drawdown halt holds.", risk["halted"])
        yield _gauge(
            "risk_loss_budget_blocked",
            "1 while the loss budget refuses entries.",
            risk.get("loss_budget_blocked", False),
        )
        yield _labelled(
            CounterMetricFamily, "filter_rejections", "Signals rejected by the filter.", "reason",
            s["filter_rejections"],
        )  # fmt: skip
        topics, subs = s["bus"]["topics"], s["bus"]["subscribers"]
        for field in ("published", "delivered", "dropped", "dead_lettered"):
            yield _labelled(
                CounterMetricFamily, f"bus_{field}", f"Bus messages {field}.", "topic",
                {name: c[field] for name, c in topics.items()},
            )  # fmt: skip
        yield _labelled(
            GaugeMetricFamily, "bus_queue_depth", "Subscriber inbox depth.", "subscriber",
            {n: v["queue_depth"] for n, v in subs.items()},
        )  # fmt: skip
        yield _labelled(
            GaugeMetricFamily, "bus_handler_latency_p95_ms", "Handler latency p95.", "subscriber",
            {n: v["latency_p95_ms"] for n, v in subs.items()},
        )  # fmt: skip
        redis = s["redis"]
        yield _gauge(
            "redis_mirror_up", "1 when the mirror is connected.", redis.get("state") == "connected"
        )
        yield CounterMetricFamily(
            "qtrader_redis_mirror_dropped",
            "Messages the mirror dropped.",
            value=redis.get("dropped", 0),
        )
        account_age = s["account"]["age_s"]
        yield _gauge("account_view_age_seconds", "Age of the account view.", account_age or 0.0)
        yield _gauge("ilf_average_leverage", "Mean decided leverage.", s["ilf"]["average"])
        models = s["performance"]["models"]
        yield _labelled(
            GaugeMetricFamily, "model_accuracy", "Directional accuracy at the horizon (7 days).",
            "model", {n: v["accuracy"] for n, v in models.items() if v["accuracy"] is not None},
        )  # fmt: skip
        yield _labelled(
            GaugeMetricFamily, "model_score", "Phase 3C performance score 0-100.", "model",
            {n: v["score"] for n, v in models.items()},
        )  # fmt: skip
        watches = s["performance"].get("thresholds", {})
        yield _labelled(
            GaugeMetricFamily, "performance_threshold", "Adaptive warning threshold.",
            "watch", {k: v["threshold"] for k, v in watches.items()},
        )  # fmt: skip
        yield _labelled(
            GaugeMetricFamily, "performance_breach_in_hours",
            "Hours until a predicted threshold breach (absent: none predicted).", "watch",
            {k: v["breach_in_h"] for k, v in watches.items() if v["breach_in_h"] is not None},
        )  # fmt: skip
        gate = s.get("edge_gate", {})
        symbols = gate.get("symbols", {})
        yield _labelled(
            GaugeMetricFamily, "edge_net_bp", "Shadow-trade net edge per unit notional (bp).",
            "symbol", {k: v["edge_bp"] for k, v in symbols.items()},
        )  # fmt: skip
        yield _labelled(
            GaugeMetricFamily, "edge_gate_trading",
            "1 while the edge gate lets the symbol trade full size.", "symbol",
            {k: float(v["action"] == "trade") for k, v in symbols.items()},
        )  # fmt: skip
        yield _labelled(
            CounterMetricFamily, "edge_decisions", "Accepted decisions by gate action.",
            "action", gate.get("decisions", {}),
        )  # fmt: skip
        streams = s.get("streams")
        if streams is not None:  # live on Binance
            yield _gauge("user_stream_up", "1 while the user-data stream is connected.",
                         streams["user_stream"])  # fmt: skip
            yield _labelled(
                CounterMetricFamily, "stream_messages", "Stream updates received.", "stream",
                streams["messages"],
            )  # fmt: skip
            yield _labelled(
                CounterMetricFamily, "stream_drops", "Streams dropped or stalled.", "stream",
                streams["drops"],
            )  # fmt: skip


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.state = SnapshotCollector()
        self.registry.register(self.state)
        ProcessCollector(registry=self.registry)
        self.exchange_seconds = Histogram(
            "qtrader_exchange_call_seconds",
            "Exchange call latency by method.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._exchange_by_method: dict[str, Any] = {}

    def observe_exchange(self, method: str, seconds: float) -> None:
        child = self._exchange_by_method.get(method)
        if child is None:  # labels() resolves the child under a lock: once per method
            child = self._exchange_by_method[method] = self.exchange_seconds.labels(method)
        child.observe(seconds)

    def render(self, snap: dict[str, Any]) -> str:
        self.state.snap = snap
        return generate_latest(self.registry).decode()
