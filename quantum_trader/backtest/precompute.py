"""Everything about a backtest that depends on the candles alone, computed once and vectorised:
the ensemble's call on every bar (equal to :func:`call_at`, bit for bit), the merged event order
of several symbols (the replay's), and the calibrator's whole timeline — every signal with a side
is tracked and resolved at its horizon whatever is traded, so the calibrated confidence of every
signal, and the state of the calibrator before any event, are known in advance."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

from quantum_trader.backtest.resample import resample
from quantum_trader.core.calibration import (
    BIN_EDGES,
    MIN_BIN,
    N_BINS,
    PRIOR,
    Calibration,
    calibrate_binned,
    calibrate_confidence,
)
from quantum_trader.core.ensemble import EnsembleSeries
from quantum_trader.core.features import wilder_atr
from quantum_trader.core.filter import CONSENSUS_CODES
from quantum_trader.core.models import BUILTIN, Bars, SignalModel, models_series
from quantum_trader.core.models import DEFAULT as DEFAULT_NAMES
from quantum_trader.core.types import Side
from quantum_trader.feeds.loader import CandleSeries
from quantum_trader.signals.calibrator import Calibrator
from quantum_trader.signals.service import HORIZON_BARS

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
DEFAULT_MODELS = tuple(BUILTIN[n] for n in DEFAULT_NAMES)
CONSENSUS = CONSENSUS_CODES  # a signal's consensus as its index in this
SIGNAL_BLOCK = 1 << 18  # signals calibrated at once
S = TypeVar("S")
R = TypeVar("R")


@dataclass
class SymbolCalls:
    """Per decision bar (the feed's own bars, or decision candles resampled from them)."""

    series: CandleSeries  # the decision candles
    atr: F64
    side: I8  # +1 LONG, −1 SHORT, 0 no call
    confidence: F64  # raw ensemble confidence where side ≠ 0
    consensus: I8  # index into CONSENSUS
    ensemble: EnsembleSeries
    feed: CandleSeries  # the candles delivered (the same series when not resampled)
    bars: I32  # per decision bar: the feed bar that completes it

    @property
    def atr_pct(self) -> F64:
        """ATR as a fraction of the close (computed when asked, as the models got it)."""
        out: F64 = self.atr / self.series.close
        return out

    @property
    def close_ts(self) -> I64:
        """Each decision bar's close time (computed when asked: a year is 4 MB)."""
        out: I64 = self.series.ts + self.series.timeframe_ms
        return out


def search(a: npt.NDArray[np.integer], x: int, side: Literal["left", "right"] = "left") -> int:
    """``numpy.searchsorted`` of one index in an index array, asked in the array's own dtype:
    with a Python int numpy casts an int32 array to int64 first — a copy of the whole array on
    every call, where the search itself is a few comparisons."""
    return int(np.searchsorted(a, a.dtype.type(x), side=side))


def decision_series(feed: CandleSeries, decide_ms: int = 0) -> tuple[CandleSeries, I32]:
    """The candles decisions are made on: ``decide_ms`` buckets of the feed, or the feed."""
    if decide_ms and decide_ms != feed.timeframe_ms:
        return resample(feed, decide_ms)
    return feed, np.arange(len(feed), dtype=np.int32)


def symbol_calls(
    feed: CandleSeries, decide_ms: int = 0, models: tuple[SignalModel, ...] = DEFAULT_MODELS
) -> SymbolCalls:
    s, bars = decision_series(feed, decide_ms)
    atr = wilder_atr(s.high, s.low, s.close)
    ens = models_series(models, Bars(s.open, s.high, s.low, s.close, s.volume, atr / s.close))
    votes, n_models = ens.votes, ens.votes.shape[1]
    valid: npt.NDArray[np.bool_] = np.asarray(~np.isnan(votes).any(axis=1))
    valid[: ens.warmup - 1] = False
    n_long = (votes > 0).sum(axis=1, dtype=np.int16)  # narrow: a year of ten symbols is in RAM
    n_short = (votes < 0).sum(axis=1, dtype=np.int16)
    one, zero = np.int8(1), np.int8(0)
    side = np.where(valid & (n_long != n_short), np.where(n_long > n_short, one, -one), zero)
    agree = np.maximum(n_long, n_short)
    consensus = np.where(  # consensus_of, vectorised: UNANIMOUS, STRONG (≥ ¾), SPLIT, WEAK
        valid & (agree == n_models),
        zero,
        np.where(
            valid & (agree * 4 >= 3 * n_models),
            one,
            np.where(valid & (n_long == n_short), np.int8(2), np.int8(3)),
        ),
    )
    total = np.zeros(votes.shape[0])
    for m in range(n_models):  # in model order, as call_at sums them
        p = np.clip(ens.probs[:, m], 0.0, 1.0)
        total += np.where(votes[:, m] * side > 0, p, 0.0)
    count = np.where(side > 0, n_long, n_short).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.where(side != 0, total / count * (0.85 + 0.15 * count / n_models), 0.0)
    return SymbolCalls(
        s,
        atr,
        side,
        confidence,
        consensus,
        ens,
        feed,
        bars,
    )


@dataclass
class Timeline:
    """The replay's merged events and the calibrator's evolution over them."""

    calls: list[SymbolCalls]
    ev_sym: I32  # series index of each event
    ev_bar: I32  # bar index of each event
    position: list[I32]  # per series: bar → event position
    sig_pos: I32  # event position of every signal (track order)
    res_pos: I32  # event position where it resolves (len(events) if never)
    outcome_order: I32  # signal indices in the order their outcomes were appended
    outcome_pos: I32  # res_pos in that order
    outcomes: npt.NDArray[np.bool_]
    outcome_bins: I8  # the raw-confidence bin of each outcome, in that order
    calibrated: F64  # per event: the calibrated confidence of its signal (0 if none)
    hits: I32  # hits among the first n outcomes (n = 0 … len(outcomes))
    bins: BinCounts  # per bin, the same counted in outcome order
    method: str = "binned"
    min_bin: int = MIN_BIN
    prior: float = PRIOR

    def closes(self, e: int, j: int) -> I64:
        """The close times of events [e, j), from their series' candles (not kept per event: a
        year of ten symbols is 42 MB of them)."""
        if len(self.calls) == 1:
            feed = self.calls[0].feed
            out: I64 = feed.ts[e:j] + feed.timeframe_ms
            return out
        sym, bar = self.ev_sym[e:j], self.ev_bar[e:j]
        out = np.empty(j - e, dtype=np.int64)
        for k, c in enumerate(self.calls):
            mine = sym == k
            out[mine] = c.feed.ts[bar[mine]] + c.feed.timeframe_ms
        return out


class BinCounts:
    """Per raw-confidence bin, how many of the first ``n`` outcomes (in outcome order) fell in it
    and how many of those were hits — exact integers, from one sorted key per outcome (16 bytes an
    outcome, where a bins × outcomes table of running counts takes 160)."""

    def __init__(self, outcomes: npt.NDArray[np.bool_], bins: npt.NDArray[np.integer]) -> None:
        self._stride = outcomes.size + 1
        # int32 keys and counts while they fit (a year of ten symbols: 4 million outcomes)
        dt = np.dtype(np.int32 if N_BINS * self._stride < 2**31 else np.int64)
        self._dt = dt
        # by bin, then outcome position: one bin at a time (no index array of them all in int64)
        order = np.concatenate([np.flatnonzero(bins == b).astype(dt) for b in range(N_BINS)])
        self._keys = bins[order].astype(dt) * dt.type(self._stride) + order
        self._hits = np.concatenate([np.zeros(1, dt), np.cumsum(outcomes[order], dtype=dt)])

    def at(
        self, bins: npt.NDArray[np.integer], n: npt.NDArray[np.integer]
    ) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.integer]]:
        """(hits, count) of bin ``bins[i]`` among the first ``n[i]`` outcomes, elementwise. The
        keys asked are of the table's own dtype: numpy would copy the table to widen it."""
        key = bins.astype(self._dt) * self._dt.type(self._stride)
        first = np.searchsorted(self._keys, key, side="left")
        upto = np.searchsorted(self._keys, (key + n).astype(self._dt), side="left")
        return self._hits[upto] - self._hits[first], upto - first


