"""An external AI engine over HTTP (SPEC §3):
``POST {url}/api/ai/signal {symbol, price, volume, timeframe}`` → ``{action, confidence}``,
5 s timeout. Every failure is counted against the source's health and never raised."""

from __future__ import annotations

import math
from dataclasses import dataclass

import aiohttp
from loguru import logger

from quantum_trader.core.edge import parse_side

log = logger.bind(component="http-signal")


@dataclass(frozen=True, slots=True)
class ExternalCall:
    side: str | None  # LONG, SHORT or None for HOLD
    confidence: float


class HttpSignalSource:
    name = "http"

    def __init__(
        self, url: str, timeout_s: float = 5.0, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.url = url.rstrip("/") + "/api/ai/signal"
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session
        self.calls = 0
        self.failures = 0
        self.last_error = ""

    async def _post(self, body: dict[str, object]) -> object:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        async with self._session.post(self.url, json=body, timeout=self.timeout) as response:
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            return await response.json(content_type=None)

    async def ask(
        self, symbol: str, price: float, volume: float, timeframe: str
    ) -> ExternalCall | None:
        """The engine's call, or None when it failed (timeout, HTTP error, malformed answer)."""
        self.calls += 1
        try:
            data = await self._post(
                {"symbol": symbol, "price": price, "volume": volume, "timeframe": timeframe}
            )
            if not isinstance(data, dict):
                raise ValueError(f"expected an object, got {type(data).__name__}")
            action = str(data.get("action", "")).upper()
            confidence = float(data.get("confidence", math.nan))
            if not 0.0 <= confidence <= 1.0:
                raise ValueError(f"confidence {data.get('confidence')!r} is not in [0, 1]")
            if action == "HOLD":
                return ExternalCall(None, confidence)
            return ExternalCall(parse_side(action, "action").value, confidence)
        except (aiohttp.ClientError, TimeoutError, ValueError, TypeError) as exc:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "{} external signal failed ({} of {}): {}",
                symbol,
                self.failures,
                self.calls,
                self.last_error,
            )
            return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
