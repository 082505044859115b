"""One trial of a sweep: the settings with its overrides, a backtest over one window of the data,
and a row of results — or a row that says why it failed. Runs in a Ray worker (or in-process):
everything it needs travels as plain data (a settings dump, file paths, a window)."""

from __future__ import annotations

import importlib
import os
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quantum_trader.sweep.space import Value, Window, with_overrides

#: the metrics a row carries (``Metrics`` fields), the sweep's objective among them
METRICS = ("trades", "total_return", "sharpe", "sortino", "max_drawdown", "profit_factor",
           "win_rate", "fees", "exposure", "liquidations")  # fmt: skip


@dataclass(frozen=True, slots=True)
class TrialSpec:
    trial: int
    params: dict[str, Value]
    window: Window
    base: dict[str, Any]  # the base settings, model-dumped
    files: tuple[str, ...]
    funding: tuple[str, ...] = ()
    seed: int = 0


@dataclass(frozen=True, slots=True)
class SharedWindow:
    """A window's candles and their timeline under the sweep's base settings, computed once by
    the driver and handed to every worker — through Ray's object store, where the arrays are read
    in place, so the workers neither compute nor hold a copy of their own."""

    depends: tuple[object, ...]  # the timeline's settings (``runner.timeline_depends``)
    series: list[Any]
    timeline: Any


def share(window: Window, base: dict[str, Any], files: tuple[str, ...]) -> SharedWindow | None:
    """The window's shared part (None: nothing to share — no candles, or not the built-in
    signals, which alone have a timeline)."""
    from quantum_trader.backtest.runner import timeline_depends, timeline_of
    from quantum_trader.feeds.loader import load_candles
    from quantum_trader.settings import settings_from
    from quantum_trader.signals.plugins import load_models

    settings = settings_from(base)
    series = _candles(files, window, load_candles)
    if settings.signals.source != "builtin" or not series:
        return None
    models = load_models(settings.signals.models)
    depends = timeline_depends(settings, models)
    return SharedWindow(depends, series, timeline_of(series, depends, models))


def run_trial(spec: TrialSpec, shared: list[Any] | None = None) -> dict[str, Any]:
    """The row of one trial: its parameters, window, status and metrics (NaN when failed).
    ``shared``: ``[the window's SharedWindow]`` (or a Ray reference to it; in a list, so that Ray
    hands it over unresolved and a worker fetches it once per window, not per trial)."""
    started = time.perf_counter()
    row: dict[str, Any] = {"trial": spec.trial, "window": spec.window.index,
                           "role": spec.window.role, "start_ms": spec.window.start_ms,
                           "end_ms": spec.window.end_ms, **spec.params}  # fmt: skip
    try:
        metrics = _backtest(spec, shared[0] if shared else None)
    except Exception as exc:  # noqa: BLE001 - a failed trial is a result, reported
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        row |= {m: float("nan") for m in METRICS}
        row |= {"status": "failed", "error": f"{type(exc).__name__}: {exc} ({where})"}
    else:
        row |= {m: float(metrics[m]) if metrics[m] is not None else float("nan") for m in METRICS}
        row |= {"status": "ok", "error": ""}
    row["seconds"] = round(time.perf_counter() - started, 3)
    return row


def run_batch(specs: list[TrialSpec], shared: list[Any | None]) -> list[dict[str, Any]]:
    """The rows of several trials, one after another in this worker (one Ray task: Ray's own cost,
    ~7 ms a task, is paid once for them). ``shared[i]``: trial i's window's shared part (a Ray
    reference or None), handed over unresolved like :func:`run_trial`'s."""
    pairs = zip(specs, shared, strict=True)
    return [run_trial(s, [ref] if ref is not None else None) for s, ref in pairs]


#: what a trial imports (a test holds a trial to importing none of the package's modules after)
TRIAL_MODULES = ("quantum_trader.backtest.runner", "quantum_trader.feeds.loader",
                 "quantum_trader.feeds.cache", "quantum_trader.settings",
                 "quantum_trader.sizing.rl_sizer")  # fmt: skip


def warm_worker() -> int:
    """A worker's start: import what a trial runs and quiet the logging, once (~0.3 s, which
    otherwise the worker's first trial pays). Returns the worker's process id."""
    for name in TRIAL_MODULES:
        importlib.import_module(name)
    _quiet()
    return os.getpid()


_QUIET = False  # this process's logging is set up for trials


def _quiet() -> None:
    from loguru import logger

    global _QUIET  # noqa: PLW0603 - once per worker process (an add costs ~5 ms: a trial's 1/5)
    if not _QUIET:
        logger.remove()  # a worker's many decisions: errors only
        logger.add(lambda m: None, level="ERROR")
        _QUIET = True


def _backtest(spec: TrialSpec, shared: Any = None) -> dict[str, Any]:
    from quantum_trader.backtest.runner import on_stdlib_loop, run_backtest
    from quantum_trader.feeds.loader import load_candles, load_funding, symbol_from_name
    from quantum_trader.settings import settings_from

    _quiet()
    data = with_overrides(spec.base, spec.params)
    if "rl.seed" not in spec.params:  # the sweep's seed seeds the sizer too
        data["rl"] = {**data["rl"], "seed": spec.seed}
    settings = settings_from(data)
    series, timelines = _window(spec, load_candles, shared)
    if not series:
        raise ValueError(f"no candles in the window {spec.window.start_ms}–{spec.window.end_ms}")
    funding = {symbol_from_name(Path(p)): load_funding(p) for p in spec.funding}
    with tempfile.TemporaryDirectory(prefix="qtrader-sweep-") as rl_dir:
        run = on_stdlib_loop(
            run_backtest(settings, series, funding, Path(rl_dir), timelines=timelines)
        )
    m = run.metrics
    return {name: getattr(m, name) for name in METRICS}


#: per worker process, kept across its trials, a few windows at most: each window's candles (by
#: file, size, modification time and window) and the timelines computed on them (the candles and
#: the calibration settings decide a timeline; a sweep's other keys do not)
_WINDOWS: dict[tuple[object, ...], tuple[list[Any], dict[tuple[object, ...], Any]]] = {}
KEEP_WINDOWS = 8


def _window(
    spec: TrialSpec, load: Any, shared: Any = None
) -> tuple[list[Any], dict[tuple[object, ...], Any]]:
    stats = tuple((p, (st := Path(p).stat()).st_size, st.st_mtime_ns) for p in spec.files)
    key = (stats, spec.window.start_ms, spec.window.end_ms)
    cached = _WINDOWS.get(key)
    if cached is not None:
        return cached
    if len(_WINDOWS) >= KEEP_WINDOWS:
        _WINDOWS.clear()
    if shared is not None and not isinstance(shared, SharedWindow):
        import ray

        shared = ray.get(shared)
    if shared is None:
        _WINDOWS[key] = (_candles(spec.files, spec.window, load), {})
    else:  # the driver's: a trial whose timeline settings differ computes its own beside it
        series = list(shared.series)
        _WINDOWS[key] = (series, {(tuple(id(s) for s in series), *shared.depends): shared.timeline})
    return _WINDOWS[key]


def _candles(files: tuple[str, ...], window: Window, load: Any) -> list[Any]:
    """The window's candles of each file that has some."""
    series = []
    for path in files:
        s = load(path).between(window.start_ms, window.end_ms)
        if len(s):
            series.append(s)
    return series
