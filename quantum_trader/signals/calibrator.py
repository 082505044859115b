"""Tracks whether each source's signals came true at their horizon and calibrates confidence:
per confidence bin once a bin has data (``core.calibration.calibrate_binned``), the coarse rule
before (or always, with ``method = "coarse"``). Only resolved signals count, the last ``keep``."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from quantum_trader.core.calibration import (
    MIN_BIN,
    N_BINS,
    PRIOR,
    Calibration,
    calibrate_binned,
    calibrate_confidence,
    confidence_bin,
)
from quantum_trader.core.types import Side


@dataclass(frozen=True, slots=True)
class _Pending:
    symbol: str
    side: Side
    price: float
    due_ts: int
    bin: int


class Calibrator:
    def __init__(
        self,
        min_resolved: int = 20,
        keep: int = 500,
        method: str = "binned",
        min_bin: int = MIN_BIN,
        prior: float = PRIOR,
    ) -> None:
        self.min_resolved, self.method = min_resolved, method
        self.min_bin, self.prior = min_bin, prior
        self._pending: deque[_Pending] = deque()
        self._outcomes: deque[tuple[int, bool]] = deque(maxlen=keep)  # (bin, came true)
        # running (hits, resolved) per bin over the window: no scan of it per signal
        self._counts = [[0, 0] for _ in range(N_BINS)]

    def track(self, symbol: str, side: Side, price: float, due_ts: int, raw: float = 1.0) -> None:
        self._pending.append(_Pending(symbol, side, price, due_ts, confidence_bin(raw)))

    def resolve(self, symbol: str, price: float, ts: int) -> None:
        """Settle this symbol's signals whose horizon has passed, at ``price``."""
        keep: deque[_Pending] = deque()
        for p in self._pending:
            if p.symbol == symbol and p.due_ts <= ts:
                self._record(p.bin, (price - p.price) * p.side.sign > 0)
            else:
                keep.append(p)
        self._pending = keep

    def _record(self, b: int, hit: bool) -> None:
        if len(self._outcomes) == self._outcomes.maxlen:  # the oldest leaves the window
            old_bin, old_hit = self._outcomes[0]
            self._counts[old_bin][0] -= old_hit
            self._counts[old_bin][1] -= 1
        self._outcomes.append((b, hit))
        self._counts[b][0] += hit
        self._counts[b][1] += 1

    @property
    def accuracy(self) -> float | None:
        n = len(self._outcomes)
        return sum(h for h, _ in self._counts) / n if n else None

    def record(self) -> tuple[float | None, int]:
        """(accuracy, resolved signals) of the traded signals — Phase 3C's sizing reads it."""
        return self.accuracy, len(self._outcomes)

    def bins(self) -> list[tuple[int, int]]:
        """(hits, resolved) per confidence bin."""
        return [(h, n) for h, n in self._counts]

    def calibrate(self, raw: float) -> Calibration:
        if self.method == "coarse":
            return calibrate_confidence(raw, self.accuracy, len(self._outcomes), self.min_resolved)
        hits, n = self.bins()[confidence_bin(raw)]
        return calibrate_binned(
            raw,
            hits,
            n,
            self.accuracy,
            len(self._outcomes),
            self.min_resolved,
            self.min_bin,
            self.prior,
        )
