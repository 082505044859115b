"""A headless Chromium screenshot of a local HTML file (Debian's ``chromium``; no network: the
flags keep it from calling home on this closed machine), and what the picture holds."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
EQUITY_BLUE = (0x1F, 0x5F, 0xA8)  # the report's equity line
DRAWDOWN_RED = (0xC0, 0x39, 0x2B)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, png: Path, width: int = 1400, height: int = 1400) -> Path:
    browser = chromium()
    if browser is None:
        raise RuntimeError("no chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="qtrader-chromium-") as profile:
        subprocess.run(  # noqa: S603 - a fixed browser binary on a local file
            [browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
             f"--window-size={width},{height}", "--virtual-time-budget=15000",
             page.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    return png


def colour_pixels(png: Path, rgb: tuple[int, int, int], tolerance: int = 24) -> int:
    """How many pixels of the screenshot are within ``tolerance`` of the colour."""
    import matplotlib.image as mpimg

    img = (np.asarray(mpimg.imread(png))[..., :3] * 255).astype(np.int64)
    return int((np.abs(img - np.asarray(rgb)).max(axis=-1) <= tolerance).sum())
