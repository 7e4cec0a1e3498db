"""Pooling kernels: max, min, sum and average over 2-D windows, and global pooling.

Shape legend (channels-last)::

    x   (N, H, W, C)     input                 y, gy   (N, OH, OW, C)   output, its gradient
    KH, KW               pool window           SH, SW                   strides
    pads ((top, bottom), (left, right))        explicit, already resolved by the op

Padded cells hold a value that never wins (-inf for max, +inf for min, 0 for sum and
average), and the average divides by the number of *input* cells in each window, so padding
is excluded from the count (Keras/TF 'same', PyTorch ``count_include_pad=False``).

Max and min pooling send a window's whole gradient to its winner, the cell that took the
window by :func:`svertka.kernels.rules.takes_max` in row-major order: the first extreme cell
of a tie (as PyTorch does, so the gradient is a valid subgradient and sums to gy), the first
NaN of a window holding one (NaN wins, as ``numpy.maximum`` propagates it).

The module reads in the order of the notes: :func:`pool2d_naive`, the definition window by
window; :func:`plan`, the one place that chooses how pooling runs; then the implementations.

>>> import numpy as np
>>> x = np.array([[6., 6, 6, 6], [4, 5, 5, 4], [2, 4, 4, 2], [2, 4, 4, 2]]).reshape(1, 4, 4, 1)
>>> y, cache = pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)), "avg")
>>> y[0, :, :, 0].tolist()
[[5.25, 5.25], [3.0, 3.0]]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from svertka.backend import get_array_module
from svertka.kernels import pool_jit
from svertka.kernels.jit import usable
from svertka.kernels.rules import takes_max
from svertka.kernels.shapes import conv_output_size

MODES = ("max", "min", "sum", "avg")
PATHS = ("compiled-2x2", "compiled-2x2-inference", "compiled", "numpy")


class PoolCache(NamedTuple):
    """What :func:`pool2d_backward` needs from :func:`pool2d_forward`."""

    path: str  # the implementation that ran, one of PATHS (see plan)
    mode: str
    x_shape: tuple  # (N, H, W, C)
    pool: tuple  # (KH, KW)
    strides: tuple  # (SH, SW)
    pads: tuple  # ((top, bottom), (left, right))
    out_hw: tuple  # (OH, OW)
    won: Any = None  # compiled max/min: (N, OH, OW, C) int32, each window's winning tap p*KW + q
    xpad: Any = None  # NumPy max/min: the padded input (N, H + top + bottom, W + left + right, C)
    y: Any = None  # NumPy max/min: the output, which the winners equal
    counts: Any = None  # NumPy average: input cells per window, (1, OH, OW, 1) or KH*KW


class GlobalPoolCache(NamedTuple):
    """What :func:`global_pool2d_backward` needs from :func:`global_pool2d_forward`."""

    mode: str
    x_shape: tuple  # (N, H, W, C)
    x: Any = None  # max pooling: the input, to find each channel's first maximal pixel


def pool2d_naive(x, pool, strides, pads, mode: str, gy=None):
    """Pooling by its definition, one window at a time: returns ``(y, gx)``, float64.

    Each window is clipped to the input, which is the same as padding with cells that never
    win (max/min), add nothing (sum) and are not counted (average). Max and min pooling send
    the window's gradient to its first extreme cell in row-major order (a NaN window: its
    first NaN), sum pooling to every cell, the average to every cell divided by their count.
    ``gx`` is None when no upstream gradient ``gy`` (N, OH, OW, C) is given. The reference
    the tests compare every other path with; slow (Python loops).

    >>> x = np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    >>> y, gx = pool2d_naive(x, (2, 2), (2, 2), ((0, 0), (0, 0)), "max", np.ones((1, 1, 1, 1)))
    >>> y.ravel().tolist(), gx[0, :, :, 0].tolist()  # a tie: the first 3 takes the gradient
    ([3.0], [[0.0, 1.0], [0.0, 0.0]])
    """
    n, height, width, c = x.shape
    (kh, kw), (sh, sw), ((top, bottom), (left, right)) = pool, strides, pads
    oh = conv_output_size(height, kh, sh, padding=top + bottom)
    ow = conv_output_size(width, kw, sw, padding=left + right)
    y = np.zeros((n, oh, ow, c))
    gx = None if gy is None else np.zeros(x.shape)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                r0, s0 = i * sh - top, j * sw - left
                rows = range(max(r0, 0), min(r0 + kh, height))
                cols = range(max(s0, 0), min(s0 + kw, width))
                cells = [(r, s) for r in rows for s in cols]  # row-major
                for ch in range(c):
                    values = [x[b, r, s, ch] for r, s in cells]
                    if mode in ("max", "min"):
                        # argmax/argmin: the first extreme cell, or the first NaN
                        k = int(np.argmax(values) if mode == "max" else np.argmin(values))
                        y[b, i, j, ch] = values[k]
                        if gx is not None:
                            gx[b, cells[k][0], cells[k][1], ch] += gy[b, i, j, ch]
                        continue
                    scale = 1.0 if mode == "sum" else 1.0 / len(cells)
                    y[b, i, j, ch] = sum(values) * scale
                    if gx is not None:
                        for r, s in cells:
                            gx[b, r, s, ch] += gy[b, i, j, ch] * scale
    return y, gx


def _is_2x2(pool, strides, pads) -> bool:
    """Whether the geometry is 2x2 windows at stride 2 without padding, the notes' pooling."""
    return tuple(pool) == tuple(strides) == (2, 2) and not any(p for side in pads for p in side)


