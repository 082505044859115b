"""A parsed candle file, kept: an Arrow IPC (feather v2) file per source, keyed by a hash of the
source's bytes and of how it was read, memory-mapped back into numpy without a copy.

Parsing a year of 1m candles takes pyarrow's CSV reader about half a second; reading the cached
columns takes milliseconds. The key is the BLAKE2b digest of the file's content, its name (the
symbol comes from it), the reading options and the cache format, so an edited file is parsed
again and two copies of one file share an entry. The cache lives in ``$QT_CANDLE_CACHE``
(``off`` disables it), else ``$XDG_CACHE_HOME/qtrader/candles`` or ``~/.cache/qtrader/candles``.
A cache that cannot be written (read-only, full) or an entry that cannot be read (truncated,
corrupt) is skipped with a warning and the source is parsed: the cache never changes a result.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from loguru import logger

from quantum_trader.feeds.loader import CandleSeries

FORMAT = 1  # bump when CandleSeries or the parsing rules change: old entries are not read
MIN_BYTES = 1 << 20  # smaller files parse faster than they hash and map
_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
log = logger.bind(component="candles")


def cache_dir() -> Path | None:
    chosen = os.environ.get("QT_CANDLE_CACHE", "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qtrader" / "candles"


def source_key(path: Path, options: str) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    digest.update(f"\0{path.name}\0{options}\0{FORMAT}".encode())
    return digest.hexdigest()


def _read(entry: Path) -> CandleSeries:
    import pyarrow as pa

    with pa.memory_map(str(entry)) as source:
        table = pa.ipc.open_file(source).read_all()
    meta = json.loads(table.schema.metadata[b"qtrader"])
    col = {c: table.column(c).to_numpy() for c in _COLUMNS}  # zero-copy views of the map
    return CandleSeries(
        meta["symbol"], meta["timeframe_ms"], col["ts"], col["open"], col["high"], col["low"],
        col["close"], col["volume"], meta["source"], tuple(meta["skipped"]),
        meta["skipped_count"], meta["duplicates"],
    )  # fmt: skip


def _write(entry: Path, s: CandleSeries) -> None:
    import pyarrow as pa

    meta = {"symbol": s.symbol, "timeframe_ms": s.timeframe_ms, "source": s.source,
            "skipped": list(s.skipped), "skipped_count": s.skipped_count,
            "duplicates": s.duplicates}  # fmt: skip
    arrays = [pa.array(np.asarray(getattr(s, c))) for c in _COLUMNS]
    table = pa.Table.from_arrays(arrays, names=list(_COLUMNS))
    table = table.replace_schema_metadata({"qtrader": json.dumps(meta)})
    entry.parent.mkdir(parents=True, exist_ok=True)
    partial = entry.with_suffix(f".{os.getpid()}.part")
    with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    partial.replace(entry)  # atomic: a reader sees the whole entry or none


def cached(path: Path, options: str, parse: Callable[[], CandleSeries]) -> CandleSeries:
    """The series of ``path`` read with ``options``: from the cache, or parsed and kept."""
    where = cache_dir()
    if where is None or path.stat().st_size < MIN_BYTES:
        return parse()
    entry = where / f"{source_key(path, options)}.arrow"
    if entry.exists():
        try:
            return _read(entry)
        except Exception as exc:  # noqa: BLE001 - a bad entry is parsed again, never fatal
            log.warning("candle cache entry {} unreadable ({}); parsing {}", entry, exc, path)
    series = parse()
    try:
        _write(entry, series)
    except OSError as exc:
        log.warning("candle cache {} not written ({}); parsed files are not kept", where, exc)
    return series
