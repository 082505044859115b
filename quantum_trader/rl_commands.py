"""``qtrader rl status | reset | train``: look at, set aside, or train the sizer's checkpoint."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quantum_trader.runtime.paths import state_dir
from quantum_trader.settings import Settings
from quantum_trader.sizing.state import CHECKPOINT, EXPERIENCES

if TYPE_CHECKING:
    from quantum_trader.sizing.rl_sizer import RLSizer


def add_rl_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    p = sub.add_parser("rl", help="the RL position sizer: status, reset, train")
    common(p)
    rl = p.add_subparsers(dest="rl_command", required=True)
    status = rl.add_parser("status", help="the checkpoint's version, counters and health")
    status.add_argument("--json", action="store_true")
    rl.add_parser("reset", help="set the checkpoint and experiences aside: a fresh policy")
    train = rl.add_parser("train", help="train on the synthetic sizing market")
    train.add_argument("--episodes", type=int, default=300, help="episodes of 100 trades")
    train.add_argument("--seed", type=int, default=0)


def _sizer(settings: Settings, where: Path) -> RLSizer:
    from quantum_trader.sizing.rl_sizer import RLConfig, RLSizer  # torch: only when needed

    rl = settings.rl
    return RLSizer(
        where,
        RLConfig(
            rl.retrain_every,
            rl.buffer,
            rl.learning_rate,
            rl.exploration_sigma,
            rl.epochs,
            seed=rl.seed,
        ),
    )


def cmd_rl(args: argparse.Namespace, settings: Settings) -> int:
    where = state_dir()
    if args.rl_command == "reset":
        moved = []
        stamp = int(time.time())
        for name in (CHECKPOINT, EXPERIENCES):
            path = where / name
            if path.exists():
                aside = path.with_name(f"{name}.reset-{stamp}")
                path.rename(aside)
                moved.append(f"{path.name} → {aside.name}")
        print("reset: " + ("; ".join(moved) if moved else "nothing to reset") + f" in {where}")
        return 0
    sizer = _sizer(settings, where)
    if args.rl_command == "status":
        snap: dict[str, Any] = {
            **sizer.snapshot(),
            "checkpoint": str(sizer.path),
            "exists": sizer.path.exists(),
        }
        if args.json:
            print(json.dumps(snap, indent=2))
        else:
            for key, value in snap.items():
                print(f"{key:<18} {value}")
        return 0
    started = time.perf_counter()
    sizer.train_synthetic(args.episodes, args.seed)
    seconds = time.perf_counter() - started
    e = sizer.evaluate()
    print(
        f"trained {args.episodes} episodes ({args.episodes * 100:,} trades) in {seconds:.1f}s "
        f"→ {sizer.counters.version}, saved to {sizer.path}"
    )
    print(
        f"held-out mean reward: policy {e.mean_reward_policy:.5f} | constant 1.0× "
        f"{e.mean_reward_constant:.5f} ({e.improvement:+.1%}) | optimum "
        f"{e.mean_reward_optimum:.5f}"
    )
    print(f"correlation of the multiplier with the known optimum: {e.correlation:.3f}")
    return 0
