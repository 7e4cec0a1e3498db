"""Pooling kernels: max, min, sum and average over 2-D windows, and global pooling.

Shape legend (channels-last)::

    x   (N, H, W, C)     input                 y, gy   (N, OH, OW, C)   output, its gradient
    KH, KW               pool window           SH, SW                   strides
    pads ((top, bottom), (left, right))        explicit, already resolved by the op

One core serves the four reductions. The (padded) input is visited one window *tap* at a
time: tap ``(i, j)`` of every window is the strided slice ``xpad[:, i::SH, j::SW]`` cut to
(OH, OW), so a ``KH*KW`` loop of whole-array ``maximum``/``minimum``/``add`` calls reduces all
windows at once, and backward scatters into the same slices of a gradient buffer. On the MNIST
shapes this is about 4x faster in NumPy than reducing an ``as_strided`` window view
(N, OH, OW, KH, KW, C) (or the exact-tiling reshape (N, OH, KH, OW, KW, C)) over its window
axes, because NumPy reduces short non-trailing axes slowly; it also runs unchanged on CuPy.

Padded cells hold a value that never wins (-inf for max, +inf for min, 0 for sum and
average), and the average divides by the number of *input* cells in each window, so padding
is excluded from the count (Keras/TF 'same', PyTorch ``count_include_pad=False``).

Ties in max/min pooling: the whole gradient goes to the first extreme element of the window
in row-major order (as PyTorch does), so the gradient is a valid subgradient and sums to gy.

>>> import numpy as np
>>> x = np.array([[6., 6, 6, 6], [4, 5, 5, 4], [2, 4, 4, 2], [2, 4, 4, 2]]).reshape(1, 4, 4, 1)
>>> y, cache = pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)), "avg")
>>> y[0, :, :, 0].tolist()
[[5.25, 5.25], [3.0, 3.0]]
"""

from __future__ import annotations

from svertka.backend import get_array_module
from svertka.kernels.jit import usable
from svertka.kernels.pool_jit import extreme_pool_backward, extreme_pool_forward, is_2x2
from svertka.kernels.shapes import conv_output_size

MODES = ("max", "min", "sum", "avg")


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
    n, h, w, c = x.shape
    xpad = xp.full((n, h + top + bottom, w + left + right, c), value, dtype=x.dtype)
    xpad[:, top : top + h, left : left + w] = x
    return xpad


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


def pool2d_forward(x, pool, strides, pads, mode: str, for_backward: bool = True):
    """Pool every (KH, KW) window of ``x``; returns ``(y, cache)``.

    ``pool`` and ``strides`` are pairs, ``pads`` is ``((top, bottom), (left, right))`` and
    ``mode`` one of ``'max'``, ``'min'``, ``'sum'``, ``'avg'``. Every window must overlap the
    input (the op checks this), so no average divides by zero. ``y`` keeps the dtype of ``x``
    (integer averages become floating point). The cache holds the geometry, plus the padded
    input and ``y`` for max/min (backward compares them) or the counts for the average.

    For training, max/min pooling of NumPy floats runs as a compiled loop where Numba is
    installed (:mod:`svertka.kernels.pool_jit`), its cache holding the winning tap of each
    window. Inference (``for_backward=False``) of 2x2 windows at stride 2 runs a compiled
    pass that records no winner; other geometries keep the tap loop below, faster than the
    general compiled loop when no winner needs recording (0.4 against 0.7 ms on the notes'
    first pooling layer).
    """
    assert mode in MODES, mode
    xp = get_array_module(x)
    n, h, w, c = x.shape
    out_hw = tuple(
        conv_output_size((h, w)[a], pool[a], strides[a], padding=sum(pads[a])) for a in range(2)
    )
    geometry = {"mode": mode, "x_shape": x.shape, "pool": pool, "strides": strides, "pads": pads}
    if mode in ("max", "min") and usable(x) and (for_backward or is_2x2(pool, strides, pads)):
        y, won = extreme_pool_forward(x, pool, strides, pads, out_hw, mode, for_backward)
        return y, {**geometry, "won": won}
    xpad = _pad(x, pads, _fill_value(mode, x.dtype, xp))
    combine = {"max": xp.maximum, "min": xp.minimum}.get(mode, xp.add)
    taps = [(i, j) for i in range(pool[0]) for j in range(pool[1])]
    views = [_tap(xpad, i, j, out_hw, strides) for i, j in taps]
    y = combine(views[0], views[1]) if len(views) > 1 else views[0].copy()  # (N, OH, OW, C)
    for view in views[2:]:
        combine(y, view, out=y)
    counts = None
    if mode == "avg":
        has_pad = any(p for side in pads for p in side)
        dtype = x.dtype if x.dtype.kind == "f" else xp.float64
        counts = (
            window_counts((h, w), pool, strides, pads, out_hw, xp, dtype)
            if has_pad
            else pool[0] * pool[1]
        )
        y = y / counts
    extremes = (xpad, y) if mode in ("max", "min") else None
    cache = {
        **geometry,
        "padded_shape": xpad.shape,
        "out_hw": out_hw,
        "taps": taps,
        "extremes": extremes,
        "counts": counts,
    }
    return y, cache