class TimelineCalibrator(Calibrator):
    """A backtest's calibrator, answered from the timeline at the event being delivered: the
    outcomes resolved up to and including it, then the same core formula. Tracking and resolving
    are already in the timeline, so they cost nothing here."""

    def __init__(self, tl: Timeline, min_resolved: int, keep: int = 500) -> None:
        super().__init__(min_resolved, keep)
        self.tl, self.keep, self.event = tl, keep, 0

    def at(self, event: int) -> None:
        self.event = event

    def track(self, symbol: str, side: Side, price: float, due_ts: int, raw: float = 1.0) -> None:
        return None

    def resolve(self, symbol: str, price: float, ts: int) -> None:
        return None

    def _window(self) -> tuple[int, int]:
        n = self._resolved_at()
        w = min(n, self.keep)
        return int(self.tl.hits[n] - self.tl.hits[n - w]), w

    def _resolved_at(self) -> int:
        return search(self.tl.outcome_pos, self.event, side="right")

    @property
    def accuracy(self) -> float | None:
        hits, w = self._window()
        return hits / w if w else None

    def record(self) -> tuple[float | None, int]:
        hits, w = self._window()
        return (hits / w if w else None), w

    def calibrate(self, raw: float) -> Calibration:
        hits, w = self._window()
        acc = hits / w if w else None
        if self.tl.method == "coarse":
            return calibrate_confidence(raw, acc, w, self.min_resolved)
        n = self._resolved_at()
        b, start = int(np.searchsorted(BIN_EDGES, raw, side="right")), n - w
        (h_now, h_start), (n_now, n_start) = self.tl.bins.at(np.array([b, b]), np.array([n, start]))
        bin_hits, bin_n = int(h_now - h_start), int(n_now - n_start)
        return calibrate_binned(
            raw, bin_hits, bin_n, acc, w, self.min_resolved, self.tl.min_bin, self.tl.prior
        )


