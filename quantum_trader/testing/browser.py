"""A headless Chromium screenshot of a local HTML file (Debian's ``chromium``; no network: the
flags keep it from calling home on this closed machine), and what the picture holds."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
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


def screenshot(
    page: Path, png: Path, width: int = 1400, height: int = 1400, attempts: int = 2
) -> Path:
    """Chromium's helpers can outlive it holding its output open, or it can hang on start-up:
    it runs in its own process group with its output in a file, the group is killed once the
    picture is written or after ``timeout_s``, and a hung start is tried once more."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("no chromium: apt-get install chromium")
    for _ in range(attempts):
        png.unlink(missing_ok=True)
        if _shoot(browser, page, png, width, height, timeout_s=45.0):
            return png
    raise RuntimeError(f"chromium wrote no screenshot of {page} in {attempts} attempts")


def _shoot(browser: str, page: Path, png: Path, width: int, height: int, timeout_s: float) -> bool:
    with (
        tempfile.TemporaryDirectory(prefix="qtrader-chromium-") as profile,
        open(Path(profile) / "chromium.log", "wb") as log,
    ):
        proc = subprocess.Popen(  # noqa: S603 - a fixed browser binary on a local file
            [browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
             f"--window-size={width},{height}", "--virtual-time-budget=15000",
             page.resolve().as_uri()],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pass
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the helpers with it
            proc.wait()
    return png.exists() and png.stat().st_size > 0


def colour_pixels(png: Path, rgb: tuple[int, int, int], tolerance: int = 24) -> int:
    """How many pixels of the screenshot are within ``tolerance`` of the colour."""
    import matplotlib.image as mpimg

    img = (np.asarray(mpimg.imread(png))[..., :3] * 255).astype(np.int64)
    return int((np.abs(img - np.asarray(rgb)).max(axis=-1) <= tolerance).sum())
