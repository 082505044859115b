"""The live tick gate: a tick through the stop waits for the exchange's own stop; small trailing
gains wait for a step."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from quantum_trader.core.exits import ActionKind, ExitAction, ExitParams
from quantum_trader.execution.book import ManagedPosition
from quantum_trader.execution.ticks import STOP_GRACE_MS, TickGate


def position(stop_id: str | None = "s1", stop: float = 99.0) -> ManagedPosition:
    plan = SimpleNamespace(sl_distance=0.01)
    mp: Any = SimpleNamespace(
        symbol="X",
        stop_order_id=stop_id,
        opened=SimpleNamespace(plan=plan),
        state=SimpleNamespace(stop_price=stop),
    )
    return cast(ManagedPosition, mp)


STOP = ExitAction(ActionKind.CLOSE, "stop_internal", qty=1.0)


class Wall:
    """Real time for the gate (seconds), set by the test."""

    def __init__(self) -> None:
        self.t = 1.0

    def __call__(self) -> float:
        return self.t


def test_a_tick_through_the_stop_waits_for_the_exchange_then_the_backstop_acts() -> None:
    """Timed on real time: the market's clock (the last closed candle) does not move between
    candles, and a grace timed on it never ended before the next candle."""
    wall = Wall()
    gate, mp = TickGate(ExitParams(), wall), position()
    assert gate.admit(mp, [STOP], 98.9) == []
    wall.t += (STOP_GRACE_MS - 1) / 1000
    assert gate.admit(mp, [STOP], 98.9) == []
    wall.t += 0.001
    assert gate.admit(mp, [STOP], 98.9) == [STOP]
    wall.t += 4.0
    assert gate.admit(mp, [], 99.5) == []  # back above: the clock restarts
    wall.t += 1.0
    assert gate.admit(mp, [STOP], 98.9) == []


def test_without_an_exchange_stop_the_internal_stop_acts_at_once() -> None:
    assert TickGate(ExitParams()).admit(position(stop_id=None), [STOP], 98.9) == [STOP]


def test_trailing_moves_in_steps_of_a_tenth_of_the_distance() -> None:
    gate, mp = TickGate(ExitParams(trail_distance=0.01)), position(stop=99.0)
    small = ExitAction(ActionKind.MOVE_STOP, "trailing", price=99.0 + 0.099)  # < 0.1 × 1 % × 100
    big = ExitAction(ActionKind.MOVE_STOP, "trailing", price=99.0 + 0.101)
    ratchet = ExitAction(ActionKind.MOVE_STOP, "breakeven", price=99.01)
    assert gate.admit(mp, [small], 100.0) == []
    assert gate.admit(mp, [big], 100.0) == [big]
    assert gate.admit(mp, [ratchet], 100.0) == [ratchet]  # only trailing waits