def plan(x, pool, strides, pads, mode: str, for_backward: bool = True) -> str:
    """Which implementation pools ``x``, by name (one of ``PATHS``); the only place that
    chooses.

    - ``'compiled-2x2'``: max/min of NumPy floats over 2x2 windows at stride 2, training;
    - ``'compiled-2x2-inference'``: the same without recording winners (``for_backward``
      False);
    - ``'compiled'``: max/min of NumPy floats over any other windows, training;
    - ``'numpy'``: the tap loop, for everything else (sum, average, CuPy, integer maps, no
      Numba, and inference of max/min over other windows, where it beats the compiled loop
      as it records no winner).

    >>> plan(np.zeros((1, 4, 4, 1)), (2, 2), (2, 2), ((0, 0), (0, 0)), "avg")
    'numpy'
    """
    if mode in ("max", "min") and usable(x):
        if _is_2x2(pool, strides, pads):
            return "compiled-2x2" if for_backward else "compiled-2x2-inference"
        if for_backward:
            return "compiled"
    return "numpy"


def pool2d_forward(x, pool, strides, pads, mode: str, for_backward: bool = True):
    """Pool every (KH, KW) window of ``x``; returns ``(y, cache)``, a :class:`PoolCache`.

    ``pool`` and ``strides`` are pairs, ``pads`` is ``((top, bottom), (left, right))`` and
    ``mode`` one of ``'max'``, ``'min'``, ``'sum'``, ``'avg'``. Every window must overlap the
    input (the op checks this), so no average divides by zero. ``y`` keeps the dtype of ``x``
    (integer averages become floating point). ``for_backward=False`` (inference) lets max
    and min pooling skip recording their winners.
    """
    assert mode in MODES, mode
    _, height, width, _ = x.shape
    out_hw = tuple(conv_output_size((height, width)[a], pool[a], strides[a], padding=sum(pads[a]))
                   for a in range(2))
    path = plan(x, pool, strides, pads, mode, for_backward)
    geometry = (mode, x.shape, pool, strides, pads, out_hw)
    if path == "compiled":
        y, won = pool_jit.extreme_windows(x, pool, strides, pads, out_hw, mode)
        return y, PoolCache(path, *geometry, won=won)
    if path.startswith("compiled-2x2"):
        y, won = pool_jit.extreme_2x2(x, mode, record=path == "compiled-2x2")
        return y, PoolCache(path, *geometry, won=won)
    return _taps_forward(x, PoolCache(path, *geometry))


