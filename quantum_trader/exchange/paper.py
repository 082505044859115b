"""The paper exchange behind the :class:`~quantum_trader.exchange.base.Exchange` protocol."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from quantum_trader.core.liquidation import BracketTable
from quantum_trader.core.sizing import MarketRules
from quantum_trader.core.types import Candle, Fill, OrderSide
from quantum_trader.exchange.base import Balance, Order, Position
from quantum_trader.exchange.paper_engine import PaperEngine
from quantum_trader.exchange.paper_rules import PaperConfig
from quantum_trader.exchange.paper_state import restore, snapshot


class PaperExchange:
    """In-process exchange: no keys, no network. Prices arrive through :meth:`on_candle`."""

    name = "paper"
    order_expiry_ms = 0

    def __init__(
        self, config: PaperConfig | None = None, rules: Mapping[str, MarketRules] | None = None
    ) -> None:
        self.engine = PaperEngine(config or PaperConfig(), rules)
        self.persist: Callable[[dict[str, Any]], None] | None = None  # the journal, when kept
        self.market: dict[str, object] | None = None  # the feed's identity, saved with the state

    def restore(self, state: dict[str, Any]) -> None:
        restore(self.engine, state)

    def _changed(self) -> None:
        if self.persist is not None:
            self.persist({**snapshot(self.engine), "market": self.market})

    def flush(self) -> None:
        """Save the state now (at shutdown: the market time of the last candle seen)."""
        self._changed()

    def on_candle(self, symbol: str, candle: Candle, funding_rate: float | None = None) -> None:
        paid, wallet = len(self.engine.funding), self.engine.wallet
        self.engine.on_candle(
            symbol, candle.ts, candle.open, candle.high, candle.low, candle.close, funding_rate
        )
        if self.engine.fills or len(self.engine.funding) != paid or self.engine.wallet != wallet:
            self._changed()

    async def market_rules(self, symbol: str) -> MarketRules:
        return self.engine.rules(symbol)

    async def brackets(self, symbol: str) -> BracketTable:
        return self.engine.cfg.brackets

    async def prepare_symbol(self, symbol: str, leverage: int) -> None:
        self.engine.set_leverage(symbol, leverage)
        self._changed()

    async def create_market_order(
        self, symbol: str, side: OrderSide, qty: float, client_id: str, reduce_only: bool = False
    ) -> Order:
        order = self.engine.market(symbol, side, qty, client_id, reduce_only)
        self._changed()
        return order

    async def create_limit_order(
        self,
        symbol: str,
        side: OrderSide,
        qty: float,
        price: float,
        client_id: str,
        reduce_only: bool = True,
    ) -> Order:
        order = self.engine.limit(symbol, side, qty, price, client_id, reduce_only)
        self._changed()
        return order

    async def create_stop_market(
        self, symbol: str, side: OrderSide, stop_price: float, client_id: str
    ) -> Order:
        order = self.engine.stop_market(symbol, side, stop_price, client_id)
        self._changed()
        return order

    async def cancel_order(self, symbol: str, order_id: str) -> None:
        self.engine.cancel(order_id)
        self._changed()

    async def fetch_order_by_client_id(self, symbol: str, client_id: str) -> Order | None:
        return self.engine.by_client_id(client_id)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        return self.engine.open_orders(symbol)

    async def fetch_positions(self) -> list[Position]:
        return [p for s in list(self.engine.positions) if (p := self.engine.position(s))]

    async def fetch_balance(self) -> Balance:
        return self.engine.balance()

    async def funding_paid(self, symbol: str, since_ts: int) -> float:
        return self.engine.funding_paid(symbol, since_ts)

    async def fetch_trades_since(self, symbol: str, since_ts: int) -> list[Fill]:
        return [f for f in self.engine.executions if f.symbol == symbol and f.ts >= since_ts]

    async def take_fills(self) -> list[Fill]:
        return self.engine.take_fills()

    async def start(self) -> None:
        return None

    async def track(self, order: Order) -> None:
        return None  # the engine itself reports every fill of its resting orders

    async def close(self) -> None:
        return None
