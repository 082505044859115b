"""Give the process's freed heap back to the operating system after a burst of parsing.

A parse of a year of candles on several threads frees hundreds of megabytes in glibc's per-thread
arenas, which glibc keeps mapped (its mmap threshold rises after the first large free, so later
arrays come from the arenas). ``malloc_trim(0)`` returns those pages; the run that follows then
peaks as a run from the cache does. Elsewhere than glibc (macOS, musl) it does nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


def trim() -> bool:
    """True when glibc's ``malloc_trim`` ran."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.malloc_trim
    except (OSError, AttributeError):
        return False
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    fn(0)
    return True
