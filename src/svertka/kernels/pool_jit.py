"""Max and min pooling as compiled loops (see :mod:`svertka.kernels.jit`), which
:func:`svertka.kernels.pool.plan` picks for NumPy floats.

Same contract as the definition in :mod:`svertka.kernels.pool`: windows are clipped to the
input (padded cells never win), a cell takes its window by
:func:`svertka.kernels.rules.takes_max` (ties to the first extreme cell in row-major order, a
NaN window to its first NaN), and overlapping windows add their gradients. Forward records,
for every output cell, which tap of its window won (int32, the width that keeps the channel
loop vectorised); backward sends ``gy`` there. Both take the batch in slices, one per core
(:mod:`svertka.parallel`). Min pooling compares ``sign * v`` with ``sign = -1``, which turns
it into max pooling exactly.
"""

from __future__ import annotations

import numpy as np

from svertka.kernels.jit import jit
from svertka.kernels.rules import takes_max
from svertka.parallel import min_samples, over_batch


@jit
def _extreme_forward(x, kh, kw, sh, sw, top, left, sign, y, tap):
    """y[n, i, j, c] = extreme of x over window (i, j); tap = its index p*KW + q in the window.

    ``sign`` is 1.0 for max, -1.0 for min. The window is first clipped to the input (rows
    p0..p1, columns q0..q1), its first cell taken as the start; the channel loop is innermost
    and branch-free, so it compiles to vector instructions.
    """
    n, height, width, c = x.shape
    _, oh, ow, _ = y.shape
    for b in range(n):
        for i in range(oh):
            r0 = i * sh - top
            p0, p1 = max(0, -r0), min(kh, height - r0)
            for j in range(ow):
                s0 = j * sw - left
                q0, q1 = max(0, -s0), min(kw, width - s0)
                k0 = np.int32(p0 * kw + q0)
                for ch in range(c):
                    y[b, i, j, ch] = x[b, r0 + p0, s0 + q0, ch]
                    tap[b, i, j, ch] = k0
                for p in range(p0, p1):
                    for q in range(q0, q1):
                        if p == p0 and q == q0:
                            continue
                        k = np.int32(p * kw + q)
                        for ch in range(c):
                            v, best = x[b, r0 + p, s0 + q, ch], y[b, i, j, ch]
                            take = takes_max(sign * v, sign * best)
                            y[b, i, j, ch] = v if take else best
                            tap[b, i, j, ch] = k if take else tap[b, i, j, ch]


@jit
def _extreme_2x2(x, sign, y, tap):
    """2x2 windows at stride 2 without padding, the notes' pooling: each window's four cells
    are compared in registers and its extreme is stored once, where the general loop above
    reads and writes y and tap for every cell."""
    n, oh, ow, c = y.shape
    for b in range(n):
        for i in range(oh):
            top, bottom = x[b, 2 * i], x[b, 2 * i + 1]
            for j in range(ow):
                c0, c1, c2, c3 = top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]
                out, won = y[b, i, j], tap[b, i, j]
                for ch in range(c):
                    best, k = c0[ch], np.int32(0)
                    v = c1[ch]
                    if takes_max(sign * v, sign * best):
                        best, k = v, np.int32(1)
                    v = c2[ch]
                    if takes_max(sign * v, sign * best):
                        best, k = v, np.int32(2)
                    v = c3[ch]
                    if takes_max(sign * v, sign * best):
                        best, k = v, np.int32(3)
                    out[ch] = best
                    won[ch] = k


@jit
def _extreme_2x2_values(x, sign, y):
    """:func:`_extreme_2x2` without recording the winners, for inference: one pass, one
    store per output."""
    n, oh, ow, c = y.shape
    for b in range(n):
        for i in range(oh):
            top, bottom = x[b, 2 * i], x[b, 2 * i + 1]
            for j in range(ow):
                c0, c1, c2, c3 = top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]
                out = y[b, i, j]
                for ch in range(c):
                    best = c0[ch]
                    v = c1[ch]
                    if takes_max(sign * v, sign * best):
                        best = v
                    v = c2[ch]
                    if takes_max(sign * v, sign * best):
                        best = v
                    v = c3[ch]
                    if takes_max(sign * v, sign * best):
                        best = v
                    out[ch] = best


