"""What follows a GEMM in a layer: add the bias, apply ReLU; and ReLU's gate in backward.

Shapes: y (M, C) the product, one row per sample or output pixel; b (C,); gy like y.

ReLU and its gate are the rules :func:`svertka.kernels.rules.relu_zeroes` (NaN stays NaN,
as ``numpy.maximum`` keeps it) and :func:`svertka.kernels.rules.relu_passes` (no gradient
where y is not positive, NaN included), written once for these loops, the NumPy versions
below and the fused convolution kernels.

The compiled loops exist because NumPy runs ``y += b`` one row at a time and ReLU and its
gate as extra passes with boolean temporaries, where one compiled pass does each. The NumPy
versions run where Numba is not installed or for arrays it does not take
(:func:`svertka.kernels.jit.usable`); the tests compare the two.

>>> import numpy as np
>>> y = np.array([[-1.0, 2.0], [3.0, -4.0]])
>>> bias_relu(y, np.array([0.5, 0.5]), relu=True).tolist()
[[0.0, 2.5], [3.5, 0.0]]
"""

from __future__ import annotations

from svertka.backend import get_array_module
from svertka.kernels.jit import jit, usable
from svertka.kernels.rules import relu_passes, relu_zeroes


@jit
def _bias_relu(y, b, has_bias, relu):
    m, c = y.shape
    for i in range(m):
        for j in range(c):
            v = y[i, j] + b[j] if has_bias else y[i, j]
            if relu:
                v = 0.0 if relu_zeroes(v) else v
            y[i, j] = v


@jit
def _relu(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = 0.0 if relu_zeroes(v) else v


@jit
def _add_relu(a, b, out):
    for i in range(a.size):
        v = a[i] + b[i]
        out[i] = 0.0 if relu_zeroes(v) else v


@jit
def _relu_gate(gy, y, out):
    for i in range(gy.size):
        out[i] = gy[i] if relu_passes(y[i]) else 0.0


def bias_relu(y, b=None, relu: bool = False):
    """In place on the 2-D ``y`` (M, C): ``y += b`` (when b is given), then ReLU (when
    ``relu``); returns ``y``."""
    if (b is None and not relu) or y.size == 0:
        return y
    if usable(y) and y.flags.c_contiguous and (b is None or b.dtype == y.dtype):
        _bias_relu(y, y[0] if b is None else b, b is not None, relu)
        return y
    if b is not None:
        y += b
    if relu:
        get_array_module(y).copyto(y, 0, where=relu_zeroes.py_func(y))
    return y


def relu(x):
    """ReLU of ``x`` as a new array (NaN kept)."""
    xp = get_array_module(x)
    if usable(x) and x.flags.c_contiguous:
        out = xp.empty_like(x)
        _relu(x.reshape(-1), out.reshape(-1))
        return out
    return xp.where(relu_zeroes.py_func(x), xp.zeros((), x.dtype), x)


def add_relu(a, b):
    """``relu(a + b)`` as a new array, in one pass where compiled (the end of a residual
    block: shortcut plus correction, then ReLU); a and b of one shape."""
    xp = get_array_module(a)
    if (usable(a, b) and a.dtype == b.dtype and a.flags.c_contiguous
            and b.flags.c_contiguous):
        out = xp.empty_like(a)
        _add_relu(a.reshape(-1), b.reshape(-1), out.reshape(-1))
        return out
    return relu(a + b)


def relu_gate(gy, y):
    """``gy`` where ``y > 0``, else 0: the gradient through ReLU, given its output ``y``."""
    if usable(gy, y) and gy.dtype == y.dtype and gy.flags.c_contiguous and y.flags.c_contiguous:
        out = get_array_module(gy).empty_like(gy)
        _relu_gate(gy.reshape(-1), y.reshape(-1), out.reshape(-1))
        return out
    return gy * relu_passes.py_func(y)
