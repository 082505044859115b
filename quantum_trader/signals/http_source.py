"""An external AI engine over HTTP (SPEC §3):
``POST {url}/api/ai/signal {symbol, price, volume, timeframe}`` → ``{action, confidence}``,
5 s timeout. Every failure is counted against the source's health and never raised.

Answers are checked strictly (:func:`parse_answer`): at most 64 KiB, an object whose ``action`` is
one of BUY/SELL/LONG/SHORT/HOLD and whose ``confidence`` is a real number (not a string, not a
boolean) in [0, 1]. Anything else — nested past reason, oversized, NaN — is a failure of the
source with its reason, never a trade and never a dead letter."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loguru import logger

from quantum_trader.core.edge import parse_side

if TYPE_CHECKING:
    import aiohttp

log = logger.bind(component="http-signal")


@dataclass(frozen=True, slots=True)
class ExternalCall:
    side: str | None  # LONG, SHORT or None for HOLD
    confidence: float


MAX_ANSWER_BYTES = 64 * 1024
ACTIONS = ("BUY", "SELL", "LONG", "SHORT", "HOLD")


def parse_answer(body: bytes) -> ExternalCall:
    """The engine's answer, or ValueError naming what is wrong with it."""
    if len(body) > MAX_ANSWER_BYTES:
        raise ValueError(f"answer over {MAX_ANSWER_BYTES // 1024} KiB")
    try:
        data = json.loads(body)
    except RecursionError:
        raise ValueError("answer nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"answer is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected an object, got {type(data).__name__}")
    action, confidence = data.get("action"), data.get("confidence")
    if not isinstance(action, str) or action.upper() not in ACTIONS:
        raise ValueError(f"action must be one of {'/'.join(ACTIONS)}, got {action!r:.40}")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ValueError(f"confidence must be a number, got {type(confidence).__name__}")
    try:
        value = float(confidence)
    except OverflowError:
        value = math.inf
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise ValueError(f"confidence {str(confidence)[:20]} is not in [0, 1]")
    if action.upper() == "HOLD":
        return ExternalCall(None, value)
    return ExternalCall(parse_side(action, "action").value, value)


class HttpSignalSource:
    name = "http"

    def __init__(
        self,
        url: str,
        timeout_s: float = 5.0,
        session: aiohttp.ClientSession | None = None,
        down_after: int = 3,
        cooldown_s: float = 30.0,
    ) -> None:
        import aiohttp  # here: a backtest or a run without an engine never needs the client

        self.url = url.rstrip("/") + "/api/ai/signal"
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session
        self.calls = 0
        self.failures = 0
        self.last_error = ""
        #: after ``down_after`` failures in a row the engine is down for ``cooldown_s``: calls
        #: fail at once (counted, so health shows it) instead of stalling the feed on timeouts
        self.down_after, self.cooldown_s = down_after, cooldown_s
        self._in_a_row = 0
        self._down_until = 0.0

    async def _post(self, body: dict[str, object]) -> bytes:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        async with self._session.post(self.url, json=body, timeout=self.timeout) as response:
            if response.status != 200:
                raise ValueError(f"HTTP {response.status}")
            if (response.content_length or 0) > MAX_ANSWER_BYTES:
                raise ValueError(f"answer over {MAX_ANSWER_BYTES // 1024} KiB")
            answer = b""
            while len(answer) <= MAX_ANSWER_BYTES:  # never more than the limit, whatever is sent
                chunk = await response.content.read(MAX_ANSWER_BYTES + 1 - len(answer))
                if not chunk:
                    break
                answer += chunk
            return answer

    async def ask(
        self, symbol: str, price: float, volume: float, timeframe: str
    ) -> ExternalCall | None:
        """The engine's call, or None when it failed (timeout, HTTP error, malformed answer)."""
        import aiohttp

        self.calls += 1
        if time.monotonic() < self._down_until:
            self.failures += 1
            self.last_error = f"engine down after {self._in_a_row} failures in a row"
            return None
        try:
            call = parse_answer(
                await self._post(
                    {"symbol": symbol, "price": price, "volume": volume, "timeframe": timeframe}
                )
            )
            self._in_a_row = 0
            return call
        except (aiohttp.ClientError, TimeoutError, ValueError, TypeError) as exc:
            self.failures += 1
            self._in_a_row += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            if self._in_a_row >= self.down_after:
                self._down_until = time.monotonic() + self.cooldown_s
                log.error(
                    "{} external engine down ({} failures in a row, last: {}): calls fail at once "
                    "for {:.0f} s, then it is tried again",
                    symbol,
                    self._in_a_row,
                    self.last_error,
                    self.cooldown_s,
                )
                return None
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
