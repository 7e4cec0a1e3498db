"""Per-channel sums of channels-last arrays, as BLAS matrix-vector products.

Bias gradients and batch-norm statistics sum an (N, H, W, C) array over everything but its
channels. NumPy's ``a.sum(axis=(0, 1, 2))`` walks that reduction slowly (a short contiguous
axis innermost); viewing ``a`` as an (M, C) matrix and multiplying by a vector of M ones
hands it to BLAS, many times faster (the figures are in ``docs/performance.md``).

>>> import numpy as np
>>> channel_sum(np.arange(6.0).reshape(3, 2)).tolist()
[6.0, 9.0]
"""

from __future__ import annotations

from svertka.backend import get_array_module


def channel_sum(a):
    """Sum of ``a`` (..., C) over every axis but the last: shape (C,), dtype of ``a``."""
    xp = get_array_module(a)
    c = a.shape[-1]
    rows = a.reshape(-1, c)  # (M, C), a view for contiguous a
    if rows.dtype.kind != "f":
        return rows.sum(axis=0)
    return xp.ones(rows.shape[0], dtype=rows.dtype) @ rows


def channel_mean(a):
    """Mean of ``a`` (..., C) over every axis but the last: shape (C,)."""
    return channel_sum(a) / (a.size // a.shape[-1])
