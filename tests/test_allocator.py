"""The malloc tuning of svertka/allocator.py: applied on glibc, skipped when asked."""

import ctypes.util
import sys

import pytest

from svertka.allocator import keep_freed_memory


def test_opt_out_leaves_malloc_alone(monkeypatch):
    monkeypatch.setenv("SVERTKA_KEEP_FREED_MEMORY", "0")
    assert keep_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_accepts_every_setting(monkeypatch):
    monkeypatch.delenv("SVERTKA_KEEP_FREED_MEMORY", raising=False)
    libc = ctypes.util.find_library("c") or ""
    if "musl" in libc:
        pytest.skip("musl has no mallopt")
    assert keep_freed_memory() is True
