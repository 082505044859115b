"""Load recorded candles from what traders have on disk into numpy arrays.

Formats (detected from the header / content):
- CSV with a header naming ``open_time`` / ``timestamp_ms`` / ``timestamp`` / ``date`` / ``time``
  (ISO-8601 or epoch ms/µs/s) and ``open, high, low, close[, volume]`` (quoted or not);
- Binance kline exports (no header: open_time, o, h, l, c, v, close_time, …; ms or µs);
- freqtrade JSON (``[[ts_ms, o, h, l, c, v], …]``).
A funding file is a candle-shaped CSV whose rate sits in the ``open`` column (``funding_rate`` or
``last_funding_rate`` headers also work). Bad rows are skipped, counted and reported with their
line numbers; a file without a single good row is an error.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from quantum_trader.core.edge import normalise_symbol, parse_ts
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import MAX_TS_MS, MIN_TS_MS

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_TIME_NAMES = ("open_time", "timestamp_ms", "timestamp", "date", "time", "calc_time", "ts")


class DataFileError(InvalidInput):
    """A data file that cannot be used at all."""


@dataclass(frozen=True)
class CandleSeries:
    symbol: str
    timeframe_ms: int
    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    source: str = ""
    skipped: tuple[str, ...] = field(default=())  # "line N: reason" for each bad row (first 20)
    skipped_count: int = 0

    def __len__(self) -> int:
        return int(self.ts.size)


def _to_ms(value: str) -> int:
    text = value.strip().strip('"')
    if text.replace(".", "", 1).isdigit():
        number = float(text)
        if number > 1e17:  # nanoseconds
            number /= 1e6
        elif number > 1e14:  # microseconds (Binance spot exports since 2025)
            number /= 1e3
        elif number < 1e11:  # seconds
            number *= 1e3
        return parse_ts(int(number), "time")
    return parse_ts(text, "time")


def symbol_from_name(path: Path) -> str:
    match = re.match(r"([A-Za-z0-9]+?)(USDT|USDC|BUSD)", path.name.upper().replace("_", ""))
    if not match:
        raise DataFileError("symbol", f"cannot tell the symbol from the file name {path.name!r}")
    return normalise_symbol(match.group(1) + match.group(2))


def _layout(path: Path) -> tuple[str, int, list[int] | None]:
    """("json" | "csv", first data line number, column indices or None for a headerless
    Binance export), from the first line only."""
    with path.open(encoding="utf-8-sig") as handle:
        first = next((line for line in handle if line.strip()), "")
    if not first:
        raise DataFileError("file", f"{path} is empty")
    if first.lstrip().startswith("["):
        return "json", 1, [0, 1, 2, 3, 4, 5]
    head = [c.strip().strip('"').lower() for c in first.split(",")]
    if any(name in head for name in _TIME_NAMES):
        return "csv", 2, _columns(head, path)
    return "csv", 1, None


def _rows(path: Path, kind: str, first_line: int) -> list[list[str]]:
    text = path.read_text(encoding="utf-8-sig")
    if kind == "json":
        return [[str(x) for x in row[:6]] for row in json.loads(text)]
    lines = [line for line in text.splitlines() if line.strip()]
    return [line.split(",") for line in lines[first_line - 1 :]]


def _columns(head: list[str], path: Path) -> list[int]:
    time_col = next(head.index(n) for n in _TIME_NAMES if n in head)
    wanted = []
    for name in ("open", "high", "low", "close"):
        if name not in head:
            alt = {"open": ("funding_rate", "last_funding_rate")}.get(name, ())
            found = next((a for a in alt if a in head), None)
            if found is None:
                raise DataFileError("header", f"{path.name}: no {name!r} column in {head}")
            wanted.append(head.index(found))
        else:
            wanted.append(head.index(name))
    volume = head.index("volume") if "volume" in head else -1
    return [time_col, *wanted, volume]


def _fast(path: Path, header: bool, cols: list[int]) -> npt.NDArray[np.float64] | None:
    """numpy's C parser for all-numeric files (epoch timestamps); None when it cannot."""
    use = [c for c in cols if c >= 0]
    try:
        arr = np.loadtxt(
            path,
            delimiter=",",
            skiprows=1 if header else 0,
            usecols=use,
            dtype=np.float64,
            quotechar='"',
            ndmin=2,
        )
    except ValueError:
        return None
    if cols[5] < 0:  # no volume column
        arr = np.column_stack([arr, np.zeros(arr.shape[0])])
    return arr


