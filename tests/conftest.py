"""Every test runs with its own state directory (journal, checkpoints, trade log), never the
user's ``~/.local/state/qtrader``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from quantum_trader.execution.invariants import InvariantWatch


@pytest.fixture(autouse=True)
def _state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("QT_STATE_DIR", str(path))
    yield path


@pytest.fixture
def clean_qt_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``QT_`` settings from the environment of whoever runs the tests (the per-test
    ``QT_STATE_DIR`` stays): opt in with ``pytestmark = pytest.mark.usefixtures(...)``."""
    for key in [k for k in os.environ if k.startswith("QT_") and k != "QT_STATE_DIR"]:
        monkeypatch.delenv(key)


@pytest.fixture(autouse=True)
def _book_equals_exchange() -> Iterator[None]:
    """Every test that runs the paper exchange through a pipeline has the book checked against it
    after every candle (:class:`InvariantWatch`); any violation fails the test."""
    InvariantWatch.seen.clear()
    yield
    found, InvariantWatch.seen[:] = list(InvariantWatch.seen), []
    assert not found, f"book ≠ exchange: {found[:5]}"
