"""The RL experience log: one JSON line per closed trade, appended as it happens, so the replay
buffer survives a crash between updates. Malformed lines are skipped and counted on load."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from loguru import logger

from quantum_trader.sizing.state import Experience

log = logger.bind(component="rl")


class ExperienceLog:
    def __init__(self, path: Path, keep: int = 1_000) -> None:
        self.path, self.keep = path, keep
        self.lines = 0
        self.skipped = 0

    def append(self, e: Experience) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(_row(e))
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        self.lines += 1
        if self.lines > 5 * self.keep:
            self._compact()

    def load(self) -> list[Experience]:
        if not self.path.exists():
            return []
        out: list[Experience] = []
        with self.path.open(encoding="utf-8", errors="replace") as handle:
            for n, line in enumerate(handle, 1):
                try:
                    d = json.loads(line)
                    e = Experience(
                        tuple(float(x) for x in d["s"]),
                        float(d["a"]),
                        float(d["r"]),
                        float(d["lp"]),
                        float(d.get("sg", 0.0)),  # older lines: actions at the mean
                    )
                    values = (*e.state, e.action, e.reward, e.logp)
                    if len(e.state) != 6 or not all(math.isfinite(v) for v in values):
                        raise ValueError("wrong size or non-finite")
                    out.append(e)
                except (ValueError, KeyError, TypeError) as exc:
                    self.skipped += 1
                    if self.skipped <= 5:
                        log.warning("{} line {} skipped: {}", self.path.name, n, exc)
        self.lines = len(out)
        return out[-self.keep :]

    def _compact(self) -> None:
        recent = self.load()
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            for e in recent:
                handle.write(json.dumps(_row(e)) + "\n")
        os.replace(tmp, self.path)
        self.lines = len(recent)


def _row(e: Experience) -> dict[str, object]:
    return {"s": list(e.state), "a": e.action, "r": e.reward, "lp": e.logp, "sg": e.sigma}
