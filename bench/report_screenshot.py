"""The interactive backtest report, seen in a real browser: a backtest of the shared BTC file
(every signal forced, so there are trades to mark), its ``chart.html`` rendered by headless
Chromium to a PNG, and the picture checked for the equity line and the drawdown area.

    .venv/bin/python bench/report_screenshot.py [--out DIR]

Needs Debian's chromium (``apt-get install chromium``). Prints the PNG's path and what it found;
exits 1 when the chart did not render.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from shared_files import SHARED

from quantum_trader.testing.browser import DRAWDOWN_RED, EQUITY_BLUE, colour_pixels, screenshot


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="backtest-out/screenshot")
    args = ap.parse_args()
    out = Path(args.out)
    data = SHARED / "data" / "BTCUSDT-1m-2023-03-binanceus.csv"
    env = {**os.environ, "QT_EDGE__MODE": "off"}
    subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "quantum_trader", "backtest", "--data", str(data),
         "--force-confidence", "0.95", "--out", str(out)],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    png = screenshot(out / "chart.html", out / "chart.png")
    blue, red = colour_pixels(png, EQUITY_BLUE), colour_pixels(png, DRAWDOWN_RED)
    ok = blue > 500 and red > 500
    print(f"{png}: equity-line pixels {blue:,}, drawdown pixels {red:,}: "
          f"{'the chart rendered' if ok else 'NOT RENDERED'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
