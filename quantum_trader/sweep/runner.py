"""Runs a sweep's trials on Ray — a local Ray started on demand, or the cluster at ``address`` —
as many at once as there are workers, and collects their rows in trial order (so the table does
not depend on which finished first). Optuna's study asks for one batch of trials per round and
is told their results in trial order before the next: the seed names the same study."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from loguru import logger

from quantum_trader.core.errors import InvalidInput
from quantum_trader.sweep.space import Param, Value, Window, grid, random_trials
from quantum_trader.sweep.trial import TrialSpec, run_trial, share

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
    """Ray tasks, at most ``workers`` in flight; a task that dies is a failed row."""

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
        self.task = ray.remote(num_cpus=1)(run_trial)
        self._shared: dict[tuple[object, ...], Any] = {}  # per window: a reference, or None

    def map(self, specs: list[TrialSpec]) -> list[dict[str, Any]]:
        ray = self.ray
        pending: dict[Any, int] = {}
        rows: dict[int, dict[str, Any]] = {}
        queue = iter(enumerate(specs))
        for _ in range(self.workers):
            self._submit(queue, pending)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(done[0])
            try:
                rows[i] = ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - a dead worker fails its trial only
                rows[i] = _failed(specs[i], f"{type(exc).__name__}: {exc}")
            self._submit(queue, pending)
        return [rows[i] for i in range(len(specs))]

    def _submit(self, queue: Iterator[tuple[int, TrialSpec]], pending: dict[Any, int]) -> None:
        nxt = next(queue, None)
        if nxt is not None:
            ref = self._share(nxt[1])
            pending[self.task.remote(nxt[1], [ref] if ref is not None else None)] = nxt[0]

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