def _epoch_ms(raw: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Seconds, milliseconds, microseconds or nanoseconds → milliseconds, value by value."""
    return np.where(
        raw > 1e17, raw / 1e6, np.where(raw > 1e14, raw / 1e3, np.where(raw < 1e11, raw * 1e3, raw))
    )


def _check_rows(arr: npt.NDArray[np.float64], ohlc: bool) -> npt.NDArray[np.bool_]:
    """True for rows that fail; the same rules as the row-by-row path."""
    ts, o, h, lo, c, v = arr.T
    bad = ~np.isfinite(arr).all(axis=1) | (ts < MIN_TS_MS) | (ts > MAX_TS_MS)
    if ohlc:
        with np.errstate(invalid="ignore"):
            bad |= (np.minimum(np.minimum(o, lo), c) <= 0) | (h < np.maximum(np.maximum(o, c), lo))
            bad |= (lo > np.minimum(o, c)) | (v < 0)
    out: npt.NDArray[np.bool_] = bad
    return out


def _series(
    p: Path, symbol: str | None, arr: npt.NDArray[np.float64], bad: list[str], bad_count: int
) -> CandleSeries:
    if arr.shape[0] == 0:
        raise DataFileError("file", f"{p.name}: no valid rows ({'; '.join(bad[:3])})")
    arr = arr[np.argsort(arr[:, 0], kind="stable")]
    keep = np.ones(arr.shape[0], dtype=bool)
    keep[1:] = arr[1:, 0] != arr[:-1, 0]
    arr = arr[keep]
    times: I64 = arr[:, 0].astype(np.int64)
    step = int(np.median(np.diff(times))) if times.size > 1 else 60_000
    return CandleSeries(
        symbol=symbol or symbol_from_name(p),
        timeframe_ms=step,
        ts=times,
        open=arr[:, 1].copy(),
        high=arr[:, 2].copy(),
        low=arr[:, 3].copy(),
        close=arr[:, 4].copy(),
        volume=arr[:, 5].copy(),
        source=p.name,
        skipped=tuple(bad),
        skipped_count=bad_count,
    )


def load_candles(path: str | Path, symbol: str | None = None, ohlc: bool = True) -> CandleSeries:
    """``ohlc=False`` reads a series that only borrows the candle layout (funding rates)."""
    p = Path(path)
    if not p.is_file():
        raise DataFileError("file", f"{p}: not found")
    try:
        kind, first_line, found = _layout(p)
        cols = found or [0, 1, 2, 3, 4, 5]
        fast = _fast(p, first_line == 2, cols) if kind == "csv" else None
        rows = _rows(p, kind, first_line) if fast is None else []
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError("file", f"{p.name}: unreadable ({exc})") from None
    if fast is not None:
        fast[:, 0] = np.round(_epoch_ms(fast[:, 0]))
        failed = _check_rows(fast, ohlc)
        lines = np.flatnonzero(failed) + first_line
        bad = [f"line {n}: non-finite, out-of-range or inconsistent candle" for n in lines[:20]]
        return _series(p, symbol, fast[~failed], bad, int(failed.sum()))
    good: list[tuple[int, float, float, float, float, float]] = []
    bad = []
    bad_count = 0
    for n, row in enumerate(rows, start=first_line):
        try:
            ts = _to_ms(row[cols[0]])
            o, h, lo, c = (float(row[i].strip().strip('"')) for i in cols[1:5])
            v_text = row[cols[5]].strip().strip('"') if cols[5] >= 0 else ""
            v = float(v_text) if v_text else 0.0
            if not all(math.isfinite(x) for x in (o, h, lo, c, v)):
                raise ValueError("non-finite value")
            if ohlc and (min(o, lo, c) <= 0 or h < max(o, c, lo) or lo > min(o, c) or v < 0):
                raise ValueError(f"inconsistent candle o={o} h={h} l={lo} c={c} v={v}")
            good.append((ts, o, h, lo, c, v))
        except (ValueError, IndexError, InvalidInput) as exc:
            bad_count += 1
            if len(bad) < 20:
                bad.append(f"line {n}: {exc}")
    arr = np.array(good, dtype=np.float64).reshape(-1, 6)
    return _series(p, symbol, arr, bad, bad_count)


@dataclass(frozen=True)
class FundingSeries:
    ts: I64
    rate: F64

    def rate_at(self, ts: int) -> float:
        """The latest published rate at or before ``ts`` (0 before the first)."""
        i = int(np.searchsorted(self.ts, ts, side="right")) - 1
        return float(self.rate[i]) if i >= 0 else 0.0


def load_funding(path: str | Path) -> FundingSeries:
    series = load_candles(path, symbol="FUNDING/USDT:USDT", ohlc=False)
    rate = series.open
    if np.any(np.abs(rate) > 0.05):
        raise DataFileError("funding", f"{Path(path).name}: rates beyond ±5 % — wrong column?")
    return FundingSeries(series.ts, rate)
