"""Issue 11, item 8: the wheel carries its data files. Editable installs hide a missing one, so the
wheel is built, unpacked, and the daemon run from it (not from the source tree) on a fresh state
directory — the first run loads the fresh policy's weights from the package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_daemon_runs_from_the_built_wheel(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path / "dist")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("quantum_trader-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "quantum_trader/sizing/fresh_seed0.npz" in names
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import quantum_trader; "
        "assert quantum_trader.__file__.startswith(sys.argv[1]), quantum_trader.__file__; "
        "from quantum_trader.cli import main; "
        "sys.exit(main(['run', '--paper', '--duration', '3', '--speed', 'max']))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env |= {"QT_STATE_DIR": str(tmp_path / "state"), "QT_API__ENABLED": "false"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(unpacked)],
        env=env, capture_output=True, text=True, timeout=90, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "qtrader paper — stopped" in out.stdout
    assert "edge gate  gate:" in out.stdout  # the user's default: the edge gate on
