"""Resizing channels-last images: upsampling (nearest, bilinear) and cropping, forward and
backward.

Shape legend:

    x   (N, H, W, C)              input           size     (SH, SW)  upsampling factors
    y   (N, OH, OW, C)            output          gy       like y    upstream gradient

- **Nearest** upsampling repeats every pixel ``SH x SW`` times:
  ``y[n, i, j, c] = x[n, i // SH, j // SW, c]``; its gradient sums each ``SH x SW`` block.
- **Bilinear** upsampling with half-pixel centres (Keras 3 / TensorFlow's ``resize``,
  PyTorch's ``interpolate(mode='bilinear', align_corners=False)``): output pixel ``o`` sits
  at source coordinate ``s = (o + 0.5) / S - 0.5``, clamped at 0, and is the mix
  ``(1 - t) x[floor(s)] + t x[floor(s) + 1]`` with ``t = s - floor(s)`` (the upper neighbour
  clamped to the last pixel). The mix is linear and acts on each axis on its own, so the
  layer is ``y = A_h x A_w^T`` with a sparse (OH, H) and (OW, W) matrix (:func:`lerp_matrix`,
  two non-zeros per row), and the gradient is ``gx = A_h^T gy A_w``: two batched matrix
  products each way.
- **Cropping** keeps ``x[:, top:H-bottom, left:W-right]``; its gradient is gy zero-padded
  back to the input's size.

:func:`naive_upsample` is the definition, one output pixel at a time: the reference the
tests compare the matrix form with.
"""

from __future__ import annotations

import math

import numpy as np

from svertka.backend import get_array_module

INTERPOLATIONS = ("nearest", "bilinear")


def source_coordinate(o: int, factor: int) -> float:
    """Half-pixel-centre source coordinate of output pixel ``o``, clamped at 0.

    >>> [source_coordinate(o, 2) for o in range(4)]
    [0.0, 0.25, 0.75, 1.25]
    """
    return max((o + 0.5) / factor - 0.5, 0.0)


def lerp_matrix(size: int, factor: int, dtype=np.float64, xp=np):
    """The (size*factor, size) matrix of bilinear upsampling along one axis: row ``o`` holds
    ``1 - t`` and ``t`` at the two neighbours of :func:`source_coordinate` ``(o)``.

    >>> lerp_matrix(2, 2).tolist()
    [[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]]
    """
    o = np.arange(size * factor)
    s = np.maximum((o + 0.5) / factor - 0.5, 0.0)  # source_coordinate of every row
    lo = np.floor(s).astype(np.intp)
    t = s - lo
    a = np.zeros((size * factor, size), dtype)
    np.add.at(a, (o, lo), 1 - t)  # add: both neighbours are the last pixel at the bottom
    np.add.at(a, (o, np.minimum(lo + 1, size - 1)), t)
    return xp.asarray(a)


def naive_upsample(x, size, interpolation: str):
    """The definition: every output pixel from its source pixels (Python loops, slow).

    >>> x = np.array([1.0, 3.0]).reshape(1, 1, 2, 1)
    >>> naive_upsample(x, (1, 2), "bilinear")[0, 0, :, 0].tolist()
    [1.0, 1.5, 2.5, 3.0]
    """
    n, h, w, c = x.shape
    sh, sw = size
    y = np.zeros((n, h * sh, w * sw, c), x.dtype)
    for i in range(h * sh):
        for j in range(w * sw):
            if interpolation == "nearest":
                y[:, i, j] = x[:, i // sh, j // sw]
                continue
            si, sj = source_coordinate(i, sh), source_coordinate(j, sw)
            i0, j0 = math.floor(si), math.floor(sj)
            i1, j1 = min(i0 + 1, h - 1), min(j0 + 1, w - 1)
            ti, tj = si - i0, sj - j0
            y[:, i, j] = ((1 - ti) * ((1 - tj) * x[:, i0, j0] + tj * x[:, i0, j1])
                          + ti * ((1 - tj) * x[:, i1, j0] + tj * x[:, i1, j1]))
    return y


def _apply_axes(x, a_h, a_w):
    """``a_h`` (P, H) along the height and ``a_w`` (Q, W) along the width of x (N, H, W, C)
    -> (N, P, Q, C), as two batched matrix products."""
    xp = get_array_module(x)
    n, h, w, c = x.shape
    p, q = a_h.shape[0], a_w.shape[0]
    t = xp.matmul(a_h, x.reshape(n, h, w * c))  # (N, P, W*C)
    t = xp.matmul(a_w, t.reshape(n * p, w, c))  # (N*P, Q, C)
    return t.reshape(n, p, q, c)


def _bilinear_matrices(x_like, hw, size):
    xp = get_array_module(x_like)
    return tuple(lerp_matrix(hw[a], size[a], x_like.dtype, xp) for a in range(2))


def upsample_forward(x, size, interpolation: str):
    """x (N, H, W, C) -> y (N, H*SH, W*SW, C) by ``interpolation`` (see the module docstring)."""
    xp = get_array_module(x)
    sh, sw = size
    if interpolation == "nearest":
        return xp.repeat(xp.repeat(x, sh, axis=1), sw, axis=2)
    a_h, a_w = _bilinear_matrices(x, x.shape[1:3], size)
    return _apply_axes(x, a_h, a_w)


def upsample_backward(gy, x_shape, size, interpolation: str):
    """Gradient of :func:`upsample_forward`: gy (N, H*SH, W*SW, C) -> gx ``x_shape``."""
    n, h, w, c = x_shape
    sh, sw = size
    if interpolation == "nearest":
        return gy.reshape(n, h, sh, w, sw, c).sum(axis=(2, 4))  # each SH x SW block
    a_h, a_w = _bilinear_matrices(gy, (h, w), size)
    return _apply_axes(gy, a_h.T, a_w.T)


def crop_forward(x, crops):
    """``x[:, top:H-bottom, left:W-right]`` as a new array, for crops
    ``((top, bottom), (left, right))``."""
    (top, bottom), (left, right) = crops
    _, h, w, _ = x.shape
    return x[:, top : h - bottom, left : w - right].copy()


def crop_backward(gy, crops):
    """Gradient of :func:`crop_forward`: gy put back in place, zeros where pixels were cut."""
    xp = get_array_module(gy)
    return xp.pad(gy, ((0, 0), *crops, (0, 0)))


__all__ = [
    "INTERPOLATIONS",
    "crop_backward",
    "crop_forward",
    "lerp_matrix",
    "naive_upsample",
    "source_coordinate",
    "upsample_backward",
    "upsample_forward",
]