def _calibrated(
    n_events: int,
    sig_pos: I32,
    raw: F64,
    sig_bins: I8,
    outcome_pos: I32,
    cum: I32,
    counts: BinCounts,
    min_resolved: int,
    keep: int,
    method: str,
    min_bin: int,
    prior: float,
) -> F64:
    """The calibrated confidence of the signal at each event (0 where none): the outcomes resolved
    at the event count. ``calibrate_confidence`` or ``calibrate_binned``, vectorised with the same
    operations in the same order, over the signals a block at a time (a ten-symbols year has
    millions of them, and each step's temporaries would be as many)."""
    calibrated = np.zeros(n_events)
    for lo in range(0, sig_pos.size, SIGNAL_BLOCK):
        block = slice(lo, lo + SIGNAL_BLOCK)
        n_at = np.searchsorted(outcome_pos, sig_pos[block], side="right")
        window = np.minimum(n_at, keep)
        hits = cum[n_at] - cum[np.maximum(0, n_at - keep)]
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = np.where(window > 0, hits / np.maximum(window, 1), 0.0)
        counted = window if keep else n_at
        out = _calibrate(raw[block], acc, counted, min_resolved)
        if method == "binned":
            bins = sig_bins[block]
            h_now, n_now = counts.at(bins, n_at)
            h_start, n_start = counts.at(bins, np.maximum(0, n_at - keep))
            bin_h, bin_n = h_now - h_start, n_now - n_start
            with np.errstate(invalid="ignore", divide="ignore"):
                shrunk = np.clip((bin_h + prior * acc) / (bin_n + prior), 0.05, 0.95)
            use = (bin_n >= min_bin) & (window > 0) & (counted >= min_resolved)
            out = np.where(use, shrunk, out)
        calibrated[sig_pos[block]] = out
    return calibrated


def _calibrate(raw: F64, acc: F64, resolved: I64, min_resolved: int) -> F64:
    """calibrate_confidence, vectorised with the same operations in the same order."""
    factor = np.where(raw < 0.5, 1.0, np.clip(acc / np.where(raw > 0, raw, 1.0), 0.5, 1.5))
    calibrated = np.clip(raw * (0.7 * factor + 0.3), 0.1, 0.95)
    return np.where(resolved < min_resolved, raw, calibrated)


