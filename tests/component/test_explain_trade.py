"""``qtrader explain TRADE_ID`` / ``--last``: a past trade's whole decision, from the journal the
daemon wrote while trading."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from quantum_trader.app import Daemon
from quantum_trader.cli import main
from quantum_trader.feeds.synthetic import TREND_DRIFT, SyntheticFeed
from quantum_trader.settings import Settings
from quantum_trader.store.journal import Journal

SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT")


def test_a_closed_trade_is_explained_from_the_journal(
    _state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(api={"enabled": False}, signals={"symbols": SYMBOLS}, rl={"enabled": False})
    feed = SyntheticFeed(SYMBOLS, seed=3, speed=None, warmup=300, limit=1_500, drift=TREND_DRIFT)
    daemon = Daemon(settings, feed)
    assert asyncio.run(daemon.run()) == 0
    journal = Journal(_state_dir / "journal-paper.sqlite3")
    closed = journal.closed_trades()
    journal.close()
    assert closed, "the trending market should have closed a trade"
    trade = closed[0]

    assert main(["explain", trade.intent_id]) == 0
    text = capsys.readouterr().out
    for part in ("Signal ", "votes     trend", "Filter  passed", "ILFv2 leverage", "× volatility",
                 "Liquidation guard", "Sizing", "caps bound", "Orders", "  entry "):  # fmt: skip
        assert part in text, part
    assert f"Result  closed by {trade.exit_reason}" in text
    assert "(raw 0." in text or "(raw 1." in text
    assert f"{trade.pnl:+,.2f} USDT" in text

    assert main(["explain", trade.intent_id, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["trade"] == trade.intent_id
    assert record["decision"]["leverage"] == trade.leverage  # the same decision it traded on
    assert record["decision"]["accepted"] is True
    sig = record["signal"]  # the confidence before calibration, and how it was calibrated
    assert 0 < sig["raw_confidence"] <= 1 and sig["calibration"] in ("raw", "coarse", "binned")

    assert main(["explain", "--last"]) == 0
    assert "trade " in capsys.readouterr().out


def test_an_unknown_trade_is_one_line_and_exit_1(
    _state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", "NOPE-1-LONG"]) == 1
    assert "no trade NOPE-1-LONG" in capsys.readouterr().out
    assert main(["explain"]) == 2  # neither a trade nor a what-if
