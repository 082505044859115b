"""Parsing of edge formats into core types.

Messages arrive from HTTP engines, Redis, files and the command line with ``BUY``/``SELL`` sides,
ISO-8601 timestamps, numeric strings and the occasional NaN. Everything is normalised here, once,
with an :class:`InvalidInput` that names the field and the problem.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.intent import TradeIntent
from quantum_trader.core.types import Regime, Side, check_ts

_SIDES = {"LONG": Side.LONG, "BUY": Side.LONG, "SHORT": Side.SHORT, "SELL": Side.SHORT}
_QUOTES = ("USDT", "USDC", "BUSD")


def parse_side(value: object, field: str = "side") -> Side:
    """``BUY``/``LONG`` → LONG, ``SELL``/``SHORT`` → SHORT, any case."""
    if isinstance(value, Side):
        return value
    if isinstance(value, str) and value.strip().upper() in _SIDES:
        return _SIDES[value.strip().upper()]
    raise InvalidInput(field, f"expected LONG/SHORT/BUY/SELL, got {value!r}")


def parse_ts(value: object, field: str = "ts") -> int:
    """Epoch milliseconds from an int, an integral float, a digit string or ISO-8601.

    ISO strings without an offset are taken as UTC (what exchange exports write).
    """
    if isinstance(value, bool):
        raise InvalidInput(field, f"expected a timestamp, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise InvalidInput(field, f"expected integral epoch milliseconds, got {value!r}")
        return check_ts(field, int(value))
    if isinstance(value, int):
        return check_ts(field, value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return check_ts(field, int(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(field, f"not ISO-8601 nor epoch ms: {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return check_ts(field, round(moment.timestamp() * 1000))
    raise InvalidInput(field, f"expected a timestamp, got {type(value).__name__} {value!r}")


def parse_number(value: object, field: str) -> float:
    """A finite float from a number or a numeric string; NaN/inf/bool/other types rejected."""
    if isinstance(value, bool):
        raise InvalidInput(field, f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise InvalidInput(field, f"expected a number, got {value!r}") from None
    else:
        raise InvalidInput(field, f"expected a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(out):
        raise InvalidInput(field, f"must be finite, got {value!r}")
    return out


def normalise_symbol(value: object, field: str = "symbol") -> str:
    """Unified ccxt linear-perp form: ``BTCUSDT``, ``btc/usdt:usdt`` → ``BTC/USDT:USDT``."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"expected a symbol string, got {value!r}")
    text = value.strip().upper().replace("-PERP", "").replace("_PERP", "")
    if "/" in text:
        base, _, rest = text.partition("/")
        quote, _, settle = rest.partition(":")
        settle = settle or quote
    else:
        quote = next((q for q in _QUOTES if text.endswith(q) and len(text) > len(q)), "")
        if not quote:
            raise InvalidInput(field, f"cannot tell base from quote in {value!r}")
        base, settle = text[: -len(quote)], quote
    if not base.isalnum() or not quote.isalnum() or settle != quote:
        raise InvalidInput(field, f"not a linear perpetual symbol: {value!r}")
    return f"{base}/{quote}:{settle}"


_REQUIRED = (
    "intent_id",
    "ts",
    "symbol",
    "side",
    "confidence",
    "entry_price",
    "stop_loss",
    "take_profit",
    "margin_usd",
    "leverage",
)
_NUMBERS = ("confidence", "entry_price", "stop_loss", "take_profit", "margin_usd", "leverage")
_OPTIONAL_NUMBERS = {
    "atr_value": 0.0,
    "volatility": 1.0,
    "exchange_divergence": 0.0,
    "funding_rate": 0.0,
}


def _text(raw: Mapping[str, object], key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise InvalidInput(key, f"expected a string, got {type(value).__name__} {value!r}")
    return value


def parse_trade_intent(
    raw: Mapping[str, object], known_symbols: Collection[str] | None = None
) -> TradeIntent:
    """Validate a ``trade.intent`` payload from the edge into a :class:`TradeIntent`.

    Accepts ``volatility_factor`` as an alias of ``volatility`` (the seeds' name).
    """
    if not isinstance(raw, Mapping):
        raise InvalidInput("trade.intent", f"expected an object, got {type(raw).__name__}")
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise InvalidInput(missing[0], f"missing field (all missing: {', '.join(missing)})")
    symbol = normalise_symbol(raw["symbol"])
    if known_symbols is not None and symbol not in known_symbols:
        raise InvalidInput("symbol", f"unknown symbol {symbol!r}")
    numbers: dict[str, Any] = {key: parse_number(raw[key], key) for key in _NUMBERS}
    merged = dict(raw)
    if "volatility" not in merged and "volatility_factor" in merged:
        merged["volatility"] = merged["volatility_factor"]
    for key, default in _OPTIONAL_NUMBERS.items():
        value = merged.get(key)
        numbers[key] = default if value is None else parse_number(value, key)
    regime_text = _text(raw, "regime", Regime.NORMAL.value).upper()
    if regime_text not in Regime.__members__:
        raise InvalidInput("regime", f"expected one of {', '.join(Regime)}, got {regime_text!r}")
    return TradeIntent(
        intent_id=_text(raw, "intent_id", ""),
        ts=parse_ts(raw["ts"]),
        symbol=symbol,
        side=parse_side(raw["side"]),
        regime=Regime(regime_text),
        source=_text(raw, "source", "external"),
        reason=_text(raw, "reason", ""),
        **numbers,
    )


def iso_ms(ts_ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC (the edge's form; inside, timestamps stay integers)."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
