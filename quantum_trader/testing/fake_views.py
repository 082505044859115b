"""What the fake Binance server answers about its account: exchange info, positions, balances —
in Binance USDⓈ-M's own JSON shapes (the fields ccxt reads)."""

from __future__ import annotations

import time
from typing import Any

from quantum_trader.testing.fake_book import Account


def exchange_info(a: Account) -> dict[str, Any]:
    symbols = []
    for m in a.markets.values():
        symbols.append(
            {
                "symbol": m.symbol,
                "pair": m.symbol,
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": 1569398400000,
                "status": "TRADING",
                "baseAsset": m.base,
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
                "pricePrecision": max(0, -int(f"{m.tick:e}".split("e")[1])),
                "quantityPrecision": max(0, -int(f"{m.step:e}".split("e")[1])),
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "triggerProtect": "0.0500",
                "liquidationFee": "0.012500",
                "marketTakeBound": "0.05",
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": f"{m.tick}",
                        "maxPrice": "4529764",
                        "tickSize": f"{m.tick}",
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": f"{m.min_qty}",
                        "maxQty": "1000",
                        "stepSize": f"{m.step}",
                    },
                    {
                        "filterType": "MARKET_LOT_SIZE",
                        "minQty": f"{m.min_qty}",
                        "maxQty": "120",
                        "stepSize": f"{m.step}",
                    },
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                    {"filterType": "MIN_NOTIONAL", "notional": f"{m.min_notional:g}"},
                ],
                "orderTypes": [
                    "LIMIT",
                    "MARKET",
                    "STOP",
                    "STOP_MARKET",
                    "TAKE_PROFIT",
                    "TAKE_PROFIT_MARKET",
                    "TRAILING_STOP_MARKET",
                ],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
            }
        )
    return {
        "timezone": "UTC",
        "serverTime": int(time.time() * 1000),
        "rateLimits": [],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True}],
        "symbols": symbols,
    }


def positions(a: Account, symbol: str | None) -> list[dict[str, Any]]:
    out = []
    for name, p in a.positions.items():
        if symbol not in (None, name):
            continue
        mark = a.markets[name].price
        out.append(
            {
                "symbol": name,
                "positionSide": "BOTH",
                "positionAmt": f"{p.qty:.8g}",
                "entryPrice": f"{p.entry:.8f}",
                "breakEvenPrice": f"{p.entry:.8f}",
                "markPrice": f"{mark:.8f}",
                "unRealizedProfit": f"{a.unrealised(name):.8f}",
                "liquidationPrice": "0",
                "isolatedMargin": f"{p.margin:.8f}" if p.isolated else "0",
                "notional": f"{p.qty * mark:.8f}",
                "marginAsset": "USDT",
                "isolatedWallet": f"{p.margin:.8f}" if p.isolated else "0",
                "initialMargin": f"{abs(p.qty) * mark / p.leverage:.8f}",
                "maintMargin": "0",
                "positionInitialMargin": f"{abs(p.qty) * mark / p.leverage:.8f}",
                "openOrderInitialMargin": "0",
                "adl": 0,
                "bidNotional": "0",
                "askNotional": "0",
                "updateTime": p.updated,
                "leverage": str(p.leverage),  # v2 field, kept for old clients
                "marginType": "isolated" if p.isolated else "cross",
            }
        )
    return out


def usdt_balance(a: Account) -> dict[str, Any]:
    upnl = sum(a.unrealised(s) for s in a.positions)
    available = a.wallet - a.used_margin() + min(0.0, upnl)
    return {
        "asset": "USDT",
        "walletBalance": f"{a.wallet:.8f}",
        "unrealizedProfit": f"{upnl:.8f}",
        "marginBalance": f"{a.wallet + upnl:.8f}",
        "maintMargin": "0",
        "initialMargin": f"{a.used_margin():.8f}",
        "positionInitialMargin": f"{a.used_margin():.8f}",
        "openOrderInitialMargin": "0",
        "crossWalletBalance": f"{a.wallet - a.used_margin():.8f}",
        "crossUnPnl": "0",
        "availableBalance": f"{available:.8f}",
        "maxWithdrawAmount": f"{available:.8f}",
        "balance": f"{a.wallet:.8f}",
        "updateTime": a.now_ms,
    }


def account_info(a: Account) -> dict[str, Any]:
    usdt = usdt_balance(a)
    return {
        "totalWalletBalance": usdt["walletBalance"],
        "totalUnrealizedProfit": usdt["unrealizedProfit"],
        "totalMarginBalance": usdt["marginBalance"],
        "availableBalance": usdt["availableBalance"],
        "maxWithdrawAmount": usdt["maxWithdrawAmount"],
        "assets": [usdt],
        "positions": [],
    }
