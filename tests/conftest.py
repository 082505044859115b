"""Every test runs with its own state directory (journal, checkpoints, trade log), never the
user's ``~/.local/state/qtrader``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("QT_STATE_DIR", str(path))
    yield path
