"""Stress drawdowns against the configured limits (issue 10): every signal forced to 0.95 unanimous,
on the shared synthetic year (1m) and on the March 2023 BTC file (the banking-crisis week), with
the edge gate off (it would hold every run to two minimum-size probes: the account's limits are
what is under test here).

For each case the same backtest runs twice in this sitting: with the limits as configured, and
with every account limit lifted (the baseline: what the limits prevented). Printed per case: max
drawdown, the bound it must stay under — ``max_drawdown`` plus one trade's capped risk
(``max_risk_per_trade``) — the risk trips, gap losses (loss beyond a stop's plan) and wall time.
It asserts nothing; it prints, and says plainly when a bound is not met.

    .venv/bin/python bench/risk_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backtest_bench import SHARED, ensure_synth  # noqa: E402

MARCH = SHARED / "data" / "BTCUSDT-1m-2023-03-binanceus.csv"
LIFTED = {
    "QT_RISK__MAX_DRAWDOWN": "1",
    "QT_RISK__DAILY_LOSS_LIMIT": "1",
    "QT_RISK__CIRCUIT_BREAKER_DRAWDOWN": "1",
}


def backtest(data: Path, env: dict[str, str], out: Path) -> tuple[dict[str, object], float]:
    cmd = [
        sys.executable, "-m", "quantum_trader", "backtest", "--data", str(data),
        "--force-confidence", "0.95", "--no-report", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    started = time.perf_counter()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    clean["QT_EDGE__MODE"] = "off"  # the limits are under test: the gate would hold all to probes
    subprocess.run(  # noqa: S603
        cmd, env={**clean, **env}, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    return json.loads((out / "metrics.json").read_text()), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the March file only")
    args = ap.parse_args()
    risk = 0.01  # the shipped max_risk_per_trade
    tight = {"QT_RISK__MAX_DRAWDOWN": "0.05", "QT_RISK__CIRCUIT_BREAKER_DRAWDOWN": "0.03"}
    cases: list[tuple[str, Path, dict[str, str], float]] = [
        ("March 2023 BTC 1m, forced", MARCH, {}, 0.20),
        ("March 2023 BTC 1m, forced, max DD 5 %", MARCH, tight, 0.05),
    ]
    if not args.quick:
        year = ensure_synth()
        big = {"QT_SIZING__BASE_MARGIN_USD": "1000"}
        cases += [
            ("synthetic year 1m, forced", year, {}, 0.20),
            ("synthetic year 1m, forced, margin 1000", year, big, 0.20),
        ]
    print("bound = the case's max_drawdown + one trade's capped risk (max_risk_per_trade 1 %)")
    print(
        f"{'case':<42}{'limits':>8}{'max DD':>9}{'trades':>8}{'trips (cb/daily/hard)':>24}"
        f"{'gap losses':>12}{'wall s':>8}  bound"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, data, extra, limit) in enumerate(cases):
            for label, env in (("on", extra), ("lifted", {**extra, **LIFTED})):
                m, wall = backtest(data, {**env, "QT_STATE_DIR": tmp}, Path(tmp) / f"{k}-{label}")
                trips = m["risk_trips"]
                assert isinstance(trips, dict)
                dd = float(m["max_drawdown"])  # type: ignore[arg-type]
                bound = limit + risk
                verdict = (
                    (
                        f"{bound:.0%} met"
                        if dd <= bound
                        else f"{bound:.0%} NOT MET by {dd - bound:.2%}"
                    )
                    if label == "on"
                    else "(baseline)"
                )
                print(
                    f"{name:<42}{label:>8}{dd:>9.2%}{m['trades']:>8}"
                    f"{trips['circuit_breaker']:>10}/{trips['daily_loss']}/{trips['max_drawdown']:<11}"
                    f"{m['gap_losses']:>12}{wall:>8.1f}  {verdict}"
                )


if __name__ == "__main__":
    main()
