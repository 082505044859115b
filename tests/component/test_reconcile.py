"""Reconciliation on the paper exchange: what the exchange holds wins, and each difference is
resolved with a reason in the journal."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from quantum_trader.core.types import OrderSide, Side
from quantum_trader.exchange.base import OrderType
from quantum_trader.execution.reconcile import Reconciler
from quantum_trader.pipeline import Pipeline, build_pipeline
from quantum_trader.settings import Settings
from quantum_trader.store.journal import Journal
from tests.component.fakes import ScriptedFeed
from tests.component.test_trade_lifecycle import _intent

SYM = "BTC/USDT:USDT"
T0 = 1_767_225_600_000


def world(tmp: Path) -> tuple[Pipeline, Journal]:
    journal = Journal(tmp / "j.sqlite3")
    p = build_pipeline(Settings(), ScriptedFeed(SYM, [], T0), journal=journal)
    assert p.paper is not None
    p.paper.engine.on_candle(SYM, T0, 30_000, 30_000, 30_000, 30_000)
    return p, journal


def reconciler(p: Pipeline, journal: Journal, unknown: str = "adopt") -> Reconciler:
    return Reconciler(p.exchange, journal, p.book, p.execution, p.exits, unknown, (SYM,))


def open_by_hand(p: Pipeline, qty: float = 0.1, lev: int = 10) -> None:
    assert p.paper is not None
    p.paper.engine.set_leverage(SYM, lev)
    p.paper.engine.market(SYM, OrderSide.BUY, qty, "by-hand")


async def test_a_position_the_journal_does_not_know_is_adopted_and_protected(
    tmp_path: Path,
) -> None:
    p, journal = world(tmp_path)
    open_by_hand(p)
    report = await reconciler(p, journal).run()
    assert report.adopted == ["adopted-BTCUSDT-LONG"] and report.stops_placed
    mp = p.book.positions[SYM]
    orders = await p.exchange.fetch_open_orders(SYM)
    [stop] = [o for o in orders if o.type is OrderType.STOP_MARKET]
    assert stop.id == mp.stop_order_id and stop.stop_price == mp.state.stop_price
    assert stop.stop_price > (await p.exchange.fetch_positions())[0].liquidation_price
    assert len([o for o in orders if o.type is OrderType.LIMIT]) == 3  # TP legs too
    assert [k for k, _ in journal.events()] == ["adopted"]
    assert len(journal.open_positions()) == 1


async def test_or_closed_when_so_configured(tmp_path: Path) -> None:
    p, journal = world(tmp_path)
    open_by_hand(p)
    report = await reconciler(p, journal, "close").run()
    assert report.closed_out == [SYM]
    assert await p.exchange.fetch_positions() == []
    assert [k for k, _ in journal.events()] == ["closed_out"]


async def test_orders_of_ours_without_a_position_are_cancelled(tmp_path: Path) -> None:
    p, journal = world(tmp_path)
    assert p.paper is not None
    p.paper.engine.limit(SYM, OrderSide.BUY, 0.05, 29_000, "qtdeadbeef-tp1", reduce_only=False)
    p.paper.engine.limit(SYM, OrderSide.BUY, 0.05, 29_000, "someone-elses", reduce_only=False)
    report = await reconciler(p, journal).run()
    assert report.cancelled == ["qtdeadbeef-tp1"]
    assert [o.client_id for o in await p.exchange.fetch_open_orders(SYM)] == ["someone-elses"]


async def test_a_missing_stop_is_replaced_at_once(tmp_path: Path) -> None:
    p, journal = world(tmp_path)
    open_by_hand(p)
    await reconciler(p, journal).run()
    mp = p.book.positions[SYM]
    await p.exchange.cancel_order(SYM, mp.stop_order_id or "")  # gone behind our back
    p.book.positions.clear()
    again = await reconciler(p, journal).run()
    assert again.stops_placed == [mp.opened.intent_id]
    stops = [o for o in await p.exchange.fetch_open_orders(SYM) if o.type is OrderType.STOP_MARKET]
    assert len(stops) == 1 and stops[0].stop_price == mp.state.stop_price


async def _closed_elsewhere(tmp: Path, history: bool) -> tuple[Pipeline, Journal, float]:
    p, journal = world(tmp)
    intent = replace(
        _intent(Side.LONG), symbol=SYM, ts=T0, entry_price=30_000.0, stop_loss=29_000.0,
        take_profit=31_000.0, margin_usd=300.0,
    )  # fmt: skip
    await p.execution.on_intent(intent)  # journaled as the daemon journals a trade
    assert SYM in p.book.positions
    assert p.paper is not None
    for o in p.paper.engine.open_orders(SYM):
        p.paper.engine.cancel(o.id)
    p.paper.engine.on_candle(SYM, T0 + 60_000, 30_300, 30_300, 30_300, 30_300)
    wallet = p.paper.engine.wallet
    qty = p.book.positions[SYM].state.remaining
    p.paper.engine.market(SYM, OrderSide.SELL, qty, "closed-elsewhere", reduce_only=True)
    if not history:
        p.paper.engine.executions.clear()  # a history that does not reach back that far
    p.book.positions.clear()
    rec = reconciler(p, journal)
    await rec.run()
    await rec.settle()
    assert p.book.positions == {} and journal.open_positions() == []
    return p, journal, p.paper.engine.wallet - wallet


async def test_flat_on_the_exchange_is_booked_from_the_exchanges_own_fills(
    tmp_path: Path,
) -> None:
    """Issue 10, item 7: reconciliation used to book such a position at the stop price, an
    invented PnL; the exchange's trade history tells the real exit: 30,300 less slippage."""
    p, journal, close_cash = await _closed_elsewhere(tmp_path, history=True)
    [closed] = journal.closed_trades()
    assert closed.exit_reason == "closed_while_away" and closed.side is Side.LONG
    assert closed.exit_price == 30_300 * (1 - 0.0002)  # the real fill, not the stop
    assert closed.exit_price > closed.entry_price and closed.gross_pnl > 0


async def test_without_a_fill_to_read_the_estimate_is_named_so(tmp_path: Path) -> None:
    p, journal, _ = await _closed_elsewhere(tmp_path, history=False)
    [closed] = journal.closed_trades()
    assert closed.exit_reason == "closed_while_away_estimated"
    assert journal.db.execute("SELECT count(*) FROM experiences").fetchone()[0] == 0


async def test_an_unreadable_record_is_kept_and_reported(tmp_path: Path) -> None:
    p, journal = world(tmp_path)
    journal.save_position("X-1-LONG", SYM, '{"not": "a position"}')
    await reconciler(p, journal).run()
    assert [k for k, _ in journal.events()] == ["unreadable"]
    row = journal.db.execute("SELECT status, record FROM positions").fetchone()
    assert row == ("unreadable", '{"not": "a position"}')  # kept as it was, for a human


async def test_an_adopted_position_opens_at_the_market_time(tmp_path: Path) -> None:
    """On simulated time the adopted position used to be "opened" at the wall clock — months after
    the paper market's candles, which the exit manager then ignored as older than the entry."""
    p, journal = world(tmp_path)
    open_by_hand(p)
    assert p.paper is not None
    rec = Reconciler(
        p.exchange, journal, p.book, p.execution, p.exits, "adopt", (SYM,),
        lambda: p.paper.engine.now if p.paper else 0,
    )  # fmt: skip
    await rec.run()
    assert p.book.positions[SYM].opened.plan.opened_ts == T0