def per_symbol(work: Callable[[S], R], items: Sequence[S]) -> list[R]:
    """``work`` on each item, in order; on threads (one per core) when there are several."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        return [work(x) for x in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="precompute") as pool:
        return list(pool.map(work, items))


def _events(calls: Sequence[SymbolCalls]) -> tuple[I32, I32, list[I32]]:
    """The replay's merged order of every symbol's feed bars — by time, then series index, as the
    replay pops them — as (series index, bar index) per event, and per series its bars' event
    positions. Indices are int32 (half the memory of a year of ten symbols' events); the
    temporaries are dropped as soon as they are used."""
    sizes = np.array([len(c.feed) for c in calls], dtype=np.int64)
    if sizes.sum() >= 2**31:
        raise ValueError(f"{int(sizes.sum()):,} bars in one backtest: split it (at most 2**31)")
    ts = np.concatenate([c.feed.ts for c in calls])
    sym = np.repeat(np.arange(len(calls), dtype=np.int32), sizes)
    order = np.lexsort((sym, ts))
    ev_sym = sym[order]
    del sym, ts
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ev_bar = (order - starts[ev_sym]).astype(np.int32)
    del order
    position = [np.empty(n, dtype=np.int32) for n in sizes.tolist()]
    for k, pos in enumerate(position):
        where = np.flatnonzero(ev_sym == k)
        pos[ev_bar[where]] = where
    return ev_sym, ev_bar, position


def timeline(
    series: Sequence[CandleSeries],
    min_resolved: int,
    keep: int = 500,
    method: str = "binned",
    min_bin: int = MIN_BIN,
    prior: float = PRIOR,
    decide_ms: int = 0,
    models: tuple[SignalModel, ...] = DEFAULT_MODELS,
) -> Timeline:
    """``decide_ms``: decide on candles of this timeframe, resampled from the feed's (events stay
    the feed's candles: a decision bar's signal is at the feed bar that completes it). Each
    symbol's calls are computed on a thread of their own, as many at once as there are cores:
    they are independent, and numpy releases the GIL on whole arrays."""
    calls = per_symbol(lambda s: symbol_calls(s, decide_ms, models), series)
    ev_sym, ev_bar, position = _events(calls)
    n_events = ev_sym.size
    sig_pos_l, res_pos_l, out_l, raw_l = [], [], [], []
    for k, c in enumerate(calls):
        bars = np.flatnonzero(c.side != 0)
        close_ts = c.close_ts
        due = close_ts[bars] + HORIZON_BARS * c.series.timeframe_ms
        res_bar = np.searchsorted(close_ts, due, side="left")
        del close_ts
        ok = res_bar < len(c.series)
        res = np.full(bars.size, n_events, dtype=np.int32)
        res[ok] = position[k][c.bars[res_bar[ok]]]
        price = c.series.close[bars]
        later = c.series.close[np.minimum(res_bar, len(c.series) - 1)]
        sig_pos_l.append(position[k][c.bars[bars]])
        res_pos_l.append(res)
        out_l.append((later - price) * c.side[bars] > 0)
        raw_l.append(c.confidence[bars])
    sig_pos = np.concatenate(sig_pos_l) if sig_pos_l else np.zeros(0, np.int32)
    res_pos = np.concatenate(res_pos_l) if res_pos_l else np.zeros(0, np.int32)
    outcome_all = np.concatenate(out_l) if out_l else np.zeros(0, dtype=bool)
    raw_all = np.concatenate(raw_l) if raw_l else np.zeros(0)
    del sig_pos_l, res_pos_l, out_l, raw_l
    track = np.argsort(sig_pos, kind="stable")
    sig_pos, res_pos, outcome_all = sig_pos[track], res_pos[track], outcome_all[track]
    raw = raw_all[track]
    del raw_all, track
    resolved = np.flatnonzero(res_pos < n_events)
    outcome_order = resolved[np.lexsort((sig_pos[resolved], res_pos[resolved]))].astype(np.int32)
    del resolved
    outcome_pos = res_pos[outcome_order]
    outcomes = outcome_all[outcome_order]
    del outcome_all
    sig_bins = np.searchsorted(np.asarray(BIN_EDGES), raw, side="right").astype(np.int8)
    outcome_bins = sig_bins[outcome_order]
    hits = np.concatenate([np.zeros(1, np.int32), np.cumsum(outcomes, dtype=np.int32)])
    counts = BinCounts(outcomes, outcome_bins)
    calibrated = _calibrated(
        n_events, sig_pos, raw, sig_bins, outcome_pos, hits, counts,
        min_resolved, keep, method, min_bin, prior,
    )  # fmt: skip
    return Timeline(
        calls,
        ev_sym,
        ev_bar,
        position,
        sig_pos,
        res_pos,
        outcome_order,
        outcome_pos,
        outcomes,
        outcome_bins,
        calibrated,
        hits,
        counts,
        method,
        min_bin,
        prior,
    )
