"""Tracks whether each source's signals came true at their horizon and calibrates confidence."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from quantum_trader.core.calibration import Calibration, calibrate_confidence
from quantum_trader.core.types import Side


@dataclass(frozen=True, slots=True)
class _Pending:
    symbol: str
    side: Side
    price: float
    due_ts: int


class Calibrator:
    def __init__(self, min_resolved: int = 20, keep: int = 500) -> None:
        self.min_resolved = min_resolved
        self._pending: deque[_Pending] = deque()
        self._outcomes: deque[bool] = deque(maxlen=keep)

    def track(self, symbol: str, side: Side, price: float, due_ts: int) -> None:
        self._pending.append(_Pending(symbol, side, price, due_ts))

    def resolve(self, symbol: str, price: float, ts: int) -> None:
        """Settle this symbol's signals whose horizon has passed, at ``price``."""
        keep: deque[_Pending] = deque()
        for p in self._pending:
            if p.symbol == symbol and p.due_ts <= ts:
                self._outcomes.append((price - p.price) * p.side.sign > 0)
            else:
                keep.append(p)
        self._pending = keep

    @property
    def accuracy(self) -> float | None:
        return sum(self._outcomes) / len(self._outcomes) if self._outcomes else None

    def record(self) -> tuple[float | None, int]:
        """(accuracy, resolved signals) of the traded signals — Phase 3C's sizing reads it."""
        return self.accuracy, len(self._outcomes)

    def calibrate(self, raw: float) -> Calibration:
        return calibrate_confidence(raw, self.accuracy, len(self._outcomes), self.min_resolved)
