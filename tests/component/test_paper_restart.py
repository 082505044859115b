"""Paper mode keeps its positions across a restart, through the same journal: the second daemon
finds the paper exchange as the first left it, and resumes every position with its stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from quantum_trader.app import Daemon
from quantum_trader.feeds.synthetic import SyntheticFeed
from quantum_trader.settings import Settings
from quantum_trader.store.journal import Journal

SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")


def _settings() -> Settings:
    return Settings(
        api={"enabled": False},
        signals={"symbols": SYMBOLS, "force_confidence": 0.95},
        rl={"enabled": False},
    )


def test_positions_survive_a_restart(_state_dir: Path) -> None:
    first = Daemon(_settings(), SyntheticFeed(SYMBOLS, seed=3, speed=None, warmup=60, limit=120))
    assert asyncio.run(first.run()) == 0
    before = {
        s: (mp.opened.intent_id, mp.state.remaining, mp.stop_order_id)
        for s, mp in first.p.book.positions.items()
    }
    assert before, "the first run should end with open positions"
    wallet = first.p.paper.engine.wallet if first.p.paper else 0.0

    second = Daemon(_settings(), SyntheticFeed(SYMBOLS, seed=3, speed=None, warmup=60, limit=1))
    asyncio.run(second._reconcile())  # noqa: SLF001 - the start-up step, without a feed
    after = {
        s: (mp.opened.intent_id, mp.state.remaining, mp.stop_order_id)
        for s, mp in second.p.book.positions.items()
    }
    assert after == before
    paper = second.p.paper
    assert paper is not None and paper.engine.wallet == wallet
    live = {o.id for o in paper.engine.open_orders()}
    assert all(stop in live for _, _, stop in after.values())  # each stop still on the book
    journal = Journal(_state_dir / "journal-paper.sqlite3")
    assert len(journal.open_positions()) == len(before)
    assert journal.events() == []  # nothing to adopt, close out or re-place: all consistent
