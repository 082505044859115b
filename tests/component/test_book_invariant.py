"""Issue 10: the book equals the exchange after every candle, over random intrabar paths.

Random candles — gaps from the last close, ranges wide enough to cross the stop and several TP
legs in one candle, gaps through the liquidation price at high leverage — drive the paper exchange,
execution and the exit manager on the inline bus, with entries at random moments. After every
candle :class:`InvariantWatch` compares the book with the paper exchange (positions, one live stop
each, resting orders, no orphan, every close booked once); the suite's autouse fixture fails the
test on any violation. At the end: every close is booked, PnL equals the wallet's movement, and no
trade lost more than its margin plus fees.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantum_trader.bus.messages import PositionClosed, Topic
from quantum_trader.core.types import Side
from quantum_trader.execution.invariants import InvariantWatch
from quantum_trader.pipeline import build_pipeline
from quantum_trader.settings import Settings
from tests.component.fakes import ScriptedFeed, run_through, scripted_paper
from tests.component.test_trade_lifecycle import SYM, T0, _intent

CANDLES = 60
EXAMPLES = 40  # 40 × 60 = 2,400 random candles per run
seen = {"candles": 0, "closed": 0, "liquidated": 0, "multi_fill": 0}

step = st.tuples(
    st.sampled_from([0.0, 0.0, 0.0, 0.004, -0.004, 0.03, -0.03, 0.06, -0.06]),  # gap
    st.floats(0.0, 0.045),  # up
    st.floats(0.0, 0.045),  # down
    st.floats(0.0, 1.0),  # where the close lies in the range
    st.booleans(),  # enter at this candle if flat
    st.sampled_from([(Side.LONG, 5), (Side.SHORT, 10), (Side.LONG, 20), (Side.SHORT, 40)]),
)


pytestmark = pytest.mark.usefixtures("clean_qt_env")


def _path(steps: list[tuple[float, float, float, float, bool, object]]) -> list[tuple[float, ...]]:
    out, last = [], 100.0
    for gap, up, down, where, _, _ in steps:
        o = round(max(1.0, last * (1 + gap)), 2)
        h, lo = round(o * (1 + up), 2), round(max(0.5, o * (1 - down)), 2)
        c = round(lo + where * (h - lo), 2)
        out.append((o, h, lo, c))
        last = c
    return out


async def _run(steps: list[tuple[float, float, float, float, bool, tuple[Side, int]]]) -> None:
    closed: list[PositionClosed] = []
    paper = scripted_paper()
    path = _path(steps)
    prices = [100.0] + [c for *_, c in path]

    def hook(k: int) -> object:
        async def enter() -> None:
            if p.book.positions or not steps[k - 1][4]:
                return
            side, lev = steps[k - 1][5]
            price = prices[k - 1]
            sl, tp = (
                (price * 0.98, price * 1.02) if side is Side.LONG else (price * 1.02, price * 0.98)
            )
            intent = replace(
                _intent(side),
                intent_id=f"H-{k}",
                entry_price=price,
                stop_loss=sl,
                take_profit=tp,
                leverage=lev,
                ts=T0 + (k - 1) * 60_000,
            )
            await p.bus.publish(Topic.INTENT, intent)
            await p.bus.drain()

        return enter

    feed = ScriptedFeed(
        SYM,
        [(100.0, 100.0, 100.0, 100.0), *path],
        T0,
        {k: hook(k) for k in range(1, len(path) + 1)},  # type: ignore[misc]
    )
    settings_ = Settings(signals={"min_confidence": 1.0})  # only the hook's intents trade
    p = build_pipeline(settings_, feed, exchange=paper)

    async def on_closed(event: PositionClosed) -> None:
        closed.append(event)

    p.bus.subscribe("test", Topic.POSITION_CLOSED, on_closed)
    start = paper.engine.wallet
    await run_through(p)
    assert isinstance(p.invariants, InvariantWatch) and p.invariants.count == 0
    seen["candles"] += len(path)
    seen["closed"] += len(closed)
    seen["liquidated"] += sum(c.exit_reason == "liquidation" for c in closed)
    seen["multi_fill"] += sum(c.legs_hit > 0 and c.exit_reason != f"tp{c.legs_hit}" for c in closed)
    assert [c.intent_id for c in closed] == [c.intent_id for c in p.book.closed]
    for c in closed:  # an isolated position never loses more than its margin plus fees
        assert c.pnl >= -(c.margin + c.fees) - 1e-9, c
    if not p.book.positions:  # flat: the wallet moved by exactly the booked PnL
        assert paper.engine.wallet - start == pytest.approx(sum(c.pnl for c in closed), abs=1e-6)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(step, min_size=CANDLES, max_size=CANDLES))
def test_book_equals_exchange_on_random_paths(
    steps: list[tuple[float, float, float, float, bool, tuple[Side, int]]],
) -> None:
    asyncio.run(_run(steps))


def test_the_random_paths_covered_what_they_should() -> None:
    """Runs after the property (file order): the paths did exercise the races."""
    if seen["candles"] == 0:
        pytest.skip("run together with the property above")
    assert seen["candles"] >= 2_000
    assert seen["closed"] >= 50
    assert seen["multi_fill"] >= 5  # a TP leg and then a stop (or guard) in one trade
