#!/usr/bin/env python3
"""RL sizer benchmark: one sizing decision's latency (p50/p99) through the sizer (numpy forward
pass), the same network in torch, and — as the baseline measured in the same run — the SPEC
fallback formula; then the duration of one policy update over 1,000 experiences.

    .venv/bin/python bench/rl_bench.py [--decisions 20000] [--updates 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from loguru import logger

from quantum_trader.core.sizing import fallback_multiplier
from quantum_trader.sizing.market import SizingMarket
from quantum_trader.sizing.policy import SizerPolicy
from quantum_trader.sizing.rl_sizer import RLSizer
from quantum_trader.sizing.state import Experience


def latencies(
    call: Callable[[tuple[float, ...]], float], states: list[tuple[float, ...]]
) -> list[float]:
    out = []
    for s in states[:200]:  # warm-up
        call(s)
    for s in states:
        t = time.perf_counter_ns()
        call(s)
        out.append((time.perf_counter_ns() - t) / 1e6)
    return out


def torch_forward(policy: SizerPolicy, state: tuple[float, ...]) -> float:
    with torch.no_grad():
        return float(policy(torch.tensor([state], dtype=torch.float32))[0])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--updates", type=int, default=5)
    args = parser.parse_args()
    logger.remove()
    with tempfile.TemporaryDirectory() as tmp:
        sizer = RLSizer(Path(tmp))
        market = SizingMarket(7)
        states = [tuple(float(x) for x in row) for row in market.states(args.decisions)]
        torch_policy = SizerPolicy(0)
        cases = {
            "fallback formula (baseline)": lambda s: fallback_multiplier(s[0], s[2], s[1], s[3]),
            "RLSizer.multiplier (numpy forward)": sizer.multiplier,
            "torch forward (training network)": lambda s: torch_forward(torch_policy, s),
        }
        base_p99 = 0.0
        print(f"one sizing decision, {args.decisions:,} calls each (ms):")
        for name, call in cases.items():
            lat = latencies(call, states)
            p50, p99 = pct(lat, 0.50), pct(lat, 0.99)
            base_p99 = base_p99 or p99
            verdict = ""
            if "RLSizer" in name:
                verdict = "  target p99 ≤ 0.2 ms: " + ("met" if p99 <= 0.2 else "MISSED")
            print(
                f"  {name:<36} p50 {p50:.4f}  p99 {p99:.4f}  "
                f"({p99 / base_p99:,.1f}× baseline p99){verdict}"
            )
        actions = np.clip(np.array([sizer.multiplier(s) for s in states[:1000]]), 0.5, 1.5)
        rewards = market.rewards(market.states(1000), actions)
        batch = [
            Experience(states[i], float(actions[i]), float(rewards[i]), 0.0) for i in range(1000)
        ]
        trainer = sizer.trainer()
        trainer.optimizers()  # built once at the first update (a one-off second), not timed here
        durations = []
        for _ in range(args.updates):
            t = time.perf_counter()
            trainer.train_copy(batch)
            durations.append(time.perf_counter() - t)
        print(
            f"one policy update over 1,000 experiences ({sizer.cfg.epochs} epochs): "
            f"median {statistics.median(durations) * 1000:.1f} ms, "
            f"max {max(durations) * 1000:.1f} ms over {args.updates} runs"
        )


if __name__ == "__main__":
    main()
