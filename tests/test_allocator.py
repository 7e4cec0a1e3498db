"""The malloc tuning of svertka/allocator.py: applied on glibc, skipped when asked, never on
import, once when svertka first trains or predicts."""

import ctypes.util
import os
import subprocess
import sys
import textwrap

import pytest

from svertka.allocator import keep_freed_memory

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or "musl" in (ctypes.util.find_library("c") or ""),
    reason="glibc's mallopt",
)

# A 64 MiB block is above glibc's largest default mmap threshold (32 MiB): with the defaults
# it gets an mmap of its own (mallinfo2's hblks grows), with svertka's setting it does not.
PROBE = """
import ctypes, ctypes.util
import numpy as np

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2

def large_block_mmapped():
    before = libc.mallinfo2().hblks
    block = np.ones(64 << 20, np.uint8)
    return libc.mallinfo2().hblks > before
"""

FIT = """
from svertka import Sequential
from svertka.layers import Dense
model = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(np.ones((8, 3), np.float32), np.zeros(8, np.int64), batch_size=4, verbose=0)
"""


def run(*snippets: str, **env) -> list[str]:
    """What a fresh Python prints running PROBE, then each snippet."""
    code = PROBE + "".join(textwrap.dedent(snippet) for snippet in snippets)
    environ = {k: v for k, v in os.environ.items() if k != "SVERTKA_KEEP_FREED_MEMORY"}
    result = subprocess.run([sys.executable, "-c", code],
                            env={**environ, **env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_opt_out_leaves_malloc_alone(monkeypatch):
    monkeypatch.setenv("SVERTKA_KEEP_FREED_MEMORY", "0")
    assert keep_freed_memory() is False


@glibc
def test_glibc_accepts_every_setting(monkeypatch):
    monkeypatch.delenv("SVERTKA_KEEP_FREED_MEMORY", raising=False)
    assert keep_freed_memory() is True


@glibc
def test_import_leaves_malloc_alone_and_the_first_fit_applies_it():
    out = run("""
        import svertka, svertka.cli, svertka.viz, svertka.zoo
        from svertka import allocator
        print(allocator.applied, large_block_mmapped())
    """, FIT, """
        print(allocator.applied, large_block_mmapped())
    """)
    assert out == ["None", "True", "True", "False"]


@glibc
def test_opt_out_holds_for_the_first_fit():
    out = run("""
        from svertka import allocator
    """, FIT, """
        print(allocator.applied, large_block_mmapped())
    """, SVERTKA_KEEP_FREED_MEMORY="0")
    assert out == ["False", "True"]
