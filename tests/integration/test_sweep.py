"""Issue 14: ``qtrader sweep`` on a local Ray — a grid over two config keys with walk-forward
windows, a failed trial reported (not fatal), the table, the best settings as TOML and the plot;
trials deterministic by seed (random and optuna) and equal to the same backtests run here."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from quantum_trader.cli import main
from quantum_trader.settings import load_settings
from quantum_trader.sweep.runner import Plan, RayPool, in_process, run_sweep
from quantum_trader.sweep.space import parse_param, slices
from quantum_trader.sweep.trial import TrialSpec

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
XRP = DATA / "XRPUSDT-PERP-5m-2021-11.csv"
pytestmark = pytest.mark.skipif(not XRP.exists(), reason="../shared/data is not beside")
ray = pytest.importorskip("ray")
TRADED = {"signals": {"force_confidence": 0.95}, "edge": {"mode": "off"}}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_a_grid_with_walk_forward_and_a_failed_trial(tmp_path: Path, local_ray: None) -> None:
    out = tmp_path / "sweep"
    code = main([
        "sweep", "--data", str(XRP), "--param", "levels.base_tp=0.01,0.02",
        "--param", "levels.base_sl=0.006,-1", "--param", "signals.force_confidence=0.95",
        "--walk-forward", "1", "--workers", "2", "--metric", "total_return", "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    rows = _rows(out / "results.csv")
    assert len(rows) == 4 * 2  # 4 trials × 2 windows
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 4 and all("levels.base_sl" in r["error"] for r in failed)
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(int(float(r["trades"])) > 0 for r in ok)
    assert {r["window"] for r in rows} == {"0", "1"}
    import pyarrow.parquet as pq

    assert pq.read_table(out / "results.parquet").num_rows == 8
    best = load_settings(out / "best.toml")
    scores = {}
    for r in ok:
        scores.setdefault(r["levels.base_tp"], []).append(float(r["total_return"]))
    winner = max(scores, key=lambda tp: sum(scores[tp]) / len(scores[tp]))
    assert best.levels.base_tp == float(winner) and best.levels.base_sl == 0.006
    folds = _rows(out / "walk_forward.csv")
    assert len(folds) == 1 and folds[0]["levels.base_sl"] == "0.006"
    assert (out / "sweep.html").stat().st_size > 100_000  # plotly inlined


def _plan(search: str, seed: int, trials: int = 3) -> Plan:
    params = [parse_param("levels.base_tp=0.008:0.03"), parse_param("exits.trailing=true,false")]
    windows = slices(1_636_934_400_000, 1_637_533_800_000, 1)
    return Plan(params, search, trials, seed, "sharpe", windows)


def _cold(specs: list[TrialSpec]) -> list[dict[str, object]]:
    """Each trial from a cold start: no window or timeline kept from the one before."""
    from quantum_trader.sweep import trial

    rows = []
    for s in specs:
        trial._WINDOWS.clear()
        rows.append(trial.run_trial(s))
    return rows


def _same(a: list[dict[str, object]], b: list[dict[str, object]]) -> None:
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in a]
    other = [{k: v for k, v in r.items() if k != "seconds"} for r in b]
    assert strip == other


@pytest.mark.parametrize("search", ["random", "optuna"])
def test_trials_are_deterministic_by_seed_on_ray_and_here(search: str, local_ray: None) -> None:
    from quantum_trader.settings import Settings

    base = Settings(**TRADED).model_dump()  # type: ignore[arg-type]
    pool = RayPool(None, 2)
    on_ray = run_sweep(_plan(search, 7), base, (str(XRP),), (), pool)
    again = run_sweep(_plan(search, 7), base, (str(XRP),), (), pool)
    here = run_sweep(_plan(search, 7), base, (str(XRP),), (), in_process)
    other = run_sweep(_plan(search, 8), base, (str(XRP),), (), pool)
    pool.close()  # the fixture's Ray stays up: the pool did not start it
    assert all(r["status"] == "ok" for r in on_ray) and len(on_ray) == 3
    _same(on_ray, again)
    _same(on_ray, here)
    assert [r["levels.base_tp"] for r in other] != [r["levels.base_tp"] for r in on_ray]
    assert not any(math.isnan(float(r["sharpe"])) for r in on_ray)  # type: ignore[arg-type]


def test_a_worker_shares_candles_and_timelines_across_trials_and_changes_no_row() -> None:
    """Trials in one process reuse the window's candles and its timeline (the swept keys do not
    enter it); the rows equal the same trials each run from a cold start."""
    from quantum_trader.settings import Settings
    from quantum_trader.sweep import trial

    base = Settings(**TRADED).model_dump()  # type: ignore[arg-type]
    trial._WINDOWS.clear()
    warm = run_sweep(_plan("random", 3), base, (str(XRP),), (), in_process)
    assert len(trial._WINDOWS) == 1  # the window, loaded once for its three trials
    assert [len(t) for _, t in trial._WINDOWS.values()] == [1]  # one timeline for all three

    _same(warm, run_sweep(_plan("random", 3), base, (str(XRP),), (), _cold))
    assert all(r["status"] == "ok" for r in warm) and len(warm) == 3


def test_a_swept_calibration_key_gets_a_timeline_of_its_own() -> None:
    from quantum_trader.settings import Settings
    from quantum_trader.sweep import trial

    base = Settings(**TRADED).model_dump()  # type: ignore[arg-type]
    trial._WINDOWS.clear()
    plan = Plan([parse_param("calibration.window=200,500")], "grid", 2, 0, "sharpe",
                slices(1_636_934_400_000, 1_637_533_800_000, 1))  # fmt: skip
    rows = run_sweep(plan, base, (str(XRP),), (), in_process)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert [len(t) for _, t in trial._WINDOWS.values()] == [2]


def test_the_drivers_shared_window_is_the_workers_timeline_and_changes_no_row() -> None:
    """The driver computes each window's candles and timeline once and hands them to every worker
    (Ray's object store): a trial takes that timeline, one whose timeline settings differ
    computes its own beside it; the rows equal trials run from a cold start."""
    from quantum_trader.settings import Settings
    from quantum_trader.sweep import trial

    base = Settings(**TRADED).model_dump()  # type: ignore[arg-type]
    window = base["calibration"]["window"]  # the base's, shared; 200 computed by the trials
    params = [
        parse_param(f"calibration.window={window},200"),
        parse_param("levels.base_tp=0.01,0.02"),
    ]
    plan = Plan(params, "grid", 4, 0, "sharpe", slices(1_636_934_400_000, 1_637_533_800_000, 1))
    shared = trial.share(plan.windows[0], base, (str(XRP),))
    assert shared is not None

    def with_shared(specs: list[trial.TrialSpec]) -> list[dict[str, object]]:
        return [trial.run_trial(s, [shared]) for s in specs]

    trial._WINDOWS.clear()
    rows = run_sweep(plan, base, (str(XRP),), (), with_shared)
    ((series, timelines),) = trial._WINDOWS.values()
    assert series == shared.series and shared.timeline in timelines.values()
    assert len(timelines) == 2  # the base's (shared) and window 200's (computed)
    _same(rows, run_sweep(plan, base, (str(XRP),), (), _cold))
    assert [r["status"] for r in rows] == ["ok"] * 4


def test_a_pool_shares_each_window_once(local_ray: None) -> None:
    from quantum_trader.settings import Settings

    base = Settings(**TRADED).model_dump()  # type: ignore[arg-type]
    pool = RayPool(None, 2)
    rows = run_sweep(_plan("random", 5), base, (str(XRP),), (), pool)
    pool.close()
    assert len(pool._shared) == 1 and None not in pool._shared.values()
    _same(rows, run_sweep(_plan("random", 5), base, (str(XRP),), (), in_process))


def test_a_pool_sends_trials_in_batches_and_changes_no_row(local_ray: None) -> None:
    """Many trials go several to a Ray task (Ray's cost a task paid once a batch); the rows, in
    trial order, equal the same trials run here one by one."""
    from quantum_trader.settings import Settings

    base = Settings(**TRADED).model_dump()  # type: ignore[arg-type]
    pool = RayPool(None, 2)
    rows = run_sweep(_plan("random", 3, trials=24), base, (str(XRP),), (), pool)
    pool.close()
    assert pool.batches[:3] == [3, 2, 2] and sum(pool.batches) == 24  # 24 // 8, 21 // 8, …
    assert all(r["status"] == "ok" for r in rows)
    _same(rows, run_sweep(_plan("random", 3, trials=24), base, (str(XRP),), (), in_process))


WARMED_TRIAL = """
import sys
from quantum_trader.settings import Settings
from quantum_trader.sweep.space import slices
from quantum_trader.sweep.trial import TrialSpec, run_trial, warm_worker
warm_worker()
before = set(sys.modules)
base = Settings(signals={"force_confidence": 0.95}, edge={"mode": "off"}).model_dump()
window = slices(1_636_934_400_000, 1_637_533_800_000, 1)[0]
row = run_trial(TrialSpec(0, {}, window, base, (sys.argv[1],)))
assert row["status"] == "ok" and row["trades"] > 0, row
print(sorted(m for m in set(sys.modules) - before if m.startswith("quantum_trader")))
"""


def test_a_loaded_worker_imports_nothing_of_the_package_in_its_first_trial() -> None:
    """The pool loads every worker as it starts (``warm_worker``): a trial then runs on what is
    imported, so a worker's first trial costs what the others do."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", WARMED_TRIAL, str(XRP)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def _dies_in_trial_1(specs: list[TrialSpec], shared: list[object]) -> list[dict[str, object]]:
    """A batch whose trial 1 takes its worker process down with it (a crash, an OOM kill)."""
    import os

    from quantum_trader.sweep.trial import run_batch

    if any(s.trial == 1 for s in specs):
        os._exit(1)
    return run_batch(specs, shared)  # type: ignore[arg-type]


def test_a_worker_that_dies_fails_its_batch_and_not_the_sweep(local_ray: None) -> None:
    from quantum_trader.settings import Settings

    base = Settings(**TRADED).model_dump()  # type: ignore[arg-type]
    pool = RayPool(None, 2)
    pool.task = ray.remote(num_cpus=1, max_retries=0)(_dies_in_trial_1)
    rows = run_sweep(_plan("random", 3, trials=16), base, (str(XRP),), (), pool)
    pool.close()
    assert pool.batches[:2] == [2, 1]  # 16 // 8, then 14 // 8: trials 0–1 are one task
    dead = (0, 1)
    for r in rows:
        if r["trial"] in dead:
            assert r["status"] == "failed" and "Error" in str(r["error"])
        else:
            assert r["status"] == "ok", r["error"]


async def _loop_class() -> str:
    import asyncio

    return type(asyncio.get_running_loop()).__name__


def _loops_in_a_worker() -> tuple[str, str]:
    import asyncio

    from quantum_trader.backtest.runner import on_stdlib_loop

    return asyncio.run(_loop_class()), on_stdlib_loop(_loop_class())


def test_a_trial_runs_on_the_standard_loop_where_ray_installs_uvloop(local_ray: None) -> None:
    """Ray's workers set uvloop's policy; its libuv polls an io_uring from a kernel thread per
    loop, which took the other worker's core. A trial's loop is the standard library's."""
    by_default, trials = ray.get(ray.remote(_loops_in_a_worker).remote())
    assert by_default == "Loop"  # uvloop.Loop: what asyncio.run gives in a Ray worker
    assert trials == "_UnixSelectorEventLoop"
