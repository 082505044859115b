"""Load recorded candles from what traders have on disk into numpy arrays.

Formats (from the file's name, then its header / content; :mod:`formats` reads them):
- CSV with a header naming ``open_time`` / ``timestamp_ms`` / ``timestamp`` / ``date`` / ``time``
  (ISO-8601 or epoch ms/µs/s) and ``open, high, low, close[, volume]`` (quoted or not), plain,
  gzipped or as the one CSV of a Binance Vision zip;
- Binance kline exports (no header: open_time, o, h, l, c, v, close_time, …; s, ms or µs);
- freqtrade JSON (``[[ts_ms, o, h, l, c, v], …]``, also ``.json.gz``), feather and parquet.
The symbol comes from ``symbol=`` or the name: ``BTCUSDT-1m-2023-03.csv``, freqtrade's
``BTC_USDT-1m.feather`` / ``BTC_USDT_USDT-1h-futures.feather``, an exchange prefix
(``binance_BTCUSDC_1m.csv``) dropped.
A funding file is a candle-shaped CSV whose rate sits in the ``open`` column (``funding_rate`` or
``last_funding_rate`` headers also work). Bad rows are skipped, counted and reported with their
line numbers; a file without a single good row is an error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from quantum_trader.core.edge import normalise_symbol, parse_ts
from quantum_trader.core.errors import InvalidInput
from quantum_trader.core.types import MAX_TS_MS, MIN_TS_MS
from quantum_trader.feeds.formats import (
    TABLES,
    DataFileError,
    epoch_ms,
    json_rows,
    kind_of,
    read_table,
    read_text,
)

__all__ = ["CandleSeries", "DataFileError", "FundingSeries", "load_candles", "load_funding"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_TIME_NAMES = ("open_time", "timestamp_ms", "timestamp", "date", "time", "calc_time", "ts")


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
    skipped_count: int = 0  # rows refused: unparsable, inconsistent, conflicting, quarantined
    duplicates: int = 0  # identical repeated rows dropped

    def __len__(self) -> int:
        return int(self.ts.size)

    def between(self, start: int | None, end: int | None) -> CandleSeries:
        """The candles opening in [``start``, ``end``) — None: unbounded — as views of these
        (the loader's times are sorted and unique), so a window copies no column."""
        lo = 0 if start is None else int(np.searchsorted(self.ts, start, side="left"))
        hi = len(self) if end is None else int(np.searchsorted(self.ts, end, side="left"))
        if (lo, hi) == (0, len(self)):
            return self
        cut = slice(lo, max(lo, hi))
        return replace(
            self,
            ts=self.ts[cut],
            open=self.open[cut],
            high=self.high[cut],
            low=self.low[cut],
            close=self.close[cut],
            volume=self.volume[cut],
        )


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


_EXCHANGES = ("binanceusdm", "binance", "bybit", "okx", "bitget", "kraken", "kucoin", "gate")
_QUOTES = ("USDT", "USDC", "BUSD", "BTC", "ETH", "EUR", "USD")
_QUOTES_LONGEST = sorted(_QUOTES, key=len, reverse=True)


def symbol_from_name(path: Path) -> str:
    """``BTCUSDT-1m-2023-03.csv``, ``BTC_USDT-1m.feather``, ``BTC_USDT_USDT-1h-futures.feather``
    and ``binance_BTCUSDC_1m.csv`` name their markets; a market that is not USDT/USDC-margined
    is named in the error, as is a name that says nothing."""
    name = path.name.split(".")[0]
    for ex in _EXCHANGES:  # an exchange prefix: binance_BTCUSDC_…
        if name.lower().startswith(ex + "_"):
            name = name[len(ex) + 1 :]
            break
    pair = name.split("-")[0]
    parts = [x for x in pair.upper().split("_") if x]
    if len(parts) >= 2 and parts[0].isalnum() and parts[1].isalnum() and parts[1][0].isalpha():
        text = f"{parts[0]}/{parts[1]}"  # freqtrade: BASE_QUOTE[_SETTLE]
    else:  # BASEQUOTE: the first token that ends with a known quote, the longest first
        tokens = [t for t in re.split(r"[_\-]", name.upper()) if t.isalnum()]
        text = next(
            (t for t in tokens for q in _QUOTES_LONGEST if t.endswith(q) and len(t) > len(q)),
            "",
        )
        if not text:
            raise DataFileError(
                "symbol", f"cannot tell the symbol from the file name {path.name!r} (--symbol)"
            )
    try:
        symbol = normalise_symbol(text)
    except InvalidInput:
        symbol = ""
    if symbol.split(":")[-1] not in ("USDT", "USDC"):
        raise DataFileError(
            "symbol", f"{path.name}: {text} is not a USDT/USDC-margined perpetual (--symbol)"
        )
    return symbol


def timeframe_from_name(path: Path) -> str | None:
    """``1m``, ``15m``, ``1h`` … from the name (``BTC_USDT-15m.feather``), if it says."""
    match = re.search(r"[-_](\d+[mhdw])(?=[-_.])", path.name)
    return match.group(1) if match else None


def _head(path: Path, size: int = 65_536) -> str:
    """The start of a file, enough for its header and first rows."""
    with path.open("rb") as handle:
        start = handle.read(size)
    try:
        return start.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError as exc:
        if exc.start < len(start) - 4:  # not a multi-byte character cut at the end
            return read_text(path)  # the whole file's decoding error, with its name
        return start[: exc.start].decode("utf-8-sig")


def _layout(path: Path, text: str) -> tuple[str, int, list[int] | None]:
    """("json" | "csv", first data line number, column indices or None for a headerless
    Binance export), from the first line only."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise DataFileError("file", f"{path.name} is empty")
    if first.lstrip().startswith("["):
        return "json", 1, [0, 1, 2, 3, 4, 5]
    head = [c.strip().strip('"').lower() for c in first.split(",")]
    if any(name in head for name in _TIME_NAMES):
        return "csv", 2, _columns(head, path)
    return "csv", 1, None


def _rows(path: Path, text: str, kind: str, first_line: int) -> list[list[str]]:
    if kind == "json":
        return json_rows(path, text)
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


def _fast(source: Path | str, header: bool, cols: list[int]) -> npt.NDArray[np.float64] | None:
    """pyarrow's CSV reader (columnar, multithreaded) for all-numeric files (epoch timestamps);
    None when a used column is not all numbers (ISO dates, stray text: the row-by-row path reads
    those, naming each bad row). ``source``: a plain CSV's path, or the text of one."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    use = [c for c in cols if c >= 0]
    data = source if isinstance(source, Path) else pa.py_buffer(source.encode())
    try:
        table = pcsv.read_csv(
            data,
            read_options=pcsv.ReadOptions(autogenerate_column_names=True, skip_rows=int(header)),
            parse_options=pcsv.ParseOptions(quote_char='"'),
            memory_pool=pa.system_memory_pool(),  # freed to malloc, which can give it back
        )
    except (pa.ArrowInvalid, OSError):
        return None
    if table.num_columns <= max(use):
        return None
    columns = []
    for c in use:
        col = table.column(c)
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
            return None  # not all numbers
        columns.append(col.to_numpy(zero_copy_only=False).astype(np.float64))
    if cols[5] < 0:  # no volume column
        columns.append(np.zeros(table.num_rows))
    out: npt.NDArray[np.float64] = np.column_stack(columns) if table.num_rows else np.zeros((0, 6))
    return out


def _check_rows(arr: npt.NDArray[np.float64], ohlc: bool) -> npt.NDArray[np.bool_]:
    """True for rows that fail; the same rules as the row-by-row path."""
    ts, o, h, lo, c, v = arr.T
    bad = ~np.isfinite(arr).all(axis=1) | (ts < MIN_TS_MS) | (ts > MAX_TS_MS)
    if ohlc:
        with np.errstate(invalid="ignore"):
            bad |= (np.minimum(np.minimum(o, lo), c) <= 0) | (h < np.maximum(np.maximum(o, c), lo))
            bad |= (lo > np.minimum(o, c)) | (v < 0) | (h > MAX_PRICE)
    out: npt.NDArray[np.bool_] = bad
    return out


MAX_JUMP = 5.0  # a close beyond 5× (or under 1/5 of) the last good one is not a market move
MAX_PRICE = 1e12  # USDT: no market trades above it; 1e300 is a corrupt file, not a price


def _duplicates(arr: F64, lines: I64, bad: list[str]) -> tuple[F64, I64, int, int]:
    """Sorted by time: identical repeats are dropped (counted), conflicting ones all refused."""
    _, start, count = np.unique(arr[:, 0], return_index=True, return_counts=True)
    if (count == 1).all():
        return arr, lines, 0, 0
    drop = np.zeros(arr.shape[0], dtype=bool)
    identical = conflicting = 0
    for i, n in zip(start[count > 1], count[count > 1], strict=True):
        group = arr[i : i + n]
        if (group == group[0]).all():
            drop[i + 1 : i + n], identical = True, identical + n - 1
            continue
        drop[i : i + n], conflicting = True, conflicting + n
        if len(bad) < 20:
            others = ", ".join(str(x) for x in lines[i + 1 : i + n])
            bad.append(f"line {lines[i]}: conflicting duplicates (lines {others}), all refused")
    return arr[~drop], lines[~drop], int(identical), int(conflicting)


def _jumps(arr: F64, lines: I64, max_jump: float, bad: list[str]) -> tuple[F64, I64, int]:
    """A candle whose close jumps beyond ``max_jump``× the last good close, or whose range
    spans more than that (high / low), is quarantined; the next candles compare with the last
    good one."""
    close, high, low = arr[:, 4], arr[:, 2], arr[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = close[1:] / close[:-1]
        wide = high / low > max_jump
    suspect = np.flatnonzero(wide | np.r_[False, (ratio > max_jump) | (ratio < 1 / max_jump)])
    out = np.zeros(arr.shape[0], dtype=bool)
    for j in suspect:
        p = j - 1
        while p >= 0 and out[p]:
            p -= 1
        r = close[j] / close[p] if p >= 0 else 1.0
        if wide[j] or not 1 / max_jump <= r <= max_jump:
            out[j] = True
            if len(bad) < 20:
                what = f"range ×{high[j] / low[j]:.3g}" if wide[j] else f"jump ×{r:.3g}"
                bad.append(f"line {lines[j]}: {what} beyond {max_jump:g}×, quarantined")
    return arr[~out], lines[~out], int(out.sum())


def _series(
    p: Path,
    symbol: str | None,
    arr: F64,
    lines: I64,
    bad: list[str],
    bad_count: int,
    ohlc: bool = True,
    max_jump: float = MAX_JUMP,
) -> CandleSeries:
    if arr.shape[0] == 0:
        raise DataFileError("file", f"{p.name}: no valid rows ({'; '.join(bad[:3])})")
    order = np.argsort(arr[:, 0], kind="stable")
    arr, lines = arr[order], lines[order]
    arr, lines, identical, conflicting = _duplicates(arr, lines, bad)
    quarantined = 0
    if ohlc and arr.shape[0]:
        arr, lines, quarantined = _jumps(arr, lines, max_jump, bad)
    if arr.shape[0] == 0:
        raise DataFileError("file", f"{p.name}: no valid rows ({'; '.join(bad[:3])})")
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
        skipped_count=bad_count + conflicting + quarantined,
        duplicates=identical,
    )


def load_candles(
    path: str | Path, symbol: str | None = None, ohlc: bool = True, max_jump: float = MAX_JUMP
) -> CandleSeries:
    """``ohlc=False`` reads a series that only borrows the candle layout (funding rates). A
    parsed file is kept (:mod:`cache`) and read back from there while its bytes are unchanged."""
    from quantum_trader.feeds.cache import cached

    p = Path(path)
    if not p.is_file():
        raise DataFileError("file", f"{p}: not found")
    options = f"{symbol}|{ohlc}|{max_jump!r}"
    return cached(p, options, lambda: _parse(p, symbol, ohlc, max_jump))


def _parse(p: Path, symbol: str | None, ohlc: bool, max_jump: float) -> CandleSeries:
    if kind_of(p) in TABLES:
        table = read_table(p, ohlc)
        return _checked(p, symbol, table, ohlc, 1, "row", max_jump)
    plain = kind_of(p) in (".csv", ".txt")
    text = _head(p) if plain else read_text(p)  # a plain CSV's layout is in its first line
    kind, first_line, found = _layout(p, text)
    if kind_of(p) in (".json", ".json.gz"):
        kind, first_line, found = "json", 1, [0, 1, 2, 3, 4, 5]
    cols = found or [0, 1, 2, 3, 4, 5]
    fast = _fast(p if plain else text, first_line == 2, cols) if kind == "csv" else None
    if fast is not None:
        return _checked(p, symbol, fast, ohlc, first_line, "line", max_jump)
    rows = _rows(p, read_text(p) if plain else text, kind, first_line)
    good: list[tuple[int, float, float, float, float, float]] = []
    numbers: list[int] = []
    bad: list[str] = []
    bad_count = 0
    for n, row in enumerate(rows, start=first_line):
        try:
            ts = _to_ms(row[cols[0]])
            o, h, lo, c = (float(row[i].strip().strip('"')) for i in cols[1:5])
            v_text = row[cols[5]].strip().strip('"') if cols[5] >= 0 else ""
            v = float(v_text) if v_text else 0.0
            if not all(math.isfinite(x) for x in (o, h, lo, c, v)):
                raise ValueError("non-finite value")
            if ohlc and h > MAX_PRICE:
                raise ValueError(f"price {h:g} beyond {MAX_PRICE:g}")
            if ohlc and (min(o, lo, c) <= 0 or h < max(o, c, lo) or lo > min(o, c) or v < 0):
                raise ValueError(f"inconsistent candle o={o} h={h} l={lo} c={c} v={v}")
            good.append((ts, o, h, lo, c, v))
            numbers.append(n)
        except (ValueError, IndexError, InvalidInput) as exc:
            bad_count += 1
            if len(bad) < 20:
                bad.append(f"line {n}: {exc}")
    arr = np.array(good, dtype=np.float64).reshape(-1, 6)
    lines = np.array(numbers, dtype=np.int64)
    return _series(p, symbol, arr, lines, bad, bad_count, ohlc, max_jump)


def _checked(
    p: Path, symbol: str | None, arr: F64, ohlc: bool, first: int, unit: str, max_jump: float
) -> CandleSeries:
    arr[:, 0] = np.round(epoch_ms(arr[:, 0]))
    failed = _check_rows(arr, ohlc)
    numbers = np.arange(arr.shape[0], dtype=np.int64) + first
    bad = [
        f"{unit} {n}: non-finite, out-of-range or inconsistent candle" for n in numbers[failed][:20]
    ]
    return _series(
        p, symbol, arr[~failed], numbers[~failed], bad, int(failed.sum()), ohlc, max_jump
    )


@dataclass(frozen=True)
class FundingSeries:
    ts: I64
    rate: F64

    def rate_at(self, ts: int) -> float:
        """The latest published rate at or before ``ts`` (0 before the first)."""
        i = int(np.searchsorted(self.ts, ts, side="right")) - 1
        return float(self.rate[i]) if i >= 0 else 0.0


#: a funding record stamped this soon after a whole minute belongs to that minute (Binance stamps
#: its records a few ms after the funding time: +4…+17 ms in the shared file)
FUNDING_STAMP_TOLERANCE_MS = 1_000


def load_funding(path: str | Path) -> FundingSeries:
    """Funding rates by time, each matched to its funding time: a record stamped within
    :data:`FUNDING_STAMP_TOLERANCE_MS` after a whole minute is that minute's (far less than a
    bar, so no rate is known before it was published)."""
    series = load_candles(path, symbol="FUNDING/USDT:USDT", ohlc=False)
    rate = series.open
    if np.any(np.abs(rate) > 0.05):
        raise DataFileError("funding", f"{Path(path).name}: rates beyond ±5 % — wrong column?")
    late = series.ts % 60_000
    ts = np.where(late < FUNDING_STAMP_TOLERANCE_MS, series.ts - late, series.ts)
    return FundingSeries(ts.astype(np.int64), rate)
