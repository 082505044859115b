"""``qtrader explain --last`` is the newest *traded* decision, never a shadow the edge gate only
followed (``--last --shadow`` asks for those); every leg's fills are shown at their prices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from quantum_trader.cli import main
from quantum_trader.core.types import Fill, OrderSide
from quantum_trader.explain_trade import find, story
from quantum_trader.store.journal import Journal

T = 1_767_225_600_000


def record(ts: int, action: str) -> dict[str, Any]:
    return {
        "signal": {"symbol": "BTC/USDT:USDT", "side": "LONG", "confidence": 0.8,
                   "consensus": "UNANIMOUS", "source": "builtin", "ts": ts, "votes": []},
        "features": {"price": 100.0},
        "filter": {"verdict": "ok", "overall_health": 100.0, "source_health": 100.0,
                   "open_symbols": []},
        "table": "ILFv2 leverage …",
        "edge": {"action": action, "reason": "test"},
    }  # fmt: skip


@pytest.fixture
def journal(_state_dir: Path) -> Path:
    path = _state_dir / "journal-paper.sqlite3"
    j = Journal(path)
    j.record_decision("TRADED-1-LONG", T, record(T, "trade"))
    j.order_pending("qtA-entry", "TRADED-1-LONG", "entry", "BTC/USDT:USDT", "BUY", "MARKET", 3.0)
    j.order_pending("qtA-tp1", "TRADED-1-LONG", "tp1", "BTC/USDT:USDT", "SELL", "LIMIT", 1.0, 101)
    j.record_fill(Fill("1", "qtA-entry", "BTC/USDT:USDT", OrderSide.BUY, 2.0, 100.0, 0.1, T + 1))
    j.record_fill(Fill("1", "qtA-entry", "BTC/USDT:USDT", OrderSide.BUY, 1.0, 100.3, 0.05, T + 2))
    j.record_fill(Fill("2", "qtA-tp1", "BTC/USDT:USDT", OrderSide.SELL, 1.0, 101.0, 0.02, T + 3))
    j.record_decision("SHADOW-2-LONG", T + 60_000, record(T + 60_000, "shadow"))
    j.close()
    return path


def test_last_is_the_newest_traded_decision(journal: Path) -> None:
    found = find(journal.parent, None)
    assert found is not None and found[1] == "TRADED-1-LONG"
    shadow = find(journal.parent, None, shadow=True)
    assert shadow is not None and shadow[1] == "SHADOW-2-LONG"


def test_every_leg_shows_its_fill_prices(journal: Path) -> None:
    found = find(journal.parent, "TRADED-1-LONG")
    assert found is not None
    text = story(*found)
    assert "filled 3 @ 100.1 in 2 fills (fee 0.1500)" in text
    assert "filled 1 @ 101 (fee 0.0200)" in text


def test_the_cli_says_which(journal: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--last"]) == 0
    assert "trade TRADED-1-LONG" in capsys.readouterr().out
    assert main(["explain", "--last", "--shadow"]) == 0
    out = capsys.readouterr().out
    assert "trade SHADOW-2-LONG" in out and "NOT TRADED" in out
