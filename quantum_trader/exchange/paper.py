"""The paper exchange behind the :class:`~quantum_trader.exchange.base.Exchange` protocol."""

from __future__ import annotations

from collections.abc import Mapping

from quantum_trader.core.liquidation import BracketTable
from quantum_trader.core.sizing import MarketRules
from quantum_trader.core.types import Candle, Fill, OrderSide
from quantum_trader.exchange.base import Balance, Order, Position
from quantum_trader.exchange.paper_engine import PaperConfig, PaperEngine


class PaperExchange:
    """In-process exchange: no keys, no network. Prices arrive through :meth:`on_candle`."""

    name = "paper"

    def __init__(
        self, config: PaperConfig | None = None, rules: Mapping[str, MarketRules] | None = None
    ) -> None:
        self.engine = PaperEngine(config or PaperConfig(), rules)

    def on_candle(self, symbol: str, candle: Candle, funding_rate: float | None = None) -> None:
        self.engine.on_candle(
            symbol, candle.ts, candle.open, candle.high, candle.low, candle.close, funding_rate
        )

    async def market_rules(self, symbol: str) -> MarketRules:
        return self.engine.rules(symbol)

    async def brackets(self, symbol: str) -> BracketTable:
        return self.engine.cfg.brackets

    async def prepare_symbol(self, symbol: str, leverage: int) -> None:
        self.engine.set_leverage(symbol, leverage)

    async def create_market_order(
        self, symbol: str, side: OrderSide, qty: float, client_id: str, reduce_only: bool = False
    ) -> Order:
        return self.engine.market(symbol, side, qty, client_id, reduce_only)

    async def create_limit_order(
        self,
        symbol: str,
        side: OrderSide,
        qty: float,
        price: float,
        client_id: str,
        reduce_only: bool = True,
    ) -> Order:
        return self.engine.limit(symbol, side, qty, price, client_id, reduce_only)

    async def create_stop_market(
        self, symbol: str, side: OrderSide, stop_price: float, client_id: str
    ) -> Order:
        return self.engine.stop_market(symbol, side, stop_price, client_id)

    async def cancel_order(self, symbol: str, order_id: str) -> None:
        self.engine.cancel(order_id)

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

    async def take_fills(self) -> list[Fill]:
        return self.engine.take_fills()

    async def close(self) -> None:
        return None
