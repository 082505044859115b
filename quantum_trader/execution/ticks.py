"""Which exit actions a live mark-price tick carries out now (the pure core proposes them; the
exit manager acts on what this lets through):

- a tick through the stop while the exchange holds our stop: that stop triggers on this same mark
  price and its fill is on its way; closing at market too would only race it. The internal stop
  (the backstop) acts only if the price stays through for ``STOP_GRACE_MS`` of real time (the
  exchange's fill takes network time; the market's clock — the last closed candle — does not
  move between candles, so it cannot time this);
- a trailing move that gains less than ``TRAIL_STEP`` of the trail distance waits: a stop is two
  requests to move, and the mark price ticks every second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from quantum_trader.core.exits import ActionKind, ExitAction, ExitParams
from quantum_trader.execution.book import ManagedPosition

TRAIL_STEP = 0.1
STOP_GRACE_MS = 5_000


class TickGate:
    def __init__(self, params: ExitParams, now: Callable[[], float] = time.monotonic) -> None:
        self.params, self.now = params, now
        self._crossed_at: dict[str, int] = {}  # symbol → when a tick first crossed its stop

    def admit(
        self, mp: ManagedPosition, actions: list[ExitAction], price: float
    ) -> list[ExitAction]:
        if actions and actions[0].reason == "stop_internal" and mp.stop_order_id is not None:
            now_ms = int(self.now() * 1000)
            since = self._crossed_at.setdefault(mp.symbol, now_ms)
            return actions if now_ms - since >= STOP_GRACE_MS else []
        self._crossed_at.pop(mp.symbol, None)
        return [a for a in actions if not self._small_trail(mp, a, price)]

    def _small_trail(self, mp: ManagedPosition, action: ExitAction, price: float) -> bool:
        if action.kind is not ActionKind.MOVE_STOP or action.reason != "trailing":
            return False
        distance = self.params.trail_distance or mp.opened.plan.sl_distance
        return abs(action.price - mp.state.stop_price) < TRAIL_STEP * distance * price
