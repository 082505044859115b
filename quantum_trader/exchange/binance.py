"""Binance USDⓈ-M through ccxt (``ccxt.pro.binanceusdm``): the generic adapter
(:mod:`exchange.ccxt_futures`) plus what is Binance's own.

- Hard stops are STOP_MARKET ``closePosition`` orders triggered on the MARK price; ccxt ≥ 4.5.27
  routes them to the algo-order API (the plain order endpoint answers -4120 since Dec 2025).
  Their ids are algo ids; a triggered one executes as a child order, whose trades are the stop's.
- A request not executed within its ``recvWindow`` never will be (Binance rejects it): that is the
  order expiry. A duplicate client id is -4116; "already isolated" is -4046.
- The balance is the USDT asset's wallet and margin balances from Binance's own account fields.
- Fills are found by REST polling, hastened by the websocket streams
  (:mod:`exchange.binance_fills`, :mod:`exchange.binance_streams`).
"""

from __future__ import annotations

from typing import Any

from quantum_trader.core.types import Fill, OrderSide
from quantum_trader.exchange.base import Balance, Order, OrderStatus
from quantum_trader.exchange.binance_fills import Resting
from quantum_trader.exchange.binance_orders import ALGO_STATUS, algo_order
from quantum_trader.exchange.ccxt_futures import (
    DUPLICATE,
    NOT_FOUND,
    CcxtFutures,
    StopProgress,
    unified_balance,
)


class BinanceUsdm(CcxtFutures):
    """``client`` is a ``ccxt.pro.binanceusdm`` (see :mod:`exchange.binance_client`)."""

    duplicate_codes = (*DUPLICATE, "-4116")
    mode_set_codes = ("-4046",)  # "No need to change margin type": already isolated
    not_found_codes = (*NOT_FOUND, "-2013", "-2011")
    hedge_hint = ": Binance → Futures → Preferences → Position Mode"

    def __init__(
        self, client: Any, name: str, read_retries: int = 4, sweep_s: float = 30.0
    ) -> None:
        super().__init__(client, name, read_retries, sweep_s)
        window = int(client.options.get("recvWindow") or 5_000)
        self.order_expiry_ms = window + 1_000  # plus clock skew and transit

    async def create_stop_market(
        self, symbol: str, side: OrderSide, stop_price: float, client_id: str
    ) -> Order:
        trigger = float(self.client.price_to_precision(symbol, stop_price))
        params = {
            "triggerPrice": trigger,
            "closePosition": True,
            "workingType": "MARK_PRICE",
            "clientOrderId": client_id,
        }
        raw = await self._create(
            client_id,
            lambda: self.client.create_order(
                symbol, "STOP_MARKET", side.value.lower(), None, None, params
            ),
            symbol,
        )
        order = algo_order(raw)
        await self.track(order)
        return order

    def parse_stop(self, raw: dict[str, Any]) -> Order:
        return algo_order(raw)

    def is_stop(self, raw: dict[str, Any]) -> bool:
        return "algoId" in (raw.get("info") or {})

    async def stop_progress(self, order_id: str, r: Resting) -> StopProgress:
        """The algo order's status; once triggered, its child order's fills."""
        raw = await self.fetch_raw(order_id, r.symbol, algo=True)
        info = raw.get("info") or {}
        status = ALGO_STATUS.get(str(info.get("algoStatus")), OrderStatus.NEW)
        actual = str(info.get("actualOrderId") or "")
        if status.live and status is not OrderStatus.PARTIALLY_FILLED:
            return StopProgress(r.reported, 0.0, r.fee_reported, 0, False)
        if not actual:  # cancelled or expired untriggered
            return StopProgress(r.reported, 0.0, r.fee_reported, 0, True)
        child = await self.settled(r.symbol, {"id": actual, "status": "open"})
        done = not child.status.live
        if child.filled_qty - r.reported <= 1e-12:
            return StopProgress(r.reported, 0.0, r.fee_reported, child.ts, done)
        fee = await self.fees(r.symbol, actual)
        price = child.avg_price or child.price
        return StopProgress(child.filled_qty, price, fee, child.ts, done)

    # ------------------------------------------------------------------ streams
    def note_order(self, update: dict[str, Any]) -> list[Fill]:
        """A user-data stream update: the fills it carries whole (booked from the stream)."""
        self.fills.note_order(update)
        return self.fills.take_streamed()

    def note_price(self, symbol: str, mark: float) -> None:
        self.fills.note_price(symbol, mark)

    # ------------------------------------------------------------------ account
    async def fetch_balance(self) -> Balance:
        raw = await self._call("balance", lambda: self.client.fetch_balance())
        assets = (raw.get("info") or {}).get("assets") or []
        usdt = next((a for a in assets if a.get("asset") == "USDT"), None)
        if usdt is None:
            return unified_balance(raw)
        return Balance(
            float(usdt["walletBalance"]),
            float(usdt["marginBalance"]),
            float(usdt.get("positionInitialMargin") or usdt.get("initialMargin") or 0.0),
            float(usdt["availableBalance"]),
        )
