"""The edge gate's bookkeeping: shadow trades followed on every candle, their outcomes per symbol,
and the verdict for the strategy's next decision (:mod:`core.gate`, :mod:`core.shadow`).

Subscribed to candles before the signal service, so a candle moves the shadows before the signal
it produces is decided. The last candles of each symbol are kept, so a shadow opened after later
candles were already heard (the queued bus) replays them: the same candles, the same outcome,
on both bus modes. Outcomes are handed to ``save`` (the journal) and reloaded on start; a shadow
still open at a stop is dropped (logged) — its decision is in the journal.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import replace

from loguru import logger

from quantum_trader.bus.messages import CandleEvent
from quantum_trader.core.exits import ExitParams
from quantum_trader.core.gate import GateAction, GateParams, GateVerdict, gate, measured_edge
from quantum_trader.core.levels import Levels
from quantum_trader.core.shadow import (
    Shadow,
    ShadowCosts,
    ShadowOutcome,
    open_shadow,
    outcome,
    step,
)
from quantum_trader.core.types import Side

log = logger.bind(component="edge")
KEEP_CANDLES = 64

Bar = tuple[int, float, float, float, float]  # close ts, open, high, low, close


class EdgeGate:
    def __init__(
        self,
        params: GateParams,
        costs: ShadowCosts,
        exits: ExitParams,
        save: Callable[[ShadowOutcome], None] | None = None,
    ) -> None:
        self.params, self.costs, self.exits = params, costs, exits
        self.bars: dict[str, deque[Bar]] = {}
        self.open: dict[str, Shadow] = {}
        self.returns: dict[str, deque[float]] = {}
        self.probes: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()  # decisions per gate action
        self.closed = 0
        self._verdicts: dict[str, GateVerdict] = {}  # until the symbol's outcomes or probes move
        self.save = save  # where each shadow's outcome is kept (the journal, a walk-forward list)

    @property
    def enabled(self) -> bool:
        return self.params.mode != "off"

    def load(self, outcomes: Iterable[ShadowOutcome]) -> int:
        """Outcomes from the journal, oldest first: the measurement survives a restart."""
        n = 0
        for o in outcomes:
            self._returns(o.symbol).append(o.net_return)
            self.probes[o.symbol] += o.probe
            n += 1
        self._verdicts.clear()
        return n

    def _returns(self, symbol: str) -> deque[float]:
        return self.returns.setdefault(symbol, deque(maxlen=self.params.window))

    def has_open(self, symbol: str) -> bool:
        return symbol in self.open

    async def on_candle(self, event: CandleEvent) -> None:
        c = event.candle
        bar = (c.ts + event.timeframe_ms, c.open, c.high, c.low, c.close)
        self.bars.setdefault(event.symbol, deque(maxlen=KEEP_CANDLES)).append(bar)
        if event.symbol in self.open:
            self._step(event.symbol, [bar])

    def _step(self, symbol: str, bars: Iterable[Bar]) -> None:
        shadow = self.open[symbol]
        for ts, o, h, lo, c in bars:
            shadow, done = step(shadow, ts, o, h, lo, c, self.exits, self.costs)
            if done is not None:
                self._finish(outcome(shadow, ts, done))
                return
        self.open[symbol] = shadow

    def _finish(self, o: ShadowOutcome) -> None:
        del self.open[o.symbol]
        self._returns(o.symbol).append(o.net_return)
        self._verdicts.pop(o.symbol, None)
        self.closed += 1
        e = measured_edge(self._returns(o.symbol), self.params)
        kind = "probe" if o.probe else "traded" if o.traded else "shadow"
        log.info(
            "{} {} {} closed by {} after {:.1f} h: {:+.1f} bp net | edge {:+.1f} bp "
            "[{:+.1f}, {:+.1f}] over {}",
            o.symbol,
            o.side,
            kind,
            o.reason,
            (o.exit_ts - o.entry_ts) / 3_600_000,
            o.net_return * 1e4,
            e.mean * 1e4,
            e.low * 1e4,
            e.high * 1e4,
            e.trades,
        )
        if self.save is not None:
            self.save(o)

    def verdict(self, symbol: str) -> GateVerdict:
        v = self._verdicts.get(symbol)
        if v is None:
            v = gate(self._returns(symbol), self.probes[symbol], self.params)
            self._verdicts[symbol] = v
        return v

    def busy(self, symbol: str) -> bool:
        """The gate is shut and a shadow is already following this symbol: a new decision would
        be neither traded nor followed (as a real position blocks a second entry)."""
        shut = self.enabled and symbol in self.open
        return shut and self.verdict(symbol).action is GateAction.SHADOW

    def follow(
        self,
        key: str,
        symbol: str,
        side: Side,
        price: float,
        leverage: int,
        levels: Levels,
        ts: int,
        price_tick: float,
        action: GateAction,
    ) -> None:
        """Follow an accepted decision as a shadow (one per symbol, as a position would be)."""
        self.actions[str(action)] += 1
        if action is GateAction.PROBE:
            self.probes[symbol] += 1
            self._verdicts.pop(symbol, None)
        if symbol in self.open:
            return
        shadow = open_shadow(key, symbol, side, price, leverage, levels, ts, price_tick, self.costs)
        shadow = replace(
            shadow, probe=action is GateAction.PROBE, traded=action is GateAction.TRADE
        )
        self.open[symbol] = shadow
        later = [b for b in self.bars.get(symbol, ()) if b[0] > ts]
        if later:  # the queued bus delivered them first
            self._step(symbol, later)

    def status(self) -> dict[str, dict[str, float | int | str | bool]]:
        """Per symbol: the measured edge, the verdict now, probes used, a shadow open."""
        out: dict[str, dict[str, float | int | str | bool]] = {}
        for symbol in sorted(set(self.returns) | set(self.open)):
            v = self.verdict(symbol)
            out[symbol] = {
                "action": str(v.action),
                "trades": v.edge.trades,
                "edge_bp": round(v.edge.mean * 1e4, 2),
                "low_bp": round(v.edge.low * 1e4, 2),
                "high_bp": round(v.edge.high * 1e4, 2),
                "probes": self.probes[symbol],
                "open": symbol in self.open,
                "reason": v.reason,
            }
        return out
