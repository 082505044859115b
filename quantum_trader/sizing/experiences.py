"""The RL experience log: one JSON line per closed trade, appended as it happens, so the replay
buffer survives a crash between updates. Malformed lines are skipped and counted on load.

The file stays open for appending (one ``write`` system call a line, as durable as opening and
closing it each time — the line is the kernel's either way — at a tenth of the cost); it is
reopened after a compaction replaces it, and closed when the log is collected."""

from __future__ import annotations

import json
import math
import os
import weakref
from pathlib import Path

from loguru import logger

from quantum_trader.sizing.state import Experience

log = logger.bind(component="rl")


class ExperienceLog:
    def __init__(self, path: Path, keep: int = 1_000) -> None:
        self.path, self.keep = path, keep
        self.lines = 0
        self.skipped = 0
        self._fd: int | None = None
        self._closer: weakref.finalize[..., ExperienceLog] | None = None

    def append(self, e: Experience) -> None:
        line = (json.dumps(_row(e)) + "\n").encode()
        os.write(self._open(), line)
        self.lines += 1
        if self.lines > 5 * self.keep:
            self._compact()

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._closer = weakref.finalize(self, os.close, self._fd)
        return self._fd

    def close(self) -> None:
        if self._closer is not None:
            self._closer()  # closes the file once, here or when collected
        self._fd, self._closer = None, None

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
        self.close()  # the next line goes to the compacted file
        self.lines = len(recent)


def _row(e: Experience) -> dict[str, object]:
    return {"s": list(e.state), "a": e.action, "r": e.reward, "lp": e.logp, "sg": e.sigma}
