"""Records a backtest from the bus: one row per closed trade (with the leverage factors, levels and
liquidation price it was opened with) and the equity at every close time, after its last candle."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from quantum_trader.bus.bus import Bus
from quantum_trader.bus.messages import (
    CandleEvent,
    PositionClosed,
    PositionOpened,
    Topic,
)
from quantum_trader.core.decision import Decision
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.risk import RiskTrip
from quantum_trader.exchange.paper import PaperExchange


@dataclass(frozen=True, slots=True)
class TradeRow:
    intent_id: str
    symbol: str
    side: str
    entry_ts: int
    exit_ts: int
    entry_price: float
    exit_price: float
    qty: float
    margin: float
    leverage: int
    leverage_raw: float
    factors: str
    tp1_price: float
    tp2_price: float
    tp3_price: float
    sl_price: float
    sl_distance: float
    liquidation_price: float
    legs_hit: int
    exit_reason: str
    fees: float
    funding: float
    gross_pnl: float
    pnl: float
    roe: float
    loss_beyond_stop: float  # USDT lost beyond the stop's planned loss (a gap, a liquidation)
    voters: str = ""  # the models that voted for the trade's side, space-separated

    def as_dict(self) -> dict[str, Any]:
        return _flat(self)


def _flat(row: Any) -> dict[str, Any]:
    """A dataclass of scalars as a dict (``dataclasses.asdict`` without its recursive deep copy:
    a tenth of the time, the same dict for scalar fields)."""
    return {f.name: getattr(row, f.name) for f in fields(row)}


class Marks:
    """The equity curve: per close time (strictly increasing), the account's equity and whether
    it held a position after the last candle of that time. Several symbols closing at one time are
    one point: the candles before the last leave some symbols marked at the previous close.
    Compact, 8 + 8 + 1 bytes a row."""

    def __init__(self) -> None:
        self.ts: array[int] = array("q")
        self.equity: array[float] = array("d")
        self.exposed = bytearray()

    def add(self, ts: int, equity: float, exposed: bool) -> None:
        if self.ts and self.ts[-1] == ts:
            self.equity[-1], self.exposed[-1] = equity, exposed
            return
        self.ts.append(ts)
        self.equity.append(equity)
        self.exposed.append(exposed)

    def extend(
        self, ts: npt.NDArray[np.int64], equity: npt.NDArray[np.float64], exposed: bool
    ) -> None:
        """A run of events (close times non-decreasing) with one exposure: as ``add`` on each."""
        if ts.size == 0:
            return
        last = np.empty(ts.size, dtype=np.bool_)
        np.not_equal(ts[1:], ts[:-1], out=last[:-1])
        last[-1] = True
        if self.ts and self.ts[-1] == int(ts[0]):  # the run continues the last close time
            self.ts.pop()
            self.equity.pop()
            self.exposed.pop()
        rows = int(np.count_nonzero(last))
        self.ts.frombytes(ts[last].astype(np.int64, copy=False).tobytes())
        self.equity.frombytes(equity[last].astype(np.float64, copy=False).tobytes())
        self.exposed.extend(bytes([exposed]) * rows)


class Recorder:
    def __init__(
        self, bus: Bus, paper: PaperExchange, on_bar: Callable[[int], None] | None = None
    ) -> None:
        self.paper = paper
        self.plans: dict[str, Decision] = {}  # the plan each intent carried
        self.opened: dict[str, tuple[PositionOpened, float]] = {}
        self.trades: list[TradeRow] = []
        self.marks = Marks()
        self.on_bar = on_bar  # progress: bars recorded
        self.trips: list[RiskTrip] = []
        self.equity_at_open: dict[str, float] = {}
        self.worst_loss_of_equity = 0.0  # the worst trade's loss / equity when it opened
        self.max_margin_util = 0.0  # used margin / equity, highest after any candle
        bus.subscribe(
            "recorder",
            [
                Topic.INTENT,
                Topic.POSITION_OPENED,
                Topic.POSITION_CLOSED,
                Topic.CANDLE,
                Topic.RISK_TRIPPED,
            ],
            self.on_message,
        )

    @property
    def ts(self) -> array[int]:
        return self.marks.ts

    @property
    def equity(self) -> array[float]:
        return self.marks.equity

    @property
    def exposed(self) -> bytearray:
        return self.marks.exposed

    async def on_message(self, message: object) -> None:
        if isinstance(message, CandleEvent):
            engine = self.paper.engine
            balance = engine.balance()
            close_ts = message.candle.ts + message.timeframe_ms
            self.marks.add(close_ts, balance.equity, bool(engine.positions))
            if balance.used_margin:
                self.max_margin_util = max(
                    self.max_margin_util, balance.used_margin / balance.equity
                )
            if self.on_bar is not None:
                self.on_bar(1)
        elif isinstance(message, TradeIntent):
            if message.plan is not None:
                self.plans[message.intent_id] = message.plan
        elif isinstance(message, PositionOpened):
            self.equity_at_open[message.intent_id] = self.paper.engine.balance().equity
            pos = self.paper.engine.position(message.plan.symbol)
            self.opened[message.intent_id] = (message, pos.liquidation_price if pos else 0.0)
        elif isinstance(message, PositionClosed):
            self.trades.append(self._row(message))
            at_open = self.equity_at_open.pop(message.intent_id, 0.0)
            if at_open > 0:
                self.worst_loss_of_equity = max(self.worst_loss_of_equity, -message.pnl / at_open)
        elif isinstance(message, RiskTrip):
            self.trips.append(message)

    def _row(self, c: PositionClosed) -> TradeRow:
        opened, liq = self.opened.pop(c.intent_id)
        decided = self.plans.pop(c.intent_id, None)
        plan = opened.plan
        factors = (
            " ".join(f"{k}={v:.4g}" for k, v in _flat(decided.ilf.factors).items())
            if decided is not None
            else ""
        )
        return TradeRow(
            c.intent_id,
            c.symbol,
            c.side.value,
            c.opened_ts,
            c.closed_ts,
            c.entry_price,
            c.exit_price,
            c.qty,
            c.margin,
            c.leverage,
            decided.ilf.raw if decided else 0.0,
            factors,
            plan.tp_prices[0],
            plan.tp_prices[1],
            plan.tp_prices[2],
            plan.sl_price,
            plan.sl_distance,
            liq,
            c.legs_hit,
            c.exit_reason,
            c.fees,
            c.funding,
            c.gross_pnl,
            c.pnl,
            c.roe,
            self._beyond_stop(c, plan.sl_price),
            " ".join(c.voters),
        )

    def _beyond_stop(self, c: PositionClosed, sl_price: float) -> float:
        planned = c.qty * (
            abs(c.entry_price - sl_price) + sl_price * self.paper.engine.cfg.slippage
        )
        return max(0.0, -(c.pnl - c.funding) - planned - c.fees)
