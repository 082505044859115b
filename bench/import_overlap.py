#!/usr/bin/env python3
"""Can torch's import hide beside a running backtest? The simulation is pure Python; this times a
pure-Python busy loop alone, ``import torch`` alone (each in a fresh process), then both at once
in one process (the import on a thread). If the import ran beside the loop, "both done" would be
close to the longer of the two; if it needs the GIL, close to their sum. Asserts nothing.

    .venv/bin/python bench/import_overlap.py [--loops 20000000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

CHILD = """
import sys, threading, time
def busy(n):
    x = 0
    for i in range(n):
        x += i * i % 7
    return x
mode, n = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
if mode == "busy":
    busy(n)
elif mode == "import":
    import torch  # noqa: F401
else:
    th = threading.Thread(target=lambda: __import__("torch"))
    th.start()
    busy(n)
    loop = time.perf_counter() - t
    th.join()
    print(f"{loop:.3f}")
print(f"{time.perf_counter() - t:.3f}")
"""


def run(mode: str, loops: int) -> list[float]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(loops)],  # noqa: S603
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [float(x) for x in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loops", type=int, default=20_000_000)
    args = parser.parse_args()
    (busy,) = run("busy", args.loops)
    (imp,) = run("import", args.loops)
    loop, both = run("both", args.loops)
    print(f"busy loop alone {busy:.2f} s; import torch alone {imp:.2f} s (in-process)")
    print(f"together: the loop {loop:.2f} s, both done {both:.2f} s — the sum would be "
          f"{busy + imp:.2f} s, full overlap {max(busy, imp):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
