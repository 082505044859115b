"""Issue 14: a parsed candle file is kept as numpy columns keyed by the source's bytes and read
back memory-mapped without parsing (nor importing pyarrow) — the same series, a changed file parsed
again, a bad entry or an unwritable cache never changing a result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from quantum_trader.feeds import cache
from quantum_trader.feeds.loader import CandleSeries, load_candles


def _csv(path: Path, rows: int = 24_000, bad_line: bool = True) -> Path:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, rows)))
    lines = ["timestamp_ms,open,high,low,close,volume"]
    for i, c in enumerate(close.tolist()):
        ts = 1_704_067_200_000 + i * 60_000
        lines.append(f"{ts},{c!r},{c * 1.001!r},{c * 0.999!r},{c!r},1.5")
    if bad_line:
        lines[100] = "1704073140000,1,oops,1,1,1"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size >= cache.MIN_BYTES
    return path


def _equal(a: CandleSeries, b: CandleSeries) -> None:
    for name in ("ts", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype
    assert (a.symbol, a.timeframe_ms, a.source, a.skipped, a.skipped_count, a.duplicates) == (
        b.symbol, b.timeframe_ms, b.source, b.skipped, b.skipped_count, b.duplicates,
    )  # fmt: skip


def _entries(where: Path) -> list[Path]:
    return sorted(where.glob(f"*{cache.SUFFIX}"))


@pytest.fixture
def where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("QT_CANDLE_CACHE", str(d))
    return d


def test_the_second_load_reads_the_kept_columns(tmp_path: Path, where: Path) -> None:
    src = _csv(tmp_path / "BTCUSDT-1m.csv")
    parsed = load_candles(src)
    assert len(_entries(where)) == 1
    kept = load_candles(src)
    _equal(kept, parsed)
    assert not kept.close.flags.writeable  # a view of the mapped file, not a copy
    assert parsed.skipped_count == 1 and "line 101" in parsed.skipped[0]


def test_a_changed_file_or_other_options_are_parsed_again(tmp_path: Path, where: Path) -> None:
    src = _csv(tmp_path / "BTCUSDT-1m.csv")
    load_candles(src)
    load_candles(src, max_jump=3.0)
    assert len(_entries(where)) == 2
    _csv(src, bad_line=False)  # the same name, other bytes
    fresh = load_candles(src)
    assert fresh.skipped_count == 0 and len(_entries(where)) == 3


def test_a_corrupt_entry_is_parsed_again(
    tmp_path: Path, where: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _csv(tmp_path / "BTCUSDT-1m.csv")
    load_candles(src)  # kept (and mapped: the reference below is parsed apart, in memory)
    monkeypatch.setenv("QT_CANDLE_CACHE", "off")
    parsed = load_candles(src)
    monkeypatch.setenv("QT_CANDLE_CACHE", str(where))
    (entry,) = _entries(where)
    column = entry / "close.npy"
    column.write_bytes(column.read_bytes()[:1000])  # truncated
    _equal(load_candles(src), parsed)
    (entry,) = _entries(where)  # replaced by a good one
    _equal(load_candles(src), parsed)
    (entry / "meta.json").write_text("{not json")
    _equal(load_candles(src), parsed)
    assert len(_entries(where)) == 1


def test_an_unwritable_or_disabled_cache_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _csv(tmp_path / "BTCUSDT-1m.csv")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory would be")
    monkeypatch.setenv("QT_CANDLE_CACHE", str(blocker / "cache"))
    first = load_candles(src)
    monkeypatch.setenv("QT_CANDLE_CACHE", "off")
    _equal(load_candles(src), first)
    assert cache.cache_dir() is None


def test_a_kept_file_is_read_without_pyarrow(tmp_path: Path, where: Path) -> None:
    """pyarrow's libraries are ~27 MB of a process's memory: a cached read does not load them."""
    src = _csv(tmp_path / "BTCUSDT-1m.csv")
    parsed = load_candles(src)
    code = (
        "import sys; from quantum_trader.feeds.loader import load_candles; "
        f"s = load_candles({str(src)!r}); "
        "print(len(s), float(s.close[-1]), 'pyarrow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == [str(len(parsed)), repr(float(parsed.close[-1])), "False"]
