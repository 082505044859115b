"""Runs a sweep's trials on Ray — a local Ray started on demand, or the cluster at ``address`` —
as many tasks at once as there are workers, each task a batch of trials, and collects their rows
in trial order (so the table depends neither on which finished first nor on the batches).
Optuna's study asks for one batch of trials per round and is told their results in trial order
before the next: the seed names the same study."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from loguru import logger

from quantum_trader.core.errors import InvalidInput
from quantum_trader.sweep.space import Param, Value, Window, grid, random_trials
from quantum_trader.sweep.trial import TrialSpec, run_batch, run_trial, share, warm_worker

log = logger.bind(component="sweep")


@dataclass(frozen=True, slots=True)
class Plan:
    params: list[Param]
    search: str  # grid / random / optuna
    trials: int  # random and optuna: how many
    seed: int
    metric: str
    windows: list[Window]  # each trial runs on every one


class RayPool:
    """Ray tasks, at most ``workers`` in flight, each a batch of trials (:func:`batch_size`); a
    task that dies fails its batch's rows. The workers are loaded as the pool starts."""

    def __init__(self, address: str | None, workers: int) -> None:
        try:
            import ray
        except ImportError:
            raise InvalidInput(
                "sweep", "needs Ray and optuna: pip install 'quantum_trader[sweep]'"
            ) from None

        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        self.workers = workers
        self.task = ray.remote(num_cpus=1)(run_batch)
        self._shared: dict[tuple[object, ...], Any] = {}  # per window: a reference, or None
        self.batches: list[int] = []  # the trials of each task sent, in order
        # `workers` one-CPU tasks at once take `workers` processes: each imports the backtester
        # now (~0.3 s), while the driver computes the windows, not in its first trial
        load = ray.remote(num_cpus=1)(warm_worker)
        self._loading = [load.remote() for _ in range(workers)]

    def ready(self) -> None:
        """Wait until the workers are loaded. A load that failed is logged; the trials, which
        import the same, then fail with the reason in their rows."""
        loading, self._loading = self._loading, []
        if loading:
            try:
                self.ray.get(loading)
            except Exception as exc:  # noqa: BLE001 - the trials report it, row by row
                log.warning("a sweep worker did not load ({}: {})", type(exc).__name__, exc)

    def map(self, specs: list[TrialSpec]) -> list[dict[str, Any]]:
        self.ready()
        ray = self.ray
        pending: dict[Any, list[int]] = {}
        rows: dict[int, dict[str, Any]] = {}
        left = deque(range(len(specs)))
        for _ in range(self.workers):
            self._submit(specs, left, pending)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            batch = pending.pop(done[0])
            try:
                rows.update(zip(batch, ray.get(done[0]), strict=True))
            except Exception as exc:  # noqa: BLE001 - a dead worker fails its batch only
                error = f"{type(exc).__name__}: {exc}"
                rows.update((i, _failed(specs[i], error)) for i in batch)
            self._submit(specs, left, pending)
        return [rows[i] for i in range(len(specs))]

    def _submit(
        self, specs: list[TrialSpec], left: deque[int], pending: dict[Any, list[int]]
    ) -> None:
        batch = [left.popleft() for _ in range(batch_size(len(left), self.workers))]
        if batch:
            chosen = [specs[i] for i in batch]  # one pickle: their base settings sent once
            pending[self.task.remote(chosen, [self._share(s) for s in chosen])] = batch
            self.batches.append(len(batch))

    def _share(self, spec: TrialSpec) -> Any:
        """The window's candles and timeline, computed here once (or offered, computed while
        Ray started) and put in Ray's object store for every worker."""
        key = _shared_key(spec.window, spec.files)
        if key not in self._shared:
            value = shared_or_none(spec.window, spec.base, spec.files)
            self.offer(spec.window, spec.files, value)
        return self._shared[key]

    def offer(self, window: Window, files: tuple[str, ...], value: Any) -> None:
        """The window's shared part (None: each trial loads its own)."""
        self._shared[_shared_key(window, files)] = None if value is None else self.ray.put(value)

    def __call__(self, specs: list[TrialSpec]) -> list[dict[str, Any]]:
        return self.map(specs)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


#: the most trials one task carries: a dead worker fails at most these
MOST_IN_A_BATCH = 8


