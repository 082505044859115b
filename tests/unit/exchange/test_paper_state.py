"""The paper exchange's snapshot: a restored engine behaves exactly as the original would."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from quantum_trader.core.types import OrderSide
from quantum_trader.exchange.paper_engine import PaperEngine
from quantum_trader.exchange.paper_rules import PaperConfig
from quantum_trader.exchange.paper_state import restore, snapshot

T0 = 1_700_006_400_000
M = 60_000
SYM = "BTC/USDT:USDT"


def opened() -> PaperEngine:
    e = PaperEngine(PaperConfig(auto_rules=False))
    e.on_candle(SYM, T0, 100.0, 100.0, 100.0, 100.0, 0.0001)
    e.set_leverage(SYM, 10)
    e.market(SYM, OrderSide.BUY, 10.0, "entry")
    e.stop_market(SYM, OrderSide.SELL, 97.0, "sl0")
    e.limit(SYM, OrderSide.SELL, 3.0, 102.0, "tp1")
    e.limit(SYM, OrderSide.SELL, 3.0, 104.0, "tp2")
    return e


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(90, 110), st.floats(0, 4), st.floats(0, 4), st.floats(90, 110)),
        min_size=1,
        max_size=12,
    )
)
def test_restored_engine_trades_like_the_original(
    path: list[tuple[float, float, float, float]],
) -> None:
    a = opened()
    b = PaperEngine(PaperConfig(auto_rules=False))
    restore(b, json.loads(json.dumps(snapshot(a))))  # through JSON, as the journal stores it
    for k, (o, up, down, c) in enumerate(path, 1):
        for e in (a, b):
            e.on_candle(SYM, T0 + k * 3 * 3_600_000, o, max(o, c) + up, min(o, c) - down, c)
    assert b.take_fills() == a.take_fills()
    assert b.wallet == a.wallet and b.liquidations == a.liquidations
    assert b.position(SYM) == a.position(SYM)
    assert b.open_orders() == a.open_orders()
    assert b.funding_paid(SYM, 0) == a.funding_paid(SYM, 0)


def test_client_ids_still_answer_after_a_restore() -> None:
    a = opened()
    b = PaperEngine(PaperConfig(auto_rules=False))
    restore(b, snapshot(a))
    entry = b.by_client_id("entry")
    assert entry is not None and entry.filled_qty == 10.0
    assert b.by_client_id("sl0") == a.by_client_id("sl0")
