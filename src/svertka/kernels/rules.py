"""Rules that several kernels share, each written once (see :func:`svertka.kernels.jit.rule`):
compiled loops call them per element, NumPy code calls ``rule.py_func`` on arrays.

>>> import numpy as np
>>> takes_max.py_func(np.array([1.0, 2.0, np.nan]), np.array([1.0, 1.0, 5.0])).tolist()
[False, True, True]
>>> v = np.array([-1.0, 0.0, 2.0, np.nan])
>>> relu_zeroes.py_func(v).tolist(), relu_passes.py_func(v).tolist()
([True, False, False, False], [False, False, True, False])
"""

from __future__ import annotations

from svertka.kernels.jit import rule


@rule
def takes_max(v, best):
    """Whether ``v`` takes a max-pooling window from ``best``, the winner among the cells
    before it in row-major order: ``v`` is greater, or ``v`` is the window's first NaN (NaN
    wins, as ``numpy.maximum`` propagates it). A tie keeps ``best``: the first cell wins and
    takes the whole gradient. Min pooling asks ``takes_max(-v, -best)``."""
    return (v > best) | ((v != v) & (best == best))


@rule
def relu_zeroes(v):
    """Whether ReLU replaces ``v`` by 0: ``v`` is negative. NaN is not, so it stays NaN, as
    ``numpy.maximum(v, 0)`` keeps it: ``relu(v) = 0 if relu_zeroes(v) else v``."""
    return v < 0


@rule
def relu_passes(y):
    """ReLU's gate: whether the gradient reaches the input of a ReLU whose output is ``y``,
    i.e. ``y > 0`` (not at 0, not through NaN): ``gx = gy if relu_passes(y) else 0``."""
    return y > 0


@rule
def maxpool_relu_2x2(v0, v1, v2, v3, relu):
    """``(out, cell)`` of a 2x2 max-pooling window of the cells ``v0..v3`` (row-major), then
    ReLU when ``relu``, for the fused convolution loops: ``out`` the pooled value, ``cell``
    the winner by :func:`takes_max` (0..3), or 4 where the ReLU passes no gradient (the
    maximum not positive, :func:`relu_passes`). Scalars only (compiled loops)."""
    best, cell = v0, 0
    if takes_max(v1, best):
        best, cell = v1, 1
    if takes_max(v2, best):
        best, cell = v2, 2
    if takes_max(v3, best):
        best, cell = v3, 3
    if relu:
        return (0.0 if relu_zeroes(best) else best), (cell if relu_passes(best) else 4)
    return best, cell
