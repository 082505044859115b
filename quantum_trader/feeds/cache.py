"""A parsed candle file, kept: a directory of numpy ``.npy`` columns and a ``meta.json`` per
source, keyed by a hash of the source's bytes and of how it was read, memory-mapped back
(``numpy.load(mmap_mode="r")``) without a copy and without importing pyarrow.

Parsing a year of 1m candles takes pyarrow's CSV reader about half a second; reading the cached
columns takes milliseconds. numpy's own format rather than Arrow IPC: a cached read then loads no
Arrow library (~27 MB of every backtest process and sweep worker). The key is the BLAKE2b digest of
the file's content, its name (the symbol comes from it), the reading options and the cache format,
so an edited file is parsed again and two copies of one file share an entry. The cache lives in
``$QT_CANDLE_CACHE`` (``off`` disables it), else ``$XDG_CACHE_HOME/qtrader/candles`` or
``~/.cache/qtrader/candles``. A cache that cannot be written (read-only, full) or an entry that
cannot be read (truncated, corrupt) is skipped with a warning and the source is parsed: the cache
never changes a result. An entry is written under a temporary name and renamed into place whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from loguru import logger

from quantum_trader.feeds.loader import CandleSeries

FORMAT = 2  # bump when CandleSeries or the parsing rules change: old entries are not read
SUFFIX = ".cols"  # an entry: a directory of one .npy per column and meta.json
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
    meta = json.loads((entry / "meta.json").read_text())
    col = {c: np.asarray(np.load(entry / f"{c}.npy", mmap_mode="r")) for c in _COLUMNS}
    sizes = {c: a.size for c, a in col.items()}
    if len(set(sizes.values())) != 1 or col["ts"].dtype != np.int64:
        raise ValueError(f"columns of unequal length or type: {sizes}")
    return CandleSeries(
        meta["symbol"], meta["timeframe_ms"], col["ts"], col["open"], col["high"], col["low"],
        col["close"], col["volume"], meta["source"], tuple(meta["skipped"]),
        meta["skipped_count"], meta["duplicates"],
    )  # fmt: skip


def _write(entry: Path, s: CandleSeries) -> None:
    meta = {"symbol": s.symbol, "timeframe_ms": s.timeframe_ms, "source": s.source,
            "skipped": list(s.skipped), "skipped_count": s.skipped_count,
            "duplicates": s.duplicates}  # fmt: skip
    partial = entry.with_name(f"{entry.name}.{os.getpid()}.part")
    partial.mkdir(parents=True, exist_ok=True)
    try:
        for c in _COLUMNS:
            np.save(partial / f"{c}.npy", np.ascontiguousarray(getattr(s, c)))
        (partial / "meta.json").write_text(json.dumps(meta))
        partial.rename(entry)  # atomic: a reader sees the whole entry or none
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)  # another process kept it first, or no room
        if not entry.is_dir():
            raise


def cached(path: Path, options: str, parse: Callable[[], CandleSeries]) -> CandleSeries:
    """The series of ``path`` read with ``options``: from the cache, or parsed and kept."""
    where = cache_dir()
    if where is None or path.stat().st_size < MIN_BYTES:
        return parse()
    entry = where / f"{source_key(path, options)}{SUFFIX}"
    if entry.is_dir():
        try:
            return _read(entry)
        except Exception as exc:  # noqa: BLE001 - a bad entry is parsed again, never fatal
            log.warning("candle cache entry {} unreadable ({}); parsing {}", entry, exc, path)
            shutil.rmtree(entry, ignore_errors=True)  # replaced below (a mapping of it stays valid)
    series = parse()
    try:
        _write(entry, series)
    except OSError as exc:
        log.warning("candle cache {} not written ({}); parsed files are not kept", where, exc)
        return series
    try:  # the kept columns, mapped: the parsed arrays are freed, as on every later run
        return _read(entry)
    except Exception:  # noqa: BLE001 - the parse stands
        return series
