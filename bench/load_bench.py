"""Loading candles: qtrader's loader (checks, sort, duplicates, quarantine included) against the
floor, pyarrow's bare CSV read of the same file, in the same run; medians of 5.

    .venv/bin/python bench/load_bench.py [FILE]      (default: the synthetic year, 525,600 rows)

Nothing is asserted; the figures are printed.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from shared_files import SYNTH, bench_files


def median_s(fn: object, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    import pyarrow.csv as pcsv

    from quantum_trader.feeds.loader import load_candles

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else (bench_files() and SYNTH)
    rows = len(load_candles(path))
    ours = median_s(lambda: load_candles(path))
    floor = median_s(lambda: pcsv.read_csv(path))
    print(f"{path.name}: {rows:,} candles — load_candles {ours:.3f} s, pyarrow read_csv "
          f"{floor:.3f} s: {ours / floor:.2f}× the floor")  # fmt: skip


if __name__ == "__main__":
    main()
