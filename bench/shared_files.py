"""The benchmark files: the real candles in ../shared/data and the synthetic year (generated once
by ../shared/bench/synth_year.py into the temp directory)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SYNTH = Path(tempfile.gettempdir()) / "BTCUSDT-1m-synth.csv"
REAL = ("BTCUSDT-1m-2023-03-binanceus.csv", "XRPUSDT-PERP-5m-2021-11.csv")


def bench_files(synth: bool = True) -> list[Path]:
    files = [SHARED / "data" / name for name in REAL]
    if synth:
        if not SYNTH.exists():
            script = str(SHARED / "bench" / "synth_year.py")
            subprocess.run([sys.executable, script, "--out", str(SYNTH)], check=True)  # noqa: S603
        files.append(SYNTH)
    return files