def batch_size(left: int, workers: int, most: int = MOST_IN_A_BATCH) -> int:
    """How many of the ``left`` trials the next task takes: a quarter of a worker's share of
    them, from 1 to ``most`` — large batches while many are left (Ray's ~7 ms a task, a third of
    a benchmark-year trial, paid once a batch), single trials at the end (no worker waits long
    on another's last batch). 0 when none are left."""
    if left <= 0:
        return 0
    return max(1, min(most, left // (4 * max(1, workers))))


def _shared_key(window: Window, files: tuple[str, ...]) -> tuple[object, ...]:
    """Not the settings: a trial takes the shared timeline only if its own timeline settings
    match it (``run_backtest``'s key), so the window and files name what is shared."""
    return (window, files)


def shared_or_none(window: Window, base: dict[str, Any], files: tuple[str, ...]) -> Any:
    """:func:`trial.share`, or None if it cannot be (each trial then loads its own, and fails
    alone if the data is bad)."""
    try:
        return share(window, base, files)
    except Exception as exc:  # noqa: BLE001 - the trials report what is wrong
        log.warning("window {} not shared ({}); each trial loads it", window, exc)
        return None


def _failed(spec: TrialSpec, error: str) -> dict[str, Any]:
    from quantum_trader.sweep.trial import METRICS

    return {"trial": spec.trial, "window": spec.window.index, "role": spec.window.role,
            "start_ms": spec.window.start_ms, "end_ms": spec.window.end_ms, **spec.params,
            **{m: float("nan") for m in METRICS}, "status": "failed", "error": error,
            "seconds": 0.0}  # fmt: skip


def run_sweep(
    plan: Plan, base: dict[str, Any], files: tuple[str, ...], funding: tuple[str, ...],
    run: Callable[[list[TrialSpec]], list[dict[str, Any]]],
) -> list[dict[str, Any]]:  # fmt: skip
    """Every trial on every window, through ``run`` (a pool's map); the rows in trial order."""

    def specs(first: int, params: list[dict[str, Value]]) -> list[TrialSpec]:
        return [TrialSpec(first + t, p, w, base, files, funding, plan.seed)
                for t, p in enumerate(params) for w in plan.windows]  # fmt: skip

    if plan.search == "grid":
        return run(specs(0, grid(plan.params)))
    if plan.search == "random":
        return run(specs(0, random_trials(plan.params, plan.trials, plan.seed)))
    if plan.search == "optuna":
        return _optuna(plan, specs, run)
    raise InvalidInput("--search", f"expected grid/random/optuna, got {plan.search!r}")


def _optuna(
    plan: Plan,
    specs: Callable[[int, list[dict[str, Value]]], list[TrialSpec]],
    run: Callable[[list[TrialSpec]], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=plan.seed)
    study = optuna.create_study(direction=direction(plan.metric), sampler=sampler)
    batch = max(1, getattr(run, "workers", 1))
    rows: list[dict[str, Any]] = []
    while len(rows) < plan.trials * len(plan.windows):
        n = min(batch, plan.trials - len(rows) // len(plan.windows))
        asked = [study.ask() for _ in range(n)]
        params = [{p.key: _suggest(t, p) for p in plan.params} for t in asked]
        got = run(specs(len(rows) // len(plan.windows), params))
        for t, trial in enumerate(asked):
            mine = got[t * len(plan.windows) : (t + 1) * len(plan.windows)]
            score = objective(mine, plan.metric)
            if math.isnan(score):
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, score)
        rows += got
    return rows


def _suggest(trial: Any, p: Param) -> Value:
    if not p.is_range:
        value: Value = trial.suggest_categorical(p.key, list(p.choices))
        return value
    if p.integer:
        return int(trial.suggest_int(p.key, int(p.low or 0), int(p.high or 0)))
    return float(trial.suggest_float(p.key, float(p.low or 0.0), float(p.high or 0.0)))


LOWER_IS_BETTER = frozenset({"max_drawdown", "fees", "liquidations"})


def direction(metric: str) -> Literal["minimize", "maximize"]:
    return "minimize" if metric in LOWER_IS_BETTER else "maximize"


def objective(rows: list[dict[str, Any]], metric: str) -> float:
    """A trial's score: the mean of the metric over its windows; NaN if any window failed."""
    values = [float(r[metric]) for r in rows]
    if not values or any(
        r["status"] != "ok" or math.isnan(v) for r, v in zip(rows, values, strict=True)
    ):
        return float("nan")
    return sum(values) / len(values)


def in_process(specs: list[TrialSpec]) -> list[dict[str, Any]]:
    """Every trial here, one after another (the one-worker reference; tests)."""
    return [run_trial(s) for s in specs]
