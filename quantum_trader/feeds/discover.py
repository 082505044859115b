"""``--datadir DIR``: the candle files of a data directory (freqtrade's layout, Binance Vision
downloads, or a folder of CSVs), one per symbol, with the funding-rate files beside them.

A file's market and timeframe come from its name (:func:`loader.symbol_from_name`,
:func:`loader.timeframe_from_name`); mark-price files are left out, funding-rate files
(``…-funding_rate…``, ``…funding…``) are paired by symbol. For ``--timeframe TF`` a symbol's file
of that timeframe is taken, else its finest file that TF is a whole multiple of (decided on TF
candles resampled from it); without TF, its finest file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from quantum_trader.feeds.formats import TABLES, TEXTS, DataFileError
from quantum_trader.feeds.loader import symbol_from_name, timeframe_from_name

_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def timeframe_ms(tf: str) -> int:
    match = re.fullmatch(r"(\d+)([mhdw])", tf)
    if not match:
        raise DataFileError("--timeframe", f"not a timeframe: {tf!r} (e.g. 1m, 15m, 1h)")
    return int(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class Found:
    candles: dict[str, Path] = field(default_factory=dict)  # symbol → file
    funding: dict[str, Path] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # "name: why", for the summary


def _supported(p: Path) -> bool:
    name = p.name.lower()
    return p.is_file() and name.endswith((*TABLES, *TEXTS))


def discover(root: Path, timeframe: str | None = None, symbols: set[str] | None = None) -> Found:
    if not root.is_dir():
        raise DataFileError("--datadir", f"{root}: not a directory")
    want = timeframe_ms(timeframe) if timeframe else None
    found, options = Found(), dict[str, list[tuple[int, Path]]]()
    for p in sorted(x for x in root.rglob("*") if _supported(x)):
        lower = p.name.lower()
        try:
            symbol = symbol_from_name(p)
        except DataFileError as exc:
            found.ignored.append(f"{p.name}: {exc.problem}")
            continue
        if symbols is not None and symbol not in symbols:
            continue
        if "funding" in lower:
            found.funding[symbol] = p
            continue
        if "-mark" in lower or "_mark" in lower:
            continue
        tf = timeframe_from_name(p)
        if tf is None:
            found.ignored.append(f"{p.name}: no timeframe in the name")
            continue
        options.setdefault(symbol, []).append((timeframe_ms(tf), p))
    for symbol, files in options.items():
        files.sort()
        if want is None:
            found.candles[symbol] = files[0][1]
            continue
        exact = [p for ms, p in files if ms == want]
        finer = [p for ms, p in files if ms < want and want % ms == 0]
        if exact or finer:
            found.candles[symbol] = (exact or finer)[0]
        else:
            found.ignored.append(f"{symbol}: no file of {timeframe} or finer")
    if not found.candles:
        detail = "; ".join(found.ignored[:5]) or "no candle files"
        tf = f" for {timeframe}" if timeframe else ""
        raise DataFileError("--datadir", f"{root}: nothing to backtest{tf} ({detail})")
    return found
