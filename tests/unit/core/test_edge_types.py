"""Domain types and edge parsing: BUY/SELL, ISO timestamps, NaN and range errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from quantum_trader.core.edge import (
    normalise_symbol,
    parse_number,
    parse_side,
    parse_trade_intent,
    parse_ts,
)
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import Candle, Consensus, Fill, OrderSide, Regime, Side, Signal

GOOD: dict[str, Any] = {
    "intent_id": "i-1",
    "ts": "2023-03-01T00:00:00+00:00",
    "symbol": "BTCUSDT",
    "side": "BUY",
    "confidence": 0.8,
    "entry_price": 50_000,
    "stop_loss": 49_500,
    "take_profit": 51_000,
    "margin_usd": 200,
    "leverage": 13,
    "atr_value": 120.5,
    "volatility_factor": 1.1,
    "exchange_divergence": 0.001,
    "funding_rate": "0.0001",
    "regime": "trending",
}


def test_parse_good_intent() -> None:
    intent = parse_trade_intent(GOOD)
    assert intent.side is Side.LONG
    assert intent.ts == 1_677_628_800_000
    assert intent.symbol == "BTC/USDT:USDT"
    assert intent.volatility == 1.1
    assert intent.funding_rate == 0.0001
    assert intent.regime is Regime.TRENDING
    assert intent.source == "external"


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"entry_price": math.nan}, "entry_price", "must be finite"),
        ({"entry_price": "nan"}, "entry_price", "must be finite"),
        ({"confidence": 1.7}, "confidence", "must be in [0, 1]"),
        ({"side": "UP"}, "side", "expected LONG/SHORT/BUY/SELL"),
        ({"symbol": "BTCEUR"}, "symbol", "cannot tell base from quote"),
        ({"leverage": [13]}, "leverage", "expected a number"),
        ({"leverage": True}, "leverage", "expected a number"),
        ({"ts": 1_677_628_800}, "ts", "seconds instead of milliseconds"),
        ({"ts": "yesterday"}, "ts", "not ISO-8601"),
        ({"stop_loss": 50_500}, "stop_loss", "LONG needs stop_loss < entry_price"),
        ({"regime": "SIDEWAYS"}, "regime", "expected one of"),
        ({"reason": 5}, "reason", "expected a string"),
        ({"margin_usd": -200}, "margin_usd", "must be > 0"),
    ],
)
def test_bad_intents_name_the_field(change: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_trade_intent({**GOOD, **change})
    assert info.value.field == field
    assert fragment in str(info.value)


def test_missing_fields_are_listed() -> None:
    raw = {k: v for k, v in GOOD.items() if k not in ("entry_price", "leverage")}
    with pytest.raises(InvalidInput, match="missing field .all missing: entry_price, leverage"):
        parse_trade_intent(raw)


def test_unknown_symbol() -> None:
    with pytest.raises(InvalidInput, match="unknown symbol 'BTC/USDT:USDT'"):
        parse_trade_intent(GOOD, known_symbols={"ETH/USDT:USDT"})


def test_not_a_mapping() -> None:
    with pytest.raises(InvalidInput, match="expected an object"):
        parse_trade_intent(["nope"])  # type: ignore[arg-type]


def test_short_intent_geometry() -> None:
    raw = {**GOOD, "side": "sell", "stop_loss": 50_500, "take_profit": 49_000}
    assert parse_trade_intent(raw).side is Side.SHORT


def test_sides() -> None:
    assert parse_side("buy") is Side.LONG and parse_side(" SELL ") is Side.SHORT
    assert parse_side(Side.SHORT) is Side.SHORT
    assert Side.LONG.sign == 1 and Side.SHORT.sign == -1 and Side.LONG.opposite is Side.SHORT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_677_628_800_000, 1_677_628_800_000),
        (1_677_628_800_000.0, 1_677_628_800_000),
        ("1677628800000", 1_677_628_800_000),
        ("2023-03-01T00:00:00Z", 1_677_628_800_000),
        ("2023-03-01T01:00:00+01:00", 1_677_628_800_000),
        ("2023-03-01 00:00:00", 1_677_628_800_000),
    ],
)
def test_timestamps(value: object, expected: int) -> None:
    assert parse_ts(value) == expected


def test_bad_timestamps() -> None:
    for bad in (1.5e12 + 0.5, math.nan, True, None):
        with pytest.raises(InvalidInput, match="ts"):
            parse_ts(bad)


def test_numbers() -> None:
    assert parse_number(" 1.5 ", "x") == 1.5
    with pytest.raises(InvalidInput, match="x: must be finite"):
        parse_number("inf", "x")
    with pytest.raises(InvalidInput, match="x: expected a number"):
        parse_number("abc", "x")


@pytest.mark.parametrize(
    "raw", ["BTCUSDT", "btc/usdt", "BTC/USDT:USDT", "BTCUSDT-PERP", "btc_perp/usdt"]
)
def test_symbol_normalisation(raw: str) -> None:
    assert normalise_symbol(raw) == "BTC/USDT:USDT"


def test_symbol_rejections() -> None:
    with pytest.raises(InvalidInput, match="not a linear perpetual"):
        normalise_symbol("BTC/USD:BTC")
    with pytest.raises(InvalidInput, match="expected a symbol string"):
        normalise_symbol("")


def test_candle_validation() -> None:
    Candle(ts=1_677_628_800_000, open=10, high=12, low=9, close=11, volume=5)
    with pytest.raises(InvalidInput, match="candle.high"):
        Candle(ts=1_677_628_800_000, open=10, high=10.5, low=9, close=11, volume=5)
    with pytest.raises(InvalidInput, match="candle.close: must be finite"):
        Candle(ts=1_677_628_800_000, open=10, high=12, low=9, close=math.nan, volume=5)
    with pytest.raises(InvalidInput, match="candle.volume"):
        Candle(ts=1_677_628_800_000, open=10, high=12, low=9, close=11, volume=-1)


def test_signal_and_fill_validation() -> None:
    with pytest.raises(InvalidInput, match="signal.confidence"):
        Signal("BTC", Side.LONG, 1.2, Consensus.STRONG, 1_677_628_800_000)
    with pytest.raises(InvalidInput, match="fill.qty"):
        Fill("o1", "c1", "BTC", OrderSide.BUY, 0.0, 100.0, 0.1, 1_677_628_800_000)
