"""3x3 convolution of a few channels, fused with its bias, ReLU and a 2x2 max-pool, as
compiled loops (see :mod:`svertka.kernels.jit`), for inference and training.

Why it exists: the first layer of an image network sees 1 (grey) or 3 (RGB) channels. Its
im2col matrix then has K = 9 or 27 columns, a GEMM too thin for BLAS to run fast, and its
output, C_out channels per pixel, is many times the input's size: the pooling that follows
reads it all back only to keep a quarter, and in training its gradient is as large again.

:func:`conv3x3_maxpool` computes one 2x2 pooling window at a time: the 4x4 input patch it
needs (16 numbers per channel) is loaded once, the four outputs come out of 36 multiply-adds
per filter, with the filters innermost so that they run as vector instructions, and only the
largest of the four (plus bias, then ReLU) is stored, with, in training, which cell it was.
:func:`conv3x3_maxpool_filter_grad` is its backward for the filters and the bias: each
window's gradient, masked by the winners into its four cells, times the four input values
under every filter tap.

Numbers: ``y = pool(relu(conv(x) + b))`` equals the unfused layers up to float rounding (the
sums run over each channel's taps, then over the channels, then add the bias; BLAS orders
them its own way). Pooling after the bias and ReLU changes nothing: ``max(v + b) = max(v) + b``
and ``max(relu(v)) = relu(max(v))`` hold exactly in floating point, rounding being monotone.
Pooling's tie and NaN rule and ReLU are the shared rules of :mod:`svertka.kernels.rules`.
"""

from __future__ import annotations

import numpy as np

from svertka.kernels.jit import jit
from svertka.kernels.rules import maxpool_relu_2x2


@jit
def conv3x3_maxpool(xpad, w, bias, relu, y, won):
    """y[b, i, j] = max over the 2x2 window (2i.., 2j..) of conv(xpad, w) + bias, then ReLU.

    ``xpad`` (N, Hp, Wp, C) is the already padded input, ``w`` (3, 3, C, C_out), ``bias``
    (C_out,), ``y`` (N, PH, PW, C_out) with 2*PH + 2 <= Hp and 2*PW + 2 <= Wp.

    For training, ``won`` (int32, like y) records which cell of each window won (0..3,
    row-major; ties to the first, the first NaN wins, as in the pooling kernels), or 4 where
    the ReLU lets no gradient through (the window's maximum not > 0). At inference pass an
    empty ``won``: nothing is recorded.
    """
    n, _, _, c = xpad.shape
    co = w.shape[3]
    record = won.size > 0
    acc = np.empty((4, co), dtype=y.dtype)  # the window's four outputs, summed over channels
    a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]
    for b in range(n):
        for i in range(y.shape[1]):
            r0, r1 = xpad[b, 2 * i], xpad[b, 2 * i + 1]  # the four input rows of window row i
            r2, r3 = xpad[b, 2 * i + 2], xpad[b, 2 * i + 3]
            for j in range(y.shape[2]):
                s = 2 * j
                for o in range(co):
                    a0[o] = 0.0
                    a1[o] = 0.0
                    a2[o] = 0.0
                    a3[o] = 0.0
                for ch in range(c):
                    # the 4x4 patch of this channel, x<row><column>
                    x00, x01, x02, x03 = r0[s, ch], r0[s + 1, ch], r0[s + 2, ch], r0[s + 3, ch]
                    x10, x11, x12, x13 = r1[s, ch], r1[s + 1, ch], r1[s + 2, ch], r1[s + 3, ch]
                    x20, x21, x22, x23 = r2[s, ch], r2[s + 1, ch], r2[s + 2, ch], r2[s + 3, ch]
                    x30, x31, x32, x33 = r3[s, ch], r3[s + 1, ch], r3[s + 2, ch], r3[s + 3, ch]
                    w0, w1, w2 = w[0, 0, ch], w[0, 1, ch], w[0, 2, ch]
                    w3, w4, w5 = w[1, 0, ch], w[1, 1, ch], w[1, 2, ch]
                    w6, w7, w8 = w[2, 0, ch], w[2, 1, ch], w[2, 2, ch]
                    for o in range(co):
                        k0, k1, k2, k3, k4 = w0[o], w1[o], w2[o], w3[o], w4[o]
                        k5, k6, k7, k8 = w5[o], w6[o], w7[o], w8[o]
                        a0[o] += (x00 * k0 + x01 * k1 + x02 * k2 + x10 * k3 + x11 * k4
                                  + x12 * k5 + x20 * k6 + x21 * k7 + x22 * k8)
                        a1[o] += (x01 * k0 + x02 * k1 + x03 * k2 + x11 * k3 + x12 * k4
                                  + x13 * k5 + x21 * k6 + x22 * k7 + x23 * k8)
                        a2[o] += (x10 * k0 + x11 * k1 + x12 * k2 + x20 * k3 + x21 * k4
                                  + x22 * k5 + x30 * k6 + x31 * k7 + x32 * k8)
                        a3[o] += (x11 * k0 + x12 * k1 + x13 * k2 + x21 * k3 + x22 * k4
                                  + x23 * k5 + x31 * k6 + x32 * k7 + x33 * k8)
                out = y[b, i, j]
                if record:
                    k = won[b, i, j]
                    for o in range(co):
                        out[o], k[o] = maxpool_relu_2x2(a0[o] + bias[o], a1[o] + bias[o],
                                                        a2[o] + bias[o], a3[o] + bias[o], relu)
                    continue
                for o in range(co):
                    out[o] = maxpool_relu_2x2(a0[o] + bias[o], a1[o] + bias[o], a2[o] + bias[o],
                                              a3[o] + bias[o], relu)[0]


@jit
def conv3x3_maxpool_filter_grad(xpad, gp, won, gw, gb):
    """``gw`` (3, 3, C, C_out) and ``gb`` (C_out,) += the filter and bias gradients of
    :func:`conv3x3_maxpool_train` for the pooled output gradient ``gp``: each window's
    gradient goes to its winning cell only, so per window the four cells' gradients are
    ``gp`` masked by ``won``, and every filter tap adds its four input values times them."""
    c, co = xpad.shape[3], gp.shape[3]
    masked = np.empty((4, co), dtype=gp.dtype)
    m0, m1, m2, m3 = masked[0], masked[1], masked[2], masked[3]
    for b in range(xpad.shape[0]):
        for i in range(gp.shape[1]):
            for j in range(gp.shape[2]):
                g, k = gp[b, i, j], won[b, i, j]
                # one store stream per loop: more stop Numba's loops from vectorising
                for o in range(co):
                    m0[o] = g[o] if k[o] == 0 else 0.0
                for o in range(co):
                    m1[o] = g[o] if k[o] == 1 else 0.0
                for o in range(co):
                    m2[o] = g[o] if k[o] == 2 else 0.0
                for o in range(co):
                    m3[o] = g[o] if k[o] == 3 else 0.0
                for o in range(co):
                    gb[o] += m0[o] + m1[o] + m2[o] + m3[o]
                s = 2 * j
                for p in range(3):
                    top, bottom = xpad[b, 2 * i + p], xpad[b, 2 * i + p + 1]
                    for q in range(3):
                        for ch in range(c):
                            x0, x1 = top[s + q, ch], top[s + q + 1, ch]
                            x2, x3 = bottom[s + q, ch], bottom[s + q + 1, ch]
                            dst = gw[p, q, ch]
                            for o in range(co):
                                dst[o] += x0 * m0[o] + x1 * m1[o] + x2 * m2[o] + x3 * m3[o]
