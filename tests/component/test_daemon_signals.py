"""The daemon's signal policy: the first SIGINT stops gracefully, the second forces exit."""

from __future__ import annotations

import signal

import pytest

from quantum_trader import app as app_module
from quantum_trader.app import EX_FORCED, Daemon
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed
from quantum_trader.settings import Settings


class Forced(Exception):
    pass


def test_second_sigint_forces_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        raise Forced

    monkeypatch.setattr(app_module.os, "_exit", fake_exit)
    settings = Settings(api={"enabled": False})
    daemon = Daemon(settings, SyntheticFeed(settings.signals.symbols, limit=1, drift=TREND_DRIFT))
    daemon._on_signal(signal.SIGINT)
    assert daemon.stop_event.is_set() and daemon.stop_reason == "SIGINT" and codes == []
    with pytest.raises(Forced):
        daemon._on_signal(signal.SIGINT)
    assert codes == [EX_FORCED]