@jit
def _extreme_backward_tiled(gy, tap, kh, kw, gx):
    """Windows tile gx exactly (stride = pool, no padding): every cell written once."""
    n, oh, ow, c = gy.shape
    for b in range(n):
        for i in range(oh):
            for p in range(kh):
                r = i * kh + p
                for j in range(ow):
                    for q in range(kw):
                        s = j * kw + q
                        k = p * kw + q
                        for ch in range(c):
                            gx[b, r, s, ch] = gy[b, i, j, ch] if tap[b, i, j, ch] == k else 0.0


@jit
def _extreme_backward_scatter(gy, tap, kw, sh, sw, top, left, gx):
    """Any geometry: gx (zero-filled) += gy at each window's winning cell."""
    n, oh, ow, c = gy.shape
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    k = tap[b, i, j, ch]
                    gx[b, i * sh - top + k // kw, j * sw - left + k % kw, ch] += gy[b, i, j, ch]


def _sign(x, mode: str):
    """1 for max pooling, -1 for min pooling, in the dtype of ``x``."""
    return x.dtype.type(1.0 if mode == "max" else -1.0)


def extreme_2x2(x, mode: str, record: bool = True):
    """Max (``mode='max'``) or min pooling of float ``x`` (N, H, W, C) over 2x2 windows at
    stride 2 without padding; returns ``(y, taps)``, ``taps`` None without ``record``."""
    n, height, width, c = x.shape
    x = np.ascontiguousarray(x)
    y = np.empty((n, height // 2, width // 2, c), dtype=x.dtype)
    sign = _sign(x, mode)
    if record:
        taps = np.empty(y.shape, dtype=np.int32)

        def run(s):
            _extreme_2x2(x[s], sign, y[s], taps[s])
    else:
        taps = None

        def run(s):
            _extreme_2x2_values(x[s], sign, y[s])
    over_batch(run, n, min_samples(x.size // max(n, 1)))
    return y, taps


def extreme_windows(x, pool, strides, pads, out_hw, mode: str):
    """Max (``mode='max'``) or min pooling of float ``x`` (N, H, W, C) over any windows;
    returns ``(y, taps)``: ``taps`` (N, OH, OW, C) int32 holds the winning cell of each
    window, ``p * KW + q``, for backward."""
    (kh, kw), (sh, sw), ((top, _), (left, _)) = pool, strides, pads
    n, _, _, c = x.shape
    x = np.ascontiguousarray(x)
    y = np.empty((n, out_hw[0], out_hw[1], c), dtype=x.dtype)
    taps = np.empty(y.shape, dtype=np.int32)
    sign = _sign(x, mode)

    def run(s):
        _extreme_forward(x[s], kh, kw, sh, sw, top, left, sign, y[s], taps[s])
    over_batch(run, n, min_samples(x.size // max(n, 1)))
    return y, taps


def extreme_pool_backward(gy, taps, x_shape, pool, strides, pads):
    """Gradient with respect to x of :func:`extreme_2x2` or :func:`extreme_windows`, shape
    ``x_shape``: ``gy`` goes to each window's winning cell."""
    (kh, kw), (sh, sw), ((top, bottom), (left, right)) = pool, strides, pads
    _, height, width, _ = x_shape
    gy = np.ascontiguousarray(gy)
    tiles = (sh, sw) == (kh, kw) and (top, bottom, left, right) == (0, 0, 0, 0) and (
        (height, width) == (gy.shape[1] * kh, gy.shape[2] * kw))
    if tiles:  # every cell of gx is written once: no zero fill
        gx = np.empty(x_shape, dtype=gy.dtype)

        def run(s):
            _extreme_backward_tiled(gy[s], taps[s], kh, kw, gx[s])
    else:
        gx = np.zeros(x_shape, dtype=gy.dtype)

        def run(s):
            _extreme_backward_scatter(gy[s], taps[s], kw, sh, sw, top, left, gx[s])

    # a sample's windows stay in it: slices of the batch write disjoint parts of gx
    over_batch(run, gy.shape[0], min_samples(gx.size // max(len(gx), 1)))
    return gx
