"""Skip-ahead driver for backtests: the daemon's pipeline decides every bar that can matter, and
the rest are stepped over with their effects applied exactly.

A bar can matter when its signal passes the filter's consensus and confidence checks (known in
advance: :mod:`precompute`), or when it is a held symbol's bar that touches a resting order, fires
an exit rule or pays funding (found from the arrays: :mod:`holding`). Any other bar, the pipeline
would only have appended to the symbol's history, moved the calibrator, moved the exit machines'
running extremes, recorded equity and updated the risk guard. So a run of such bars is recorded at
once: equity marked to each bar's close, the risk guard advanced over it (up to a bar where a limit
could trip, which the pipeline decides). The calibrator is answered from its precomputed timeline;
a symbol's history, exchange state, exit machine and shadow are caught up (restored from arrays,
equal to the incremental ones) just before its next bar that matters, and every held symbol's last
price before any bar is delivered.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from quantum_trader.backtest.candidates import candidates
from quantum_trader.backtest.holding import Watch, first_bar
from quantum_trader.backtest.precompute import Timeline, TimelineCalibrator, search
from quantum_trader.backtest.recorder import Recorder
from quantum_trader.bus.messages import CandleEvent
from quantum_trader.core.buckets import Aggregator
from quantum_trader.core.exit_rules import running_peak
from quantum_trader.core.features import true_range
from quantum_trader.core.shadow import resting_levels
from quantum_trader.core.types import Side
from quantum_trader.feeds.loader import FundingSeries
from quantum_trader.feeds.replay import event_at
from quantum_trader.params import filter_params
from quantum_trader.pipeline import Pipeline
from quantum_trader.settings import Settings

#: events passed over in one step at most: a quiet year of ten symbols is 5 million events, and
#: each step holds a few arrays of its length (the marks, the risk guard's running values)
SKIP_CHUNK = 1 << 16


class RankVolatilities:
    """Every symbol's ATR % as its history would hold it at the event being delivered (its bars
    up to this event): the symbol risk's volatility rank, as in a full replay — where the other
    symbols' histories lag behind a skipping run, the arrays do not."""

    def __init__(self, tl: Timeline) -> None:
        self.tl, self.event = tl, 0

    def at(self, event: int) -> None:
        self.event = event

    def __call__(self) -> dict[str, float]:
        out = {}
        for k, c in enumerate(self.tl.calls):
            i = search(self.tl.position[k], self.event, side="right") - 1
            j = search(c.bars, i, side="right") - 1  # decision bars by then
            if j >= 0:
                out[c.series.symbol] = float(c.atr[j] / c.series.close[j])
        return out


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
                "ts": c.series.ts,  # int64: a history's float buffer takes a slice exactly
                "open": c.series.open,
                "high": c.series.high,
                "low": c.series.low,
                "close": c.series.close,
                "volume": c.series.volume,
                "atr": c.atr,  # ATR % is atr / close, divided where it is read
            }
            for c in tl.calls
        ]
        self._true_ranges: dict[int, npt.NDArray[np.float64]] = {}  # per symbol: the first ones
        self.bar_sides = []  # per symbol, per feed bar: the signal it completes (+1, −1, 0)
        for c in tl.calls:
            sides = np.zeros(len(c.feed), dtype=np.int8)
            sides[c.bars] = c.side
            self.bar_sides.append(sides)
        self.delivered = [-1] * len(tl.calls)  # per symbol: the last feed bar delivered
        self.index = {c.series.symbol: k for k, c in enumerate(tl.calls)}
        self._scans: dict[int, tuple[object, int]] = {}  # per held symbol: its last scan
        # per event, and per symbol its candidates' events (a held symbol's are refused: open)
        self.candidate, self.candidates_of = candidates(
            tl, filter_params(settings), settings.signals.force_confidence
        )
        calibrator = p.signals.calibrator
        assert isinstance(calibrator, TimelineCalibrator)  # noqa: S101 - the runner builds it so
        self.calibrator = calibrator
        vols = p.strategy.volatilities  # the volatility rank from the arrays (or off)
        self.volatilities = vols if isinstance(vols, RankVolatilities) else None
        self.skipped = 0
        self.skipped_held = 0  # of them, while a symbol was held
        self.handovers = 0

    def _event(self, e: int) -> CandleEvent:
        k, i = int(self.tl.ev_sym[e]), int(self.tl.ev_bar[e])
        return event_at(self.tl.calls[k].feed, i, self.funding)

    def _sync(self, e: int) -> None:
        """Catch the event's symbol up (history, exchange state, exit machine and shadow, lazily,
        symbol by symbol), mark every other held symbol to its last close, and point the
        calibrator at the event."""
        k = int(self.tl.ev_sym[e])
        n = int(self.tl.ev_bar[e])  # feed bars of this symbol before this event
        if n and self.delivered[k] < n - 1:
            self.handovers += 1
            calls = self.tl.calls[k]
            decided = search(calls.bars, n)  # decision bars complete before it
            history = self.p.signals.history(self._event(int(self.tl.position[k][0])))
            if history.count < decided:  # a short stretch added, a long one restored
                history.extend(self.arrays[k], decided, self._seed_ranges(k, history.period))
            self._catch_up_held(k, self.delivered[k] + 1, n)
            last = self._event(int(self.tl.position[k][n - 1]))
            c = last.candle
            if n >= 2:  # the walk from the previous close, as in a full replay
                self.engine.last[last.symbol] = float(calls.feed.close[n - 2])
            self.engine.on_candle(
                last.symbol, c.ts, c.open, c.high, c.low, c.close, last.funding_rate
            )
            if last.funding_rate is not None:
                self.p.signals.funding[last.symbol] = last.funding_rate
            self._restore_bucket(k, n)
        for sym in self.engine.positions:  # the others' prices as a full replay has them now
            other = self.index[sym]
            if other != k:
                i = search(self.tl.position[other], e) - 1
                if i > self.delivered[other]:
                    close = float(self.tl.calls[other].feed.close[i])
                    self.engine.last[sym] = self.p.exits.last[sym] = close
        self.calibrator.at(e)

    def _seed_ranges(self, k: int, period: int) -> npt.NDArray[np.float64]:
        """The true ranges a history seeds its ATR with: the first ``period`` (all a restore
        reads of them; the whole series' would be a year of floats per symbol)."""
        if k not in self._true_ranges:
            s = self.tl.calls[k].series
            self._true_ranges[k] = true_range(s.high[:period], s.low[:period], s.close[:period])
        return self._true_ranges[k]

    def _catch_up_held(self, k: int, first: int, n: int) -> None:
        """The exit machine's and the shadow's running extremes over the bars [first, n) passed
        over, and the last close they saw."""
        feed = self.tl.calls[k].feed
        sym = feed.symbol
        self.p.exits.last[sym] = float(feed.close[n - 1])
        close_ts = feed.ts[first:n] + feed.timeframe_ms
        mp = self.p.book.positions.get(sym)
        if mp is not None and not mp.closing:
            after = close_ts > mp.opened.plan.opened_ts
            mp.state = replace(
                mp.state, peak=self._extreme(mp.state.plan.side, mp.state.peak, k, first, n, after)
            )
        shadow = self.edge.open.get(sym)
        if shadow is not None:
            after = close_ts > shadow.entry_ts
            if after.any():
                state = shadow.state
                peak = self._extreme(state.plan.side, state.peak, k, first, n, after)
                last = float(feed.close[first + int(np.flatnonzero(after)[-1])])
                self.edge.open[sym] = replace(
                    shadow, state=replace(state, peak=peak), last_close=last
                )

    def _extreme(
        self, side: Side, peak: float, k: int, first: int, n: int, mask: npt.NDArray[np.bool_]
    ) -> float:
        """The exit machine's running extreme after the bars passed over (the rules' own)."""
        feed = self.tl.calls[k].feed
        if not mask.any():
            return peak
        hi, lo = feed.high[first:n][mask], feed.low[first:n][mask]
        return float(running_peak(side, peak, hi, lo)[-1])

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

    def _held(self) -> list[int]:
        """Symbols with a position, a live order, an entry under way or a shadow trade."""
        out = []
        for k, c in enumerate(self.tl.calls):
            sym = c.series.symbol
            if (
                sym in self.p.book.positions
                or sym in self.engine.positions
                or self.engine.has_live_orders(sym)
                or sym in self.p.book.entering
                or self.edge.has_open(sym)
            ):
                out.append(k)
        return out

    def _watch(self, k: int) -> Watch | None:
        """What can make a held symbol's bar matter; None when every one may (an entry or a
        close under way, the book and the exchange apart, an order without a price)."""
        sym = self.tl.calls[k].series.symbol
        mp, pos = self.p.book.positions.get(sym), self.engine.positions.get(sym)
        if sym in self.p.book.entering or (mp is None) != (pos is None) or self.delivered[k] < 0:
            return None
        levels = []
        for order in self.engine.open_orders(sym):
            level = order.stop_price or order.price
            if not level:
                return None
            levels.append(level)
        exits = []
        if mp is not None and pos is not None:
            if mp.closing:
                return None
            levels.append(pos.liq)
            exits.append((mp.state, self.p.exits.params))
        shadow = self.edge.open.get(sym)
        if shadow is not None:
            levels += resting_levels(shadow.state)
            exits.append((shadow.state, replace(self.edge.exits, tp_mode="exchange")))
        paid = pos is not None and sym in self.funding
        funding = self.engine.cfg.funding_interval_ms if paid else 0
        exit_side = 0
        if mp is not None and self.p.exits.params.on_signal:
            exit_side = -mp.opened.plan.side.sign
        return Watch(tuple(x for x in levels if x > 0), tuple(exits), funding, exit_side)

    def _next_held(self, k: int, e: int) -> int:
        """The first event at or after ``e`` of held symbol ``k`` that can matter."""
        pos = self.tl.position[k]
        begin = search(pos, e)
        watch = self._watch(k)
        if watch is None:
            return int(pos[begin]) if begin < pos.size else self.tl.ev_sym.size
        key = (self.delivered[k], watch)
        cached = self._scans.get(k)
        if cached is not None and cached[0] == key and cached[1] >= e:
            return cached[1]
        feed = self.tl.calls[k].feed
        start = self.delivered[k] + 1
        bar = first_bar(watch, feed, start, begin, len(feed), self.bar_sides[k])
        at = int(pos[bar]) if bar < pos.size else self.tl.ev_sym.size
        self._scans[k] = (key, at)
        return at

    def _quiet_until(self, e: int, held: list[int]) -> int:
        """The first event at or after ``e`` that can matter: a held symbol's, or a candidate of
        a symbol without a position (a held one's is refused as already open, unless its bar
        closes the position — and such a bar is the held symbol's own next)."""
        j = self.tl.ev_sym.size
        for k, events in enumerate(self.candidates_of):
            if not self._open(k):
                i = search(events, e)
                if i < events.size:
                    j = min(j, int(events[i]))
        for k in held:
            j = min(j, self._next_held(k, e))
        return j

    def _open(self, k: int) -> bool:
        """Would the filter refuse this symbol's signal as already open?"""
        sym = self.tl.calls[k].series.symbol
        return sym in self.p.book.positions or sym in self.p.book.entering

    def _equity(self, e: int, j: int) -> npt.NDArray[np.float64]:
        """The account's equity after each event in [e, j): the wallet and every position
        marked to its symbol's last close, summed in the engine's order."""
        positions = list(self.engine.positions.items())
        if not positions:
            return np.full(j - e, self.engine.balance().equity)
        events = np.arange(e, j)
        upnl = []
        for sym, pos in positions:
            k = self.index[sym]
            at = self.tl.position[k]
            bar = np.searchsorted(at, events.astype(at.dtype), side="right") - 1
            price = self.tl.calls[k].feed.close[bar]
            upnl.append(pos.side.sign * (price - pos.entry) * pos.qty)
        if len(upnl) > 1 and sys.version_info >= (3, 12):  # sum() compensates from 3.12 on
            return np.array([self.engine.wallet + sum(u) for u in zip(*upnl, strict=True)])
        total = upnl[0]
        for u in upnl[1:]:
            total = total + u
        out: npt.NDArray[np.float64] = self.engine.wallet + total
        return out

    def _skip(self, e: int, j: int) -> int:
        """Events [e, j) change nothing but the marks: record them and advance the risk guard
        as the risk service would, up to an event where a limit could trip. Returns how many
        were passed over."""
        equity = self._equity(e, j)
        closes = self.tl.closes(e, j)
        n = self.p.strategy.risk.advance(equity, closes)
        if n == 0:
            return 0
        rec = self.recorder
        rec.marks.extend(closes[:n], equity[:n], bool(self.engine.positions))
        used = sum(p.margin for p in self.engine.positions.values())
        if used:
            rec.max_margin_util = max(rec.max_margin_util, float((used / equity[:n]).max()))
        if rec.on_bar is not None:
            rec.on_bar(n)
        self.p.feed.candles += n
        self.skipped += n
        self.p.clock.set(int(closes[n - 1]))
        return n

    async def run(self) -> None:
        total, e = self.tl.ev_sym.size, 0
        while e < total:
            if not self.candidate[e] or self._open(int(self.tl.ev_sym[e])):
                held = self._held()
                j = min(self._quiet_until(e, held), e + SKIP_CHUNK)
                if j > e:
                    passed = self._skip(e, j)
                    self.skipped_held += passed if held else 0
                    if passed:
                        e += passed
                        continue
            self._sync(e)
            if self.volatilities is not None:
                self.volatilities.at(e)
            self.delivered[int(self.tl.ev_sym[e])] = int(self.tl.ev_bar[e])
            await self.p.feed._deliver(self._event(e))
            e += 1
        self.p.feed.finished.set()
