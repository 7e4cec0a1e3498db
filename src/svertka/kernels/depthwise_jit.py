"""Depthwise convolution as compiled loops (see :mod:`svertka.kernels.jit`), forward, input
gradient and filter gradient, each core taking a slice of the batch (:mod:`svertka.parallel`).

Why it exists: a depthwise convolution does KH*KW multiply-adds per output value, too few
for a GEMM, so im2col would copy nine times the input to do almost no arithmetic, and the
NumPy definition (:func:`svertka.kernels.depthwise.numpy_forward`) makes one pass over the
output per kernel tap with a temporary each time. Here each output row stays in cache while
every tap adds into it, the channel loop innermost, contiguous, vectorised.

The filters arrive flattened to (KH, KW, C*M), the output channel ``c*M + k`` next to its
weight; taps falling in the zero padding are skipped, so nothing is padded or cropped.
"""

from __future__ import annotations

import numpy as np

from svertka.kernels.jit import jit
from svertka.parallel import min_samples, over_batch


@jit
def _forward(x, w, m, b, has_bias, sh, sw, dh, dw, top, left, y):
    """y (n, OH, OW, C*M) = b + the depthwise convolution of x (n, H, W, C) with w."""
    n, h, width, c = x.shape
    kh, kw = w.shape[0], w.shape[1]
    oh, ow, cm = y.shape[1], y.shape[2], y.shape[3]
    for s_ in range(n):
        for i in range(oh):
            out = y[s_, i]  # (OW, C*M), in cache while every tap adds into it
            for j in range(ow):
                for k in range(cm):
                    out[j, k] = b[k] if has_bias else 0.0
            for p in range(kh):
                r = i * sh + p * dh - top
                if r < 0 or r >= h:
                    continue
                row = x[s_, r]
                for q in range(kw):
                    tap = w[p, q]
                    for j in range(ow):
                        col = j * sw + q * dw - left
                        if col < 0 or col >= width:
                            continue
                        xs, o = row[col], out[j]
                        if m == 1:
                            for ch in range(c):
                                o[ch] += xs[ch] * tap[ch]
                        else:
                            for ch in range(c):
                                v = xs[ch]
                                for k in range(m):
                                    o[ch * m + k] += v * tap[ch * m + k]


@jit
def _input_grad(gy, w, m, sh, sw, dh, dw, top, left, gx):
    """gx (n, H, W, C) = the gradient of x for gy (n, OH, OW, C*M)."""
    n, h, width, c = gx.shape
    kh, kw = w.shape[0], w.shape[1]
    oh, ow = gy.shape[1], gy.shape[2]
    gx[:] = 0.0
    for s_ in range(n):
        for i in range(oh):
            grow = gy[s_, i]
            for p in range(kh):
                r = i * sh + p * dh - top
                if r < 0 or r >= h:
                    continue
                dst_row = gx[s_, r]
                for q in range(kw):
                    tap = w[p, q]
                    for j in range(ow):
                        col = j * sw + q * dw - left
                        if col < 0 or col >= width:
                            continue
                        g, dst = grow[j], dst_row[col]
                        if m == 1:
                            for ch in range(c):
                                dst[ch] += g[ch] * tap[ch]
                        else:
                            for ch in range(c):
                                acc = 0.0
                                for k in range(m):
                                    acc += g[ch * m + k] * tap[ch * m + k]
                                dst[ch] += acc


@jit
def _filter_grad(x, gy, m, sh, sw, dh, dw, top, left, gw):
    """gw (KH, KW, C*M) += the gradient of the filters for gy (n, OH, OW, C*M)."""
    n, h, width, c = x.shape
    kh, kw = gw.shape[0], gw.shape[1]
    oh, ow = gy.shape[1], gy.shape[2]
    for s_ in range(n):
        for i in range(oh):
            grow = gy[s_, i]
            for p in range(kh):
                r = i * sh + p * dh - top
                if r < 0 or r >= h:
                    continue
                row = x[s_, r]
                for q in range(kw):
                    acc = gw[p, q]
                    for j in range(ow):
                        col = j * sw + q * dw - left
                        if col < 0 or col >= width:
                            continue
                        xs, g = row[col], grow[j]
                        if m == 1:
                            for ch in range(c):
                                acc[ch] += xs[ch] * g[ch]
                        else:
                            for ch in range(c):
                                v = xs[ch]
                                for k in range(m):
                                    acc[ch * m + k] += v * g[ch * m + k]


def _geometry(strides, dilation, pads) -> tuple:
    (sh, sw), (dh, dw), ((top, _), (left, _)) = strides, dilation, pads
    return sh, sw, dh, dw, top, left


def forward(x, w, b, strides, pads, dilation, out_hw):
    """y (N, OH, OW, C*M) for x (N, H, W, C), w (KH, KW, C, M), b (C*M,) or None: C-contiguous
    NumPy arrays of one float dtype."""
    n, _, _, c = x.shape
    kh, kw, _, m = w.shape
    w3 = w.reshape(kh, kw, c * m)  # (KH, KW, C*M)
    y = np.empty((n, *out_hw, c * m), dtype=x.dtype)
    bias = w3[0, 0] if b is None else b  # a placeholder of the right type without bias
    geometry = _geometry(strides, dilation, pads)
    over_batch(lambda s: _forward(x[s], w3, m, bias, b is not None, *geometry, y[s]),
               n, min_samples(out_hw[0] * out_hw[1] * w.size))
    return y


def backward(gy, x, w, strides, pads, dilation, need_gx: bool, need_gw: bool):
    """``(gx, gw)`` of :func:`forward` for gy (N, OH, OW, C*M), C-contiguous and of x's dtype,
    each None where not needed; gw sums the slices' parts."""
    n, oh, ow, _ = gy.shape
    kh, kw, c, m = w.shape
    w3 = w.reshape(kh, kw, c * m)
    geometry = _geometry(strides, dilation, pads)
    gx = np.empty(x.shape, dtype=x.dtype) if need_gx else None

    def run(s):
        if need_gx:
            _input_grad(gy[s], w3, m, *geometry, gx[s])
        if not need_gw:
            return None
        gw = np.zeros((kh, kw, c * m), dtype=x.dtype)
        _filter_grad(x[s], gy[s], m, *geometry, gw)
        return gw

    parts = over_batch(run, n, min_samples(oh * ow * w.size))
    gw = sum(parts).reshape(w.shape) if need_gw else None
    return gx, gw
