"""Optional compiled loops (Numba) for the few kernels NumPy cannot make fast.

Every kernel is written in NumPy first, and that version always works. A handful of loops,
max/min pooling for one, cost NumPy several passes over memory with boolean temporaries
(compare, mask, multiply per window tap), where one compiled pass over the windows does the
same work. Measured on the notes' MNIST model, batch 128, 2 cores: max pooling forward +
backward took 12 ms in NumPy against about 2 ms compiled (see benchmarks/).

Numba is an optional dependency (``pip install svertka[fast]``). Where it is not installed, or
the environment variable ``SVERTKA_JIT=0`` is set, or the arrays are not NumPy floats (CuPy,
integer maps), the NumPy version runs; the tests run both and compare them.

A ``@jit`` function is compiled on its first call for the argument types it gets (a second
or so, once; the result is cached on disk next to the module) and runs without the GIL.
"""

from __future__ import annotations

import functools
import os

import numpy as np

_numba = None  # the module, once imported; False where it cannot be


def _load():
    global _numba
    if _numba is None:
        try:
            import numba

            _numba = numba
        except ImportError:
            _numba = False
    return _numba


def enabled() -> bool:
    """Whether compiled kernels run: Numba importable and ``SVERTKA_JIT`` not ``'0'``."""
    return os.environ.get("SVERTKA_JIT", "1") != "0" and bool(_load())


def usable(*arrays) -> bool:
    """Whether the compiled kernels take these arrays: enabled, and all NumPy floats."""
    return enabled() and all(
        isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays)


def jit(fn):
    """Compile ``fn`` with Numba on its first call (nopython, no GIL, cached on disk).

    Serial on purpose: Numba's parallel loops (OpenMP threads) and OpenBLAS's threads then
    fight over the cores; a training step of the notes' model took twice as long.
    Call a ``@jit`` function only where :func:`usable` said yes.
    """
    compiled = None

    @functools.wraps(fn)
    def call(*args):
        nonlocal compiled
        if compiled is None:
            compiled = _load().njit(cache=True, nogil=True)(fn)
        return compiled(*args)

    call.py_func = fn
    return call
