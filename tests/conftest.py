"""Every test runs with its own state directory (journal, checkpoints, trade log), never the
user's ``~/.local/state/qtrader``.

The edge gate is off in tests (``QT_EDGE__MODE=off``) unless a test turns it on
(``edge={"mode": "gate"}``, or a subprocess without the ``QT_`` environment): most tests are
about what a full-size trade does, and the gate (the default for users) would make their first
trades probes at the exchange minimum. The gate's own tests: tests/component/test_edge_gate.py,
tests/unit/core/test_shadow_gate.py, the gated fast-vs-full test in
tests/integration/test_backtest_fast.py, and the wheel's daemon run (the user's defaults)."""

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
    monkeypatch.setenv("QT_EDGE__MODE", "off")
    # one candle cache for the whole session, never the user's: later loads read it back
    monkeypatch.setenv("QT_CANDLE_CACHE", str(tmp_path_factory.getbasetemp() / "candle-cache"))
    yield path


@pytest.fixture
def clean_qt_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``QT_`` settings from the environment of whoever runs the tests (the per-test
    ``QT_STATE_DIR`` and the tests' ``QT_EDGE__MODE`` stay): opt in with
    ``pytestmark = pytest.mark.usefixtures(...)``."""
    keep = ("QT_STATE_DIR", "QT_EDGE__MODE")
    for key in [k for k in os.environ if k.startswith("QT_") and k not in keep]:
        monkeypatch.delenv(key)


@pytest.fixture(autouse=True)
def _book_equals_exchange() -> Iterator[None]:
    """Every test that runs the paper exchange through a pipeline has the book checked against it
    after every candle (:class:`InvariantWatch`); any violation fails the test."""
    InvariantWatch.seen.clear()
    yield
    found, InvariantWatch.seen[:] = list(InvariantWatch.seen), []
    assert not found, f"book ≠ exchange: {found[:5]}"