def _winners(cache):
    """Yield ``((i, j), hit)``: which windows' extreme sits at tap (i, j), bool (N, OH, OW, C).

    Scanning taps in row-major order and keeping only windows not yet taken sends a tie's
    whole gradient to its first element, and a NaN window's to its first NaN.
    """
    xpad, y = cache["extremes"]
    taps = cache["taps"]
    xp = get_array_module(y)
    nan_y = xp.isnan(y) if y.dtype.kind == "f" and xp.isnan(y).any() else None
    free = None  # windows whose gradient no earlier tap has taken
    for k, (i, j) in enumerate(taps):
        tap = _tap(xpad, i, j, cache["out_hw"], cache["strides"])
        hit = tap == y
        if nan_y is not None:  # a NaN wins its window (maximum propagates it): its first NaN
            hit |= nan_y & xp.isnan(tap)
        if free is None:
            free = ~hit
        else:
            hit &= free
            if k < len(taps) - 1:
                free ^= hit  # hit is a subset of free, so xor removes it
        yield (i, j), hit


def pool2d_backward(gy, cache):
    """Gradient with respect to ``x`` of :func:`pool2d_forward`, shape (N, H, W, C).

    Each tap's gradient is written into its strided slice of a padded gradient buffer; where
    windows overlap (stride < pool) the slices overlap and contributions add up. Windows that
    do not overlap are simply assigned, and when they also tile the padded input exactly (the
    usual 2x2 stride 2) the buffer needs no zero fill. The padding is cropped at the end.
    """
    if "won" in cache:  # the compiled forward ran
        return extreme_pool_backward(gy, cache["won"], cache["x_shape"], cache["pool"],
                                     cache["strides"], cache["pads"])
    xp = get_array_module(gy)
    mode, pool, strides, out_hw = cache["mode"], cache["pool"], cache["strides"], cache["out_hw"]
    hp, wp = cache["padded_shape"][1:3]
    disjoint = strides[0] >= pool[0] and strides[1] >= pool[1]
    tiles = tuple(strides) == tuple(pool) and (hp, wp) == (out_hw[0] * pool[0], out_hw[1] * pool[1])
    gxpad = (xp.empty if tiles else xp.zeros)(cache["padded_shape"], dtype=gy.dtype)
    if mode in ("max", "min"):
        for (i, j), hit in _winners(cache):
            dst = _tap(gxpad, i, j, out_hw, strides)
            if disjoint:
                xp.multiply(gy, hit, out=dst)
            else:
                dst += gy * hit
    else:
        g = gy if mode == "sum" else gy / cache["counts"]
        for i, j in cache["taps"]:
            dst = _tap(gxpad, i, j, out_hw, strides)
            if disjoint:
                dst[...] = g
            else:
                dst += g
    (top, _), (left, _) = cache["pads"]
    _, h, w, _ = cache["x_shape"]
    if (hp, wp) == (h, w):
        return gxpad
    return xp.ascontiguousarray(gxpad[:, top : top + h, left : left + w])


def global_pool2d_forward(x, mode: str):
    """Average or maximum over the whole map: (N, H, W, C) -> (N, C); returns ``(y, cache)``."""
    assert mode in ("max", "avg"), mode
    if mode == "avg":
        return x.mean(axis=(1, 2)), {"mode": mode, "x": None, "x_shape": x.shape}
    return x.max(axis=(1, 2)), {"mode": mode, "x": x, "x_shape": x.shape}


def global_pool2d_backward(gy, cache):
    """Gradient of :func:`global_pool2d_forward`; a tied maximum sends it to the first pixel."""
    xp = get_array_module(gy)
    n, h, w, c = cache["x_shape"]
    if cache["mode"] == "avg":
        return xp.broadcast_to((gy / (h * w))[:, None, None, :], (n, h, w, c)).copy()
    first = cache["x"].reshape(n, h * w, c).argmax(axis=1)  # (N, C); argmax picks the first
    hit = xp.arange(h * w)[None, :, None] == first[:, None, :]  # (N, H*W, C)
    return (hit * gy[:, None, :]).reshape(n, h, w, c)
