"""The files traders have, read into one table of float64 rows (ts ms, open, high, low, close,
volume) — or, for the text formats, into the text the CSV reader parses.

- Arrow IPC / feather (freqtrade's default) and parquet, through pyarrow: columnar, straight into
  numpy; a ``date``/``timestamp``/``open_time``/``ts`` column as a timestamp type or epoch numbers;
- freqtrade JSON (``[[ts_ms, o, h, l, c, v], …]``), also gzipped (``.json.gz``);
- Binance Vision kline zips (one CSV inside, with or without its header) and gzipped CSVs.
An unknown format is one error naming the file and what was expected.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from quantum_trader.core.errors import InvalidInput

F64 = npt.NDArray[np.float64]
TABLES = (".feather", ".arrow", ".ipc", ".parquet")
TEXTS = (".csv", ".txt", ".csv.gz", ".zip", ".json", ".json.gz")
TIME_COLUMNS = ("date", "timestamp", "open_time", "timestamp_ms", "time", "ts", "calc_time")
EXPECTED = "CSV, freqtrade JSON (.json, .json.gz), feather/Arrow, parquet or a Binance Vision zip"


class DataFileError(InvalidInput):
    """A data file that cannot be used at all."""


def kind_of(path: Path) -> str:
    name = path.name.lower()
    for suffix in (*TABLES, *TEXTS):
        if name.endswith(suffix):
            return suffix
    raise DataFileError("file", f"{path.name}: unknown format (expected {EXPECTED})")


def read_table(path: Path, ohlc: bool = True) -> F64:
    """A feather/Arrow or parquet file as rows [ts ms, o, h, l, c, v]."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path) if path.suffix == ".parquet" else feather.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataFileError("file", f"{path.name}: unreadable as {path.suffix} ({exc})") from None
    names = {n.lower(): n for n in table.column_names}
    time_col = next((names[n] for n in TIME_COLUMNS if n in names), None)
    if time_col is None:
        raise DataFileError("header", f"{path.name}: no time column ({', '.join(TIME_COLUMNS)})")
    wanted = ["open", "high", "low", "close"] if ohlc else ["open"]
    missing = [n for n in wanted if n not in names]
    if missing:
        raise DataFileError(
            "header", f"{path.name}: no {missing[0]!r} column in {table.column_names}"
        )
    t = table.column(time_col)
    if pa.types.is_timestamp(t.type):
        ms = pc.cast(pc.cast(t, pa.timestamp("ms", tz=t.type.tz)), pa.int64())
        ts = ms.to_numpy(zero_copy_only=False).astype(np.float64)
    else:
        ts = epoch_ms(_floats(t))
    cols = [_floats(table.column(names[n])) for n in wanted]
    while len(cols) < 4:
        cols.append(cols[0])
    volume = _floats(table.column(names["volume"])) if "volume" in names else np.zeros(ts.size)
    out: F64 = np.column_stack([ts, *cols, volume])
    return out


def _floats(column: object) -> F64:
    """A column as float64 (nulls → NaN, so the row checks refuse them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pc.cast(column, pa.float64())
    out: F64 = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
    return out


def epoch_ms(raw: F64) -> F64:
    """Seconds, milliseconds, microseconds or nanoseconds → milliseconds, value by value."""
    out: F64 = np.where(
        raw > 1e17, raw / 1e6, np.where(raw > 1e14, raw / 1e3, np.where(raw < 1e11, raw * 1e3, raw))
    )
    return out


def read_text(path: Path) -> str:
    """The text of a CSV (plain, gzipped or the one CSV in a zip) or a JSON file."""
    kind = kind_of(path)
    try:
        if kind in (".csv.gz", ".json.gz"):
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        elif kind == ".zip":
            data = _zip_member(path)
        else:
            data = path.read_bytes()
        return data.decode("utf-8-sig")
    except (OSError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise DataFileError(
            "file", f"{path.name}: unreadable as {kind} ({type(exc).__name__}: {exc})"
        ) from None


def _zip_member(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        members = [m for m in z.namelist() if m.lower().endswith(".csv")]
        if len(members) != 1:
            raise DataFileError(
                "file", f"{path.name}: expected one CSV inside the zip, found {len(members)}"
            )
        return z.read(members[0])


def json_rows(path: Path, text: str) -> list[list[str]]:
    """freqtrade's ``[[ts, o, h, l, c, v], …]`` as text cells."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise DataFileError("file", f"{path.name}: not JSON candles ({reason})") from None
    if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
        raise DataFileError("file", f"{path.name}: expected a JSON list of [ts, o, h, l, c, v]")
    return [[str(x) for x in row[:6]] for row in data]
