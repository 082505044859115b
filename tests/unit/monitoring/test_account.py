"""What /health says of a position's exchange stop, from the account view (never a request)."""

from __future__ import annotations

from quantum_trader.monitoring.account import AccountView

SYM = "BTC/USDT:USDT"


def test_a_stop_the_last_read_checked_is_what_it_found() -> None:
    view = AccountView(stops={SYM: 98.9}, checked={SYM: "S1"})
    assert view.stop_of(SYM, "S1", 98.9) == (98.9, True)


def test_a_stop_gone_from_the_exchange_shows_as_missing() -> None:
    view = AccountView(stops={}, checked={SYM: "S1"})  # read with S1 in the book: not found
    assert view.stop_of(SYM, "S1", 98.9) == (None, True)


def test_a_stop_newer_than_the_read_is_the_acknowledged_one_unconfirmed() -> None:
    view = AccountView(stops={SYM: 98.9}, checked={SYM: "S1"})
    assert view.stop_of(SYM, "S2", 100.2) == (100.2, False)  # moved since the read
    assert AccountView().stop_of(SYM, "S1", 98.9) == (98.9, False)  # opened since the read
    assert AccountView().stop_of(SYM, None, 98.9) == (None, False)  # no stop at all
