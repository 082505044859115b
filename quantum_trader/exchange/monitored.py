"""Wraps any exchange so every call feeds the ``exchange`` module's health: latency, and errors
(a definite rejection is an answer, so it counts as connectivity that works)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from quantum_trader.exchange.base import (
    Exchange,
    ExchangeError,
    FatalExchangeError,
    OrderRejected,
)
from quantum_trader.runtime.health import HealthMonitor


class MonitoredExchange:
    def __init__(
        self,
        inner: Exchange,
        health: HealthMonitor,
        on_fatal: Callable[[str], None] | None = None,
        on_latency: Callable[[str, float], None] | None = None,
    ) -> None:
        self._inner, self._health, self._on_fatal = inner, health, on_fatal
        self._on_latency = on_latency
        self.name = inner.name
        self.order_expiry_ms = inner.order_expiry_ms

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self._inner, attr)
        if not callable(target):
            return target
        timed = self._timed(attr)
        setattr(self, attr, timed)  # wrapped once, then found; the method is looked up per call
        return timed

    def _timed(self, attr: str) -> Callable[..., Any]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = await getattr(self._inner, attr)(*args, **kwargs)
                if self._on_latency is not None:
                    self._on_latency(attr, time.perf_counter() - started)
            except OrderRejected:
                self._health.ok("exchange", (time.perf_counter() - started) * 1000)
                raise
            except FatalExchangeError as exc:
                self._health.error("exchange", f"{attr}: {exc}")
                if self._on_fatal is not None:
                    self._on_fatal(f"{attr}: {exc}")
                raise
            except ExchangeError as exc:
                self._health.error("exchange", f"{attr}: {exc}")
                raise
            self._health.ok("exchange", (time.perf_counter() - started) * 1000)
            return result

        return wrapper


def monitored(
    inner: Exchange,
    health: HealthMonitor,
    on_fatal: Callable[[str], None] | None = None,
    on_latency: Callable[[str, float], None] | None = None,
) -> Exchange:
    return cast(Exchange, MonitoredExchange(inner, health, on_fatal, on_latency))