def pool2d_backward(gy, cache: PoolCache):
    """Gradient with respect to ``x`` of :func:`pool2d_forward`, shape (N, H, W, C)."""
    if cache.path.startswith("compiled"):
        assert cache.won is not None, "an inference forward records no winners"
        return pool_jit.extreme_pool_backward(gy, cache.won, cache.x_shape, cache.pool,
                                              cache.strides, cache.pads)
    return _taps_backward(gy, cache)


# The NumPy tap loop visits the (padded) input one window *tap* at a time: tap (i, j) of every
# window is the strided slice xpad[:, i::SH, j::SW] cut to (OH, OW), so a KH*KW loop of
# whole-array maximum/minimum/add calls reduces all windows at once, and backward writes into
# the same slices of a gradient buffer. It exists because NumPy reduces short non-trailing
# axes slowly (an as_strided window view reduced over its window axes is several times
# slower), and it runs unchanged on CuPy and on integer maps.


def _fill_value(mode: str, dtype, xp):
    """The padding value that can never be picked by the reduction."""
    if mode in ("sum", "avg"):
        return 0
    if dtype.kind == "f":
        return -xp.inf if mode == "max" else xp.inf
    info = xp.iinfo(dtype)  # integer maps (the notes' examples) cannot hold inf
    return info.min if mode == "max" else info.max


def _pad(x, pads, value):
    """``x`` surrounded by ``value``; ``x`` itself (no copy) when there is no padding."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    xp = get_array_module(x)
    n, height, width, c = x.shape
    xpad = xp.full((n, height + top + bottom, width + left + right, c), value, dtype=x.dtype)
    xpad[:, top : top + height, left : left + width] = x
    return xpad


def _taps(pool):
    """The window's cells ``(i, j)`` in row-major order."""
    return [(i, j) for i in range(pool[0]) for j in range(pool[1])]


def _tap(a, i, j, out_hw, strides):
    """Pixel ``(i, j)`` of every window: a strided (N, OH, OW, C) view of the padded ``a``."""
    (oh, ow), (sh, sw) = out_hw, strides
    return a[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw]


def window_counts(size_hw, pool, strides, pads, out_hw, xp, dtype):
    """Input (non-padded) cells in each window, shape (1, OH, OW, 1).

    Separable: the count is (rows inside the input) * (columns inside the input).
    """
    per_axis = []
    for a in range(2):
        start = xp.arange(out_hw[a]) * strides[a] - pads[a][0]
        stop = start + pool[a]
        per_axis.append(xp.clip(stop, 0, size_hw[a]) - xp.clip(start, 0, size_hw[a]))
    counts = per_axis[0][:, None] * per_axis[1][None, :]  # (OH, OW)
    return counts.reshape(1, out_hw[0], out_hw[1], 1).astype(dtype)


def _taps_forward(x, cache: PoolCache):
    """:func:`pool2d_forward` as a loop over the window's taps; ``cache`` holds the geometry."""
    xp = get_array_module(x)
    mode, pool, strides, pads = cache.mode, cache.pool, cache.strides, cache.pads
    out_hw = cache.out_hw
    xpad = _pad(x, pads, _fill_value(mode, x.dtype, xp))
    combine = {"max": xp.maximum, "min": xp.minimum}.get(mode, xp.add)
    views = [_tap(xpad, i, j, out_hw, strides) for i, j in _taps(pool)]
    y = combine(views[0], views[1]) if len(views) > 1 else views[0].copy()  # (N, OH, OW, C)
    for view in views[2:]:
        combine(y, view, out=y)
    if mode == "avg":
        has_pad = any(p for side in pads for p in side)
        dtype = x.dtype if x.dtype.kind == "f" else xp.float64
        counts = (window_counts(x.shape[1:3], pool, strides, pads, out_hw, xp, dtype)
                  if has_pad else pool[0] * pool[1])
        return y / counts, cache._replace(counts=counts)
    if mode in ("max", "min"):
        return y, cache._replace(xpad=xpad, y=y)
    return y, cache


