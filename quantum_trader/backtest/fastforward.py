"""Skip-ahead driver for backtests: the daemon's pipeline decides every bar that can matter, and
the rest are stepped over with their effects applied exactly.

A bar can matter when its symbol has a position or a live order, or when its signal passes the
filter's consensus and confidence checks (known in advance: :mod:`precompute`). Any other bar, the
pipeline would only have appended to the symbol's history, moved the calibrator, recorded equity,
and — for a signal — updated the risk guard. Between two bars that matter, equity is constant (the
prices of open positions only move at their own bars), so a run of quiet bars is recorded at once
and the risk guard is updated where it can change: the run's first signal, a new UTC day, the end
of a breaker cooldown. The calibrator is answered from its precomputed timeline; a symbol's history
and exchange state are caught up (restored from arrays, equal to the incremental ones) just before
its next bar that matters.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from quantum_trader.backtest.precompute import CONSENSUS, Timeline, TimelineCalibrator
from quantum_trader.backtest.recorder import Recorder
from quantum_trader.bus.messages import CandleEvent
from quantum_trader.core.buckets import Aggregator
from quantum_trader.core.features import true_range
from quantum_trader.core.risk import DAY_MS
from quantum_trader.feeds.loader import FundingSeries
from quantum_trader.feeds.replay import event_at
from quantum_trader.params import filter_params
from quantum_trader.pipeline import Pipeline
from quantum_trader.settings import Settings


class FastForward:
    def __init__(
        self,
        p: Pipeline,
        recorder: Recorder,
        tl: Timeline,
        settings: Settings,
        funding: dict[str, FundingSeries],
    ) -> None:
        assert p.paper is not None  # noqa: S101 - backtests run on the paper exchange
        self.p, self.recorder, self.tl, self.funding = p, recorder, tl, funding
        self.engine = p.paper.engine
        edge = p.strategy.edge
        assert edge is not None  # noqa: S101 - the pipeline always builds one
        self.edge = edge
        self.min_resolved = settings.calibration.min_resolved
        self.arrays = [
            {
                "ts": c.series.ts.astype(np.float64),
                "open": c.series.open,
                "high": c.series.high,
                "low": c.series.low,
                "close": c.series.close,
                "volume": c.series.volume,
                "atr": c.atr,
                "atr_pct": c.atr_pct,
            }
            for c in tl.calls
        ]
        self.true_ranges = [
            true_range(c.series.high, c.series.low, c.series.close) for c in tl.calls
        ]
        # per event: its decision bar (the bar its feed candle completes), −1 inside one
        self.decision = np.full(tl.ev_sym.size, -1, dtype=np.int64)
        for k, c in enumerate(tl.calls):
            self.decision[tl.position[k][c.bars]] = np.arange(c.bars.size)
        self.side = np.zeros(tl.ev_sym.size, dtype=np.int64)
        for k, c in enumerate(tl.calls):
            self.side[tl.position[k][c.bars]] = c.side
        self.delivered = [-1] * len(tl.calls)  # per symbol: the last feed bar delivered
        self.candidate = self._candidates(settings)
        self.next_candidate = self._next(self.candidate)
        self.signal_events = np.flatnonzero(self.side != 0)
        self.calibrator = TimelineCalibrator(tl, self.min_resolved, settings.calibration.window)
        p.signals.calibrator = self.calibrator
        self.skipped = 0
        self.handovers = 0
        self._e = 0  # the event being delivered
        if p.strategy.volatilities is not None:  # the other symbols' histories lag: arrays
            p.strategy.volatilities = self._volatilities

    def _volatilities(self) -> dict[str, float]:
        """Every symbol's ATR % as its history would hold it at the event being delivered (its
        bars up to this event): the symbol risk's volatility rank, as in a full replay."""
        out = {}
        for k, c in enumerate(self.tl.calls):
            i = int(np.searchsorted(self.tl.position[k], self._e, side="right")) - 1
            j = int(np.searchsorted(c.bars, i, side="right")) - 1  # decision bars by then
            if j >= 0:
                out[c.series.symbol] = float(self.arrays[k]["atr_pct"][j])
        return out

    def _candidates(self, settings: Settings) -> npt.NDArray[np.bool_]:
        tl, fp = self.tl, filter_params(settings)
        side = np.zeros(tl.ev_sym.size, dtype=np.int64)
        cons = np.full(tl.ev_sym.size, CONSENSUS.index("WEAK"), dtype=np.int64)
        atr_pct = np.full(tl.ev_sym.size, np.nan)
        for k, c in enumerate(tl.calls):
            at = tl.position[k][c.bars]  # the events that complete a decision bar
            side[at], cons[at], atr_pct[at] = c.side, c.consensus, c.atr_pct
        if settings.signals.force_confidence:
            out: npt.NDArray[np.bool_] = side != 0
            return out
        allowed = np.isin(cons, [CONSENSUS.index(str(x)) for x in fp.allowed_consensus])
        with np.errstate(invalid="ignore"):
            needed = np.where(
                atr_pct > fp.high_vol_atr_pct, fp.high_vol_min_confidence, fp.min_confidence
            )
        flags: npt.NDArray[np.bool_] = (side != 0) & allowed & (tl.calibrated >= needed)
        return flags

    @staticmethod
    def _next(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """For each event, the index of the next flagged event at or after it (len if none)."""
        idx = np.where(flags, np.arange(flags.size), flags.size)
        out: npt.NDArray[np.int64] = np.minimum.accumulate(idx[::-1])[::-1]
        return out

    def _event(self, e: int) -> CandleEvent:
        k, i = int(self.tl.ev_sym[e]), int(self.tl.ev_bar[e])
        return event_at(self.tl.calls[k].feed, i, self.funding)

    def _sync(self, e: int) -> None:
        """Catch the event's symbol up (history and exchange state, lazily, symbol by symbol)
        and point the calibrator at the event."""
        k = int(self.tl.ev_sym[e])
        n = int(self.tl.ev_bar[e])  # feed bars of this symbol before this event
        if n and self.delivered[k] < n - 1:
            self.handovers += 1
            calls = self.tl.calls[k]
            decided = int(np.searchsorted(calls.bars, n))  # decision bars complete before it
            history = self.p.signals.history(self._event(int(self.tl.position[k][0])))
            if history.count < decided:
                history.restore(self.arrays[k], decided, self.true_ranges[k])
            last = self._event(int(self.tl.position[k][n - 1]))
            c = last.candle
            self.engine.on_candle(
                last.symbol, c.ts, c.open, c.high, c.low, c.close, last.funding_rate
            )
            if last.funding_rate is not None:
                self.p.signals.funding[last.symbol] = last.funding_rate
            self._restore_bucket(k, n)
        self.calibrator.at(e)

    def _restore_bucket(self, k: int, n: int) -> None:
        """The signal service's forming decision candle as it is after feed bar n − 1."""
        signals, feed = self.p.signals, self.tl.calls[k].feed
        decide = signals.decision_ms(feed.timeframe_ms)
        if decide == feed.timeframe_ms:
            return
        start = int(np.searchsorted(feed.ts, feed.ts[n - 1] // decide * decide))
        agg = signals.buckets.get(feed.symbol)
        if agg is None:
            agg = signals.buckets[feed.symbol] = Aggregator(decide, feed.timeframe_ms)
        agg.restore([self._event(int(self.tl.position[k][j])).candle for j in range(start, n)])

    def _busy(self) -> list[int]:
        """Symbols with a position, a live order or a shadow trade: their events must all be
        delivered."""
        out = []
        for k, c in enumerate(self.tl.calls):
            sym = c.series.symbol
            if (
                sym in self.p.book.positions
                or sym in self.engine.positions
                or self.engine.has_live_orders(sym)
                or self.edge.has_open(sym)
            ):
                out.append(k)
        return out

    def _quiet_until(self, e: int, busy: list[int]) -> int:
        """The first event at or after ``e`` that can matter: a candidate or a busy symbol's."""
        j = int(self.next_candidate[e])
        for k in busy:
            pos = self.tl.position[k]
            i = int(np.searchsorted(pos, e))
            if i < pos.size:
                j = min(j, int(pos[i]))
        return j

    def _skip(self, e: int, j: int) -> None:
        """Events [e, j) are quiet: record them and move the risk guard as the strategy would."""
        closes = self.tl.ev_close[e:j]
        equity = self.engine.balance().equity
        rec = self.recorder
        rec.ts.extend(closes.tolist())
        rec.equity.extend([equity] * (j - e))
        rec.exposed.extend([bool(self.engine.positions)] * (j - e))
        if rec.on_bar is not None:
            for _ in range(j - e):
                rec.on_bar()
        self.p.feed.candles += j - e
        self.skipped += j - e
        lo, hi = np.searchsorted(self.signal_events, [e, j])
        ts = self.tl.ev_close[self.signal_events[lo:hi]]
        risk, at = self.p.strategy.risk, 0
        while at < ts.size:  # the first signal, then each new day and each breaker expiry
            risk.update(equity, int(ts[at]))
            day_end = (int(ts[at]) // DAY_MS + 1) * DAY_MS
            nxt = [int(np.searchsorted(ts, day_end))]
            if risk.status(int(ts[at])).breaker_until_ms > ts[at]:
                nxt.append(int(np.searchsorted(ts, risk.status(0).breaker_until_ms)))
            at = max(at + 1, min(nxt))
        if ts.size:
            self.p.clock.set(int(closes[-1]))

    async def run(self) -> None:
        total, e = self.tl.ev_sym.size, 0
        while e < total:
            if not self.candidate[e]:
                busy = self._busy()
                if int(self.tl.ev_sym[e]) not in busy:
                    j = self._quiet_until(e, busy)
                    self._skip(e, j)
                    e = j
                    continue
            self._sync(e)
            self._e = e
            self.delivered[int(self.tl.ev_sym[e])] = int(self.tl.ev_bar[e])
            await self.p.feed._deliver(self._event(e))
            e += 1
        self.p.feed.finished.set()
