"""The paper exchange's matching engine: the account (:class:`~paper_account.PaperAccount`) walked
through each candle, synchronous and deterministic.

- A candle is walked open → nearer extreme → farther extreme → close. A gap from the previous close
  through an order fills it at the open. Orders in one segment fill in path order.
- Funding at every ``funding_interval_ms`` boundary (00/08/16 UTC by default) on the open position.
- Liquidation at Binance's isolated liquidation price — also when a gap jumps past the stop and it:
  the margin is lost, no more, and reported as the exchange's own closing fill; counted, and the
  guard is there so that it never happens without a gap.
"""

from __future__ import annotations

from dataclasses import replace

from loguru import logger

from quantum_trader.core.types import Fill, OrderSide, Side, trade_id
from quantum_trader.exchange.base import LIQUIDATION_PREFIX, OrderStatus, OrderType
from quantum_trader.exchange.paper_account import KEEP_FINISHED, PaperAccount
from quantum_trader.exchange.paper_rules import FundingPayment, trigger_price

__all__ = ["KEEP_FINISHED", "PaperEngine"]


class PaperEngine(PaperAccount):
    def _sweep(self, symbol: str, a: float, b: float, gap: bool = False) -> None:
        events: list[tuple[float, str, float]] = []
        for order in self.open_orders(symbol):
            price = trigger_price(order, a, b, gap, self.cfg.slippage)
            if price is not None:
                level = order.stop_price or order.price
                events.append((abs(level - a), order.id, price))
        pos = self.position(symbol)
        if (
            pos is not None
            and pos.liquidation_price > 0
            and min(a, b) <= pos.liquidation_price <= max(a, b)
        ):
            events.append((abs(pos.liquidation_price - a), "LIQ", pos.liquidation_price))
        for _, oid, price in sorted(events):
            if oid == "LIQ":
                self._liquidate(symbol, price)
                continue
            order = self.orders[oid]
            if not order.status.live:
                continue
            pos_now = self.positions.get(symbol)
            if pos_now is None:
                self._set(replace(order, status=OrderStatus.EXPIRED))
                continue
            if pos_now.side.sign * (price - pos_now.liq) < 0 and pos_now.liq > 0:
                self._liquidate(symbol, pos_now.liq)  # a gap through the liquidation price too
                continue
            qty = pos_now.qty if order.close_position else min(order.qty, pos_now.qty)
            maker = order.type is OrderType.LIMIT and not gap
            self._execute(order, qty, price, maker=maker, resting=True)

    def _liquidate(self, symbol: str, price: float) -> None:
        """The isolated margin is lost, no more: reported as the exchange's own closing fill at the
        bankruptcy price (Binance's ``autoclose-…`` order), so the book closes the position."""
        pos = self.positions.pop(symbol, None)
        if pos is None:
            return
        self.liquidations += 1
        self.wallet -= pos.margin
        self._expire_closers(symbol)
        self._seq += 1
        bankrupt = pos.entry - pos.side.sign * pos.margin / pos.qty
        closing = OrderSide.SELL if pos.side is Side.LONG else OrderSide.BUY
        oid = f"P{self._seq}"
        fill = Fill(
            oid,
            f"{LIQUIDATION_PREFIX}{self._seq}",
            symbol,
            closing,
            pos.qty,
            max(bankrupt, 1e-12),
            0.0,
            self.now,
            True,
            trade_id(oid, pos.qty),
        )
        self.fills.append(fill)
        self.executions.append(fill)
        logger.bind(component="paper").critical(
            "LIQUIDATED {} {} {} at {:.6f}: this must never happen",
            symbol,
            pos.side,
            pos.qty,
            price,
        )

    def _apply_funding(self, symbol: str, ts: int, price: float) -> None:
        boundary = self._next_funding.get(symbol)
        interval = self.cfg.funding_interval_ms
        if boundary is None:
            self._next_funding[symbol] = (ts // interval + 1) * interval
            return
        while ts >= boundary:
            pos = self.positions.get(symbol)
            rate = self.funding_rate.get(symbol, 0.0)
            if pos is not None and rate:
                amount = -pos.side.sign * pos.qty * price * rate
                self.wallet += amount
                self.funding.append(FundingPayment(symbol, boundary, amount))
            boundary += interval
        self._next_funding[symbol] = boundary

    def on_candle(
        self,
        symbol: str,
        ts: int,
        o: float,
        h: float,
        lo: float,
        c: float,
        funding_rate: float | None = None,
    ) -> None:
        """Walk one candle through the book. Fills accumulate in ``fills``."""
        self.now = ts
        self.seen[symbol] = ts
        if funding_rate is not None:
            self.funding_rate[symbol] = funding_rate
        prev = self.last.get(symbol, o)
        self.last[symbol] = o
        self._apply_funding(symbol, ts, o)
        if prev != o:
            self._sweep(symbol, prev, o, gap=True)
        path = (o, h, lo, c) if abs(h - o) <= abs(o - lo) else (o, lo, h, c)
        for a, b in zip(path, path[1:], strict=False):
            if a != b:
                self.last[symbol] = b
                self._sweep(symbol, a, b)
        self.last[symbol] = c

    def take_fills(self) -> list[Fill]:
        out, self.fills = self.fills, []
        return out
