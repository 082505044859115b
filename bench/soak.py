"""The chaos soak, at length: prints its figures (nothing is asserted; violations are listed and
make the exit code 1).

    .venv/bin/python bench/soak.py --scale 1 --outage 180   # real time, a 3-minute outage
    .venv/bin/python bench/soak.py                          # ≥ 10 simulated hours at 20×

Phases are in real seconds; ``--scale`` runs market time that many times faster (the default
plan: 31 real minutes at 20× = 10.3 simulated hours, its outage 90 s = 30 simulated minutes).
Requests per minute are per real minute: the streams-vs-polling ratio is like for like, but the
candle-driven part of the count grows with the scale, so the absolute rate is measured at 1×.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from quantum_trader.testing.soak import SoakPlan, run_soak


def _s(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steady", type=float, default=600.0)
    ap.add_argument("--faults", type=float, default=480.0)
    ap.add_argument("--outage", type=float, default=90.0)
    ap.add_argument("--recovery", type=float, default=450.0)
    ap.add_argument("--polling", type=float, default=180.0)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--scale", type=float, default=20.0, help="market time per real time")
    ap.add_argument("--json", type=Path, help="also write the report here")
    args = ap.parse_args()
    plan = SoakPlan(
        args.steady,
        args.faults,
        args.outage,
        args.recovery,
        args.polling,
        args.window,
        time_scale=args.scale,
    )
    workdir = Path(tempfile.mkdtemp(prefix="qt-soak-"))
    report = run_soak(plan, workdir)
    s, p = report["streams"], report["polling"]
    print("\n=== chaos soak ===")
    print(
        f"{report['simulated_hours']} simulated hours in {report['real_minutes']} real minutes "
        f"(market time ×{plan.time_scale:g}; the daemon's own candle clock ran at "
        f"×{report['daemon_market_rate']})"
    )
    outage_min = plan.outage_s * plan.time_scale / 60
    print(
        f"outage of {plan.outage_s:.0f} real s ({outage_min:.0f} simulated min) survived: "
        f"{report['outage_survived']}"
    )
    print(
        f"REST requests/min with {s['positions_avg']} / {p['positions_avg']} positions open: "
        f"streams {s['requests_per_min']} vs polling {p['requests_per_min']}"
    )
    print(f"/health p99 ms by phase: {report['health_p99_ms']}")
    print(f"/health unanswered (2 s timeout) by phase: {report['health_unanswered'] or 'none'}")
    for name, r in (("streams", s), ("polling", p)):
        print(
            f"{name}: price through TP1 → stop at breakeven {_s(r['tp1_to_breakeven_s'])} s; "
            f"through the stop → close booked {_s(r['stop_to_booked_s'])} s"
        )
    print(f"revoked key: exit {report['revoked']['exit_code']} in {report['revoked']['seconds']} s")
    print(f"checks {report['checks']}, most positions {report['max_positions_seen']}")
    gaps = report["longest_gap_s"]
    print(
        f"longest gap (s): a position without a live stop {gaps.get('stop', 0)}, "
        f"the book behind the exchange {gaps.get('book', 0)}"
    )
    print(f"violations: {len(report['violations'])}")
    for v in report["violations"]:
        print(f"  {v}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if report["violations"]:
        print(f"daemon logs kept: {', '.join(report['logs'])}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
