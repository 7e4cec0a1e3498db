"""Rules that several kernels share, each written once (see :func:`svertka.kernels.jit.rule`):
compiled loops call them per element, NumPy code calls ``rule.py_func`` on arrays.

>>> import numpy as np
>>> takes_max.py_func(np.array([1.0, 2.0, np.nan]), np.array([1.0, 1.0, 5.0])).tolist()
[False, True, True]
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
