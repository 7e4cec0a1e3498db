"""Compiled loops (Numba) for the few kernels NumPy cannot make fast.

Every kernel is written in NumPy first, and that version always works. A handful of loops,
max/min pooling for one, cost NumPy several passes over memory with boolean temporaries
(compare, mask, multiply per window tap), where one compiled pass over the windows does the
same work.

Numba is a required dependency, so ``pip install svertka`` gives the compiled kernels. The
NumPy versions stay: they run where Numba cannot be imported (a platform without a Numba
wheel), where the environment variable ``SVERTKA_JIT=0`` is set, or where the arrays are not
NumPy floats (CuPy, integer maps); the tests run both and compare them.

What was measured, and what was tried and dropped: docs/performance.md.

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


def engine() -> str:
    """Which kernels run, in words, for the demo and bug reports: the compiled ones with
    Numba's version, or the NumPy ones and why.

    >>> engine().startswith(("compiled", "NumPy"))
    True
    """
    if os.environ.get("SVERTKA_JIT", "1") == "0":
        return "NumPy kernels (SVERTKA_JIT=0 turns the compiled ones off)"
    if not _load():
        return "NumPy kernels (Numba cannot be imported here: pip install numba for the fast ones)"
    return f"compiled kernels (Numba {_numba.__version__})"


def usable(*arrays) -> bool:
    """Whether the compiled kernels take these arrays: enabled, and all NumPy floats."""
    return enabled() and all(
        isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays)


def jit(fn):
    """Compile ``fn`` with Numba on its first call (nopython, no GIL, NumPy's float
    semantics, cached on disk).

    Serial on purpose: Numba's parallel loops (OpenMP threads) and OpenBLAS's threads would
    fight over the cores (:mod:`svertka.parallel` splits the batch instead).
    Call a ``@jit`` function only where :func:`usable` said yes.
    """
    @functools.wraps(fn)
    def call(*args):
        if call.compiled is None:
            # error_model="numpy": x / 0 gives inf as in NumPy, no Python exception check
            # per division, which would keep loops from vectorising
            call.compiled = _load().njit(cache=True, nogil=True, error_model="numpy")(fn)
        return call.compiled(*args)

    call.py_func = fn
    call.compiled = None  # Numba's dispatcher, from the first call on
    return call


def rule(fn):
    """A small rule, written once, that compiled loops call per element and NumPy code calls
    on whole arrays (pooling's tie rule, ReLU's gate).

    Compiled kernels call it by name and Numba inlines it; NumPy (and CuPy) code calls
    ``name.py_func``, the plain definition. Write it with ``&``, ``|`` and ``~`` rather than
    ``and``/``or``/``not``, so that it works on scalars and arrays alike.

    Numba's disk cache keys a compiled kernel on its own file only: after editing a rule,
    touch the kernels that use it (or clear their ``__pycache__``) to recompile them.

    >>> @rule
    ... def positive(v):
    ...     return v > 0
    >>> positive.py_func(np.array([-1.0, 2.0])).tolist()
    [False, True]
    """
    numba = _load()
    if not numba:
        fn.py_func = fn
        return fn
    return numba.njit(inline="always", nogil=True, error_model="numpy")(fn)  # cached in its callers


def compile_all() -> bool:
    """Compile (or load from the disk cache) every compiled kernel for float32 now, rather
    than at the first batch that needs it; False where they cannot run (no Numba).

    Numba and LLVM take about 100 MiB of memory and a few seconds the first time.
    """
    if not enabled():
        return False
    from svertka.kernels.optim_jit import adam_update
    from svertka.kernels.pool import pool2d_backward, pool2d_forward

    no_pads = ((0, 0), (0, 0))
    x = np.zeros((1, 2, 2, 1), np.float32)
    pool2d_forward(x, (2, 2), (2, 2), no_pads, "max", for_backward=False)  # no winners
    for size, strides in ((2, (2, 2)), (3, (1, 1))):  # 2x2 at stride 2 (tiled), any other
        x = np.zeros((1, size, size, 1), np.float32)
        y, cache = pool2d_forward(x, (2, 2), strides, no_pads, "max")
        pool2d_backward(y, cache)
    from svertka.kernels.conv import conv2d_backward, conv2d_forward

    x, w = np.zeros((1, 3, 3, 8), np.float32), np.zeros((3, 3, 8, 1), np.float32)
    for c in (1, 8):  # im2col (bias, ReLU, col2im) and the direct loop; Winograd, plain, pooled
        xc, wc = x[..., :c], w[:, :, :c]
        for maxpool in (False, True):
            conv2d_forward(xc, wc, relu=True, for_backward=False, maxpool=maxpool)
            y, cache = conv2d_forward(xc, wc, relu=True, maxpool=maxpool)
            conv2d_backward(y, cache, need_gx=cache.method != "direct-maxpool")
    for for_backward in (False, True):  # Winograd F(4x4), named: plan does not pick it
        y, cache = conv2d_forward(x, w, relu=True, for_backward=for_backward,
                                  method="winograd4")
    conv2d_backward(y, cache)
    from svertka.kernels import norm_jit
    from svertka.kernels.bias_relu import add_relu, relu

    relu(x)
    add_relu(x, x)
    y, _, _, cache = norm_jit.train_forward(x, None, None, 1e-3)
    norm_jit.train_backward(y, cache)
    from svertka.kernels.depthwise import depthwise_backward, depthwise_forward

    y, cache = depthwise_forward(x, np.zeros((3, 3, 8, 1), np.float32), np.zeros(8, np.float32))
    depthwise_backward(y, cache)
    w = np.zeros(3, np.float32)
    adam_update(w, w.copy(), w.copy(), w.copy(), 0.9, 0.999, 1e-7, 1e-3, 1, 0.0)
    return True
