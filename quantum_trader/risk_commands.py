"""Operator commands on the journal: ``qtrader risk status | reset`` (the hard max-drawdown halt,
read or lifted) and ``qtrader paper reset`` (a paper account starting over on a new market).

The halt is journaled when it trips and holds across restarts; ``risk reset`` writes a
``risk_reset`` row to the mode's journal, which the daemon reads at its next start (stop it, reset,
start it). ``paper reset`` sets the paper journal aside (``*.reset-<time>``), never deletes it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from quantum_trader.execution.risk_service import BUDGET_LIFTED, RISK_RESET, RISK_TRIPPED
from quantum_trader.runtime.paths import state_dir
from quantum_trader.settings import Settings
from quantum_trader.store.journal import Journal


def add_risk_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser("risk", help="risk limits: the trips so far, and lifting the hard halt")
    common(p)
    risk = p.add_subparsers(dest="risk_command", required=True)
    for name, text in (
        ("status", "the journal's risk trips and whether the max-drawdown halt holds"),
        ("reset", "lift the max-drawdown halt (read by the daemon at its next start)"),
    ):
        q = risk.add_parser(name, help=text)
        q.add_argument("--mode", choices=["paper", "testnet", "live"], default="paper")


def add_paper_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser("paper", help="the paper account: start it over")
    common(p)
    paper = p.add_subparsers(dest="paper_command", required=True)
    paper.add_parser("reset", help="set the paper journal aside: a fresh account on any market")


def cmd_paper(args: argparse.Namespace, settings: Settings) -> int:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    moved = []
    for path in sorted(state_dir().glob("journal-paper.sqlite3*")):
        aside = path.with_name(f"{path.name}.reset-{stamp}")
        path.rename(aside)
        moved.append(aside.name)
    print(f"paper account reset: {', '.join(moved)} set aside" if moved else "no paper journal")
    return 0


def cmd_risk(args: argparse.Namespace, settings: Settings) -> int:
    path = state_dir() / f"journal-{args.mode}.sqlite3"
    if not path.exists():
        print(f"qtrader risk: no journal for {args.mode} at {path}")
        return 1
    journal = Journal(path)
    try:
        halt, budget = None, None
        for kind, detail in journal.events():
            if kind == RISK_TRIPPED:
                trip = json.loads(detail)
                print(f"tripped {trip['kind']:<16} at {trip['ts']}: {trip['reason']}")
                if trip["kind"] == "max_drawdown":
                    halt = trip["reason"]
                elif trip["kind"] == "loss_budget":
                    budget = trip["reason"]
            elif kind == BUDGET_LIFTED:
                print(f"loss budget lifted at {json.loads(detail)['ts']}: entries fit again")
                budget = None
            elif kind == RISK_RESET:
                print(f"reset: {json.loads(detail)['reason']}")
                halt = None
        if args.risk_command == "reset":
            if halt is None:
                print("no max-drawdown halt to lift")
                return 0
            journal.event(RISK_RESET, json.dumps({"reason": f"operator reset of: {halt}"}))
            print("halt lifted: the daemon trades again from its next start")
            return 0
        print(f"halted: {halt}" if halt else "not halted")
        if budget:  # lifts itself: once an entry fits the budget again (see README, Safety)
            print(f"loss budget blocking entries since: {budget}")
        return 0
    finally:
        journal.close()
