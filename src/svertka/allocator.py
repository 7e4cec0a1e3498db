"""Keep freed memory for reuse, so that each training step does not fault its arrays in again.

A training step allocates and frees the same large arrays every batch (activations, im2col
matrices, gradients: megabytes each). glibc's ``malloc`` serves blocks above a threshold
(128 KiB to 32 MiB, adapting) straight from ``mmap`` and gives them back to the kernel on
``free``; the next step's allocation then faults every page in again, zero-filled by the
kernel; on the notes' MNIST model those page faults were a third of a training step
(docs/performance.md). Asking glibc to serve large blocks from its heap and never trim it
makes the second step reuse the first step's memory.

The setting is for the whole process, so importing svertka leaves it alone: it is applied
once, when svertka first runs a stretch of work (``fit``, ``evaluate``, ``predict``, a
training step or a model call enter :func:`svertka.parallel.region`, which calls
:func:`on_first_use`), or at once by calling :func:`keep_freed_memory` yourself.

The cost is that the process keeps its peak heap: memory freed after a large batch is reused
by svertka (and by anything else in the process) but not returned to the system. Set the
environment variable ``SVERTKA_KEEP_FREED_MEMORY=0`` before svertka first trains or
predicts to leave glibc's defaults alone. On other C libraries (macOS, Windows, musl) this
does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt parameters, from glibc's <malloc.h>
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MMAP_THRESHOLD = 1 << 30  # blocks up to 1 GiB come from the heap
_TRIM_THRESHOLD = 2**31 - 1  # never give the top of the heap back (the largest int)
_TOP_PAD = 64 << 20  # grow the heap 64 MiB at a time

applied: bool | None = None  # None until keep_freed_memory runs, then whether it took effect


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as described above; True where it took effect.

    >>> isinstance(keep_freed_memory(), bool)
    True
    """
    global applied
    applied = _tune_malloc()
    return applied


def on_first_use() -> None:
    """:func:`keep_freed_memory`, the first time svertka runs a stretch of work only."""
    if applied is None:
        keep_freed_memory()


def _tune_malloc() -> bool:
    if os.environ.get("SVERTKA_KEEP_FREED_MEMORY", "1") == "0":
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(
        mallopt(param, value) == 1
        for param, value in (
            (_M_MMAP_THRESHOLD, _MMAP_THRESHOLD),
            (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD),
            (_M_TOP_PAD, _TOP_PAD),
        )
    )