def _winners(cache: PoolCache):
    """Yield ``((i, j), hit)``: which windows' winner sits at tap (i, j), bool (N, OH, OW, C).

    A cell ties the window's result ``y`` when ``y`` would not take the window from it
    (:func:`~svertka.kernels.rules.takes_max`): it holds the extreme, or a NaN of a NaN
    window. Without a NaN in ``y`` the rule reduces to ``cell == y`` (``y`` is at least every
    cell of its window), one comparison instead of five. Scanning taps in row-major order
    and keeping only windows not yet taken gives the gradient to the first such cell; the
    last tap takes whatever is left, as every window's result is one of its cells.
    """
    xp = get_array_module(cache.y)
    sign = 1 if cache.mode == "max" else -1  # min pooling is max pooling of -x, exactly
    has_nan = cache.y.dtype.kind == "f" and bool(xp.isnan(cache.y).any())
    free = None  # windows whose gradient no earlier tap has taken
    taps = _taps(cache.pool)
    for k, (i, j) in enumerate(taps):
        if free is not None and k == len(taps) - 1:
            yield (i, j), free
            return
        tap = _tap(cache.xpad, i, j, cache.out_hw, cache.strides)
        if has_nan:
            hit = ~takes_max.py_func(sign * cache.y, sign * tap)
        else:
            hit = tap == cache.y
        if free is None:
            free = ~hit
        else:
            hit &= free
            free ^= hit  # hit is a subset of free, so xor removes it
        yield (i, j), hit


def _taps_backward(gy, cache: PoolCache):
    """:func:`pool2d_backward` of :func:`_taps_forward`.

    Each tap's gradient is written into its strided slice of a padded gradient buffer; where
    windows overlap (stride < pool) the slices overlap and contributions add up. Windows that
    do not overlap are simply assigned, and when they also tile the padded input exactly (the
    usual 2x2 stride 2) the buffer needs no zero fill. The padding is cropped at the end.
    """
    xp = get_array_module(gy)
    mode, pool, strides, out_hw = cache.mode, cache.pool, cache.strides, cache.out_hw
    (top, bottom), (left, right) = cache.pads
    n, height, width, c = cache.x_shape
    padded_shape = (n, height + top + bottom, width + left + right, c)
    disjoint = strides[0] >= pool[0] and strides[1] >= pool[1]
    tiles = tuple(strides) == tuple(pool) and padded_shape[1:3] == (out_hw[0] * pool[0],
                                                                      out_hw[1] * pool[1])
    gxpad = (xp.empty if tiles else xp.zeros)(padded_shape, dtype=gy.dtype)
    if mode in ("max", "min"):
        for (i, j), hit in _winners(cache):
            dst = _tap(gxpad, i, j, out_hw, strides)
            if disjoint:
                xp.multiply(gy, hit, out=dst)
            else:
                dst += gy * hit
    else:
        g = gy if mode == "sum" else gy / cache.counts
        for i, j in _taps(pool):
            dst = _tap(gxpad, i, j, out_hw, strides)
            if disjoint:
                dst[...] = g
            else:
                dst += g
    if padded_shape == cache.x_shape:
        return gxpad
    return xp.ascontiguousarray(gxpad[:, top : top + height, left : left + width])


def global_pool2d_forward(x, mode: str):
    """Average or maximum over the whole map: (N, H, W, C) -> (N, C); returns ``(y, cache)``,
    a :class:`GlobalPoolCache`."""
    assert mode in ("max", "avg"), mode
    if mode == "avg":
        return x.mean(axis=(1, 2)), GlobalPoolCache(mode, x.shape)
    return x.max(axis=(1, 2)), GlobalPoolCache(mode, x.shape, x)


def global_pool2d_backward(gy, cache: GlobalPoolCache):
    """Gradient of :func:`global_pool2d_forward`; a tied maximum sends it to the first pixel
    (``argmax`` picks the first maximum, or the first NaN, as :func:`pool2d_naive`)."""
    xp = get_array_module(gy)
    n, height, width, c = cache.x_shape
    if cache.mode == "avg":
        g = gy / (height * width)  # (N, C)
        return xp.broadcast_to(g[:, None, None, :], (n, height, width, c)).copy()
    first = cache.x.reshape(n, height * width, c).argmax(axis=1)  # (N, C)
    hit = xp.arange(height * width)[None, :, None] == first[:, None, :]  # (N, H*W, C)
    return (hit * gy[:, None, :]).reshape(n, height, width, c)
