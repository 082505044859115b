"""Freed heap goes back to the system after a parse (glibc's malloc_trim, where there is one), and
a backtest's threads share glibc's main arena."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from quantum_trader.runtime.heap import trim


def test_trim_runs_on_linux_and_is_harmless() -> None:
    blocks = [bytearray(1 << 20) for _ in range(64)]  # 64 MB freed in the heap
    del blocks
    assert trim() is sys.platform.startswith("linux")
    assert trim() is sys.platform.startswith("linux")  # twice: nothing left to give, no harm


# In a process of its own: how many arenas glibc has once a thread allocated (malloc_info's XML
# has a <heap nr=…> per arena), with or without one_arena() first.
ARENAS = textwrap.dedent(
    """
    import ctypes, sys, tempfile, threading
    from quantum_trader.runtime.heap import one_arena
    if sys.argv[1] == "one":
        assert one_arena()
    def work():
        blocks = [bytearray(50_000) for _ in range(200)]  # under the mmap threshold: an arena's
        del blocks
    t = threading.Thread(target=work)
    t.start(); t.join()
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        fp = libc.fopen(f.name.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        print(open(f.name).read().count("<heap nr="))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's arenas")
def test_one_arena_keeps_a_threads_allocations_in_the_main_arena() -> None:
    def arenas(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", ARENAS, mode], capture_output=True, text=True, check=True
        )
        return int(done.stdout.strip())

    assert arenas("default") >= 2  # the thread got an arena of its own
    assert arenas("one") == 1
