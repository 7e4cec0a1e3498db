"""The tile transforms of Winograd's F(2x2, 3x3) as compiled loops (see
:mod:`svertka.kernels.jit`); the maths and the GEMMs between them are in
:mod:`svertka.kernels.winograd`.

Tiles are numbered image by image, row-major over the (tiles_h, tiles_w) grid; tile t covers
outputs ``(2*ti .. 2*ti+1, 2*tj .. 2*tj+1)`` and reads the 4x4 input patch from
``(2*ti - top, 2*tj - left)``. Transformed arrays are (16, tiles, channels): position k = 4*p + q
of the 4x4 transformed tile, one contiguous row of channels per tile. Every loop works on whole
channel rows, the loop over channels innermost, so the compiled loops are vector instructions.

Forward: ``input_transform`` (V = B^T d B), ``output_transform`` (y = A^T M A + bias, ReLU),
or ``output_transform_maxpool``, which keeps only the largest of each tile's four outputs
(and, for training, which one it was). Backward, their adjoints: ``grad_output_transform``
(dM = A g A^T, g the output gradient through the ReLU gate, or the pooled gradient put on
each tile's winning cell) and ``grad_input_transform`` (gx += B dV B^T, overlapping patches
adding up).
"""

from __future__ import annotations

import numpy as np

from svertka.kernels.jit import jit
from svertka.kernels.rules import maxpool_relu_2x2, relu_passes, relu_zeroes


@jit
def input_transform(x, top, left, tiles_h, tiles_w, v):
    """v[k, t, :] = (B^T d B)[k] of tile t, d its 4x4 patch of x zero-padded by
    ``top``/``left`` (cells past the input read as zero)."""
    n, h, w, c = x.shape
    d = np.empty((4, 4, c), dtype=x.dtype)  # the patch, then B^T d, then B^T d B in place
    t = 0
    for b in range(n):
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                for p in range(4):
                    r = 2 * ti + p - top
                    for q in range(4):
                        s = 2 * tj + q - left
                        dv = d[p, q]
                        if 0 <= r < h and 0 <= s < w:
                            xv = x[b, r, s]
                            for ch in range(c):
                                dv[ch] = xv[ch]
                        else:
                            for ch in range(c):
                                dv[ch] = 0.0
                for q in range(4):  # B^T d: combine rows
                    d0, d1, d2, d3 = d[0, q], d[1, q], d[2, q], d[3, q]
                    for ch in range(c):
                        a0, a1 = d0[ch] - d2[ch], d1[ch] + d2[ch]
                        a2, a3 = d2[ch] - d1[ch], d1[ch] - d3[ch]
                        d0[ch], d1[ch], d2[ch], d3[ch] = a0, a1, a2, a3
                for p in range(4):  # (B^T d) B: combine columns, into v
                    e0, e1, e2, e3 = d[p, 0], d[p, 1], d[p, 2], d[p, 3]
                    v0, v1, v2, v3 = v[4 * p, t], v[4 * p + 1, t], v[4 * p + 2, t], v[4 * p + 3, t]
                    for ch in range(c):
                        v0[ch] = e0[ch] - e2[ch]
                        v1[ch] = e1[ch] + e2[ch]
                        v2[ch] = e2[ch] - e1[ch]
                        v3[ch] = e1[ch] - e3[ch]
                t += 1


@jit
def output_transform(m, bias, relu, tiles_h, tiles_w, y):
    """y's 2x2 block of tile t = A^T m[:, t] A + bias (then ReLU); cells past y dropped."""
    n, oh, ow, c_out = y.shape
    r = np.empty((2, 4, c_out), dtype=y.dtype)  # A^T m
    t = 0
    for b in range(n):
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                for q in range(4):  # A^T m: combine rows
                    m0, m1, m2, m3 = m[q, t], m[4 + q, t], m[8 + q, t], m[12 + q, t]
                    r0, r1 = r[0, q], r[1, q]
                    for o in range(c_out):
                        r0[o] = m0[o] + m1[o] + m2[o]
                        r1[o] = m1[o] - m2[o] - m3[o]
                i, j = 2 * ti, 2 * tj
                for a in range(2):  # (A^T m) A: combine columns, into y
                    if i + a >= oh:
                        continue
                    s0, s1, s2, s3 = r[a, 0], r[a, 1], r[a, 2], r[a, 3]
                    left = y[b, i + a, j]
                    for o in range(c_out):
                        val = s0[o] + s1[o] + s2[o] + bias[o]
                        left[o] = (0.0 if relu_zeroes(val) else val) if relu else val
                    if j + 1 < ow:
                        right = y[b, i + a, j + 1]
                        for o in range(c_out):
                            val = s1[o] - s2[o] - s3[o] + bias[o]
                            right[o] = (0.0 if relu_zeroes(val) else val) if relu else val
                t += 1


@jit
def output_transform_maxpool(m, bias, relu, tiles_h, tiles_w, y, won):
    """y[b, ti, tj] = max over tile t's 2x2 block of (A^T m[:, t] A + bias), then ReLU: the
    block is one 2x2, stride-2 max-pool window (convolution + pooling, nothing of the
    unpooled output stored). A NaN in the block wins it, as in the max-pool kernels.

    For training, ``won`` (int32, like y) records which cell won (0..3, row-major, ties to
    the first), or 4 where the ReLU lets no gradient through (the maximum not > 0); at
    inference pass an empty ``won``.
    """
    c_out = y.shape[3]
    record = won.size > 0
    t = 0
    for b in range(y.shape[0]):
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                m0, m1, m2, m3 = m[0, t], m[1, t], m[2, t], m[3, t]
                m4, m5, m6, m7 = m[4, t], m[5, t], m[6, t], m[7, t]
                m8, m9, m10, m11 = m[8, t], m[9, t], m[10, t], m[11, t]
                m12, m13, m14, m15 = m[12, t], m[13, t], m[14, t], m[15, t]
                out = y[b, ti, tj]
                if record:
                    k = won[b, ti, tj]
                    for o in range(c_out):
                        r0, r1 = m0[o] + m4[o] + m8[o], m1[o] + m5[o] + m9[o]  # A^T m, row 0
                        r2, r3 = m2[o] + m6[o] + m10[o], m3[o] + m7[o] + m11[o]
                        s0, s1 = m4[o] - m8[o] - m12[o], m5[o] - m9[o] - m13[o]  # row 1
                        s2, s3 = m6[o] - m10[o] - m14[o], m7[o] - m11[o] - m15[o]
                        out[o], k[o] = maxpool_relu_2x2(  # (A^T m) A: the block's four cells
                            r0 + r1 + r2 + bias[o], r1 - r2 - r3 + bias[o],
                            s0 + s1 + s2 + bias[o], s1 - s2 - s3 + bias[o], relu)
                    t += 1
                    continue
                for o in range(c_out):
                    r0, r1 = m0[o] + m4[o] + m8[o], m1[o] + m5[o] + m9[o]
                    r2, r3 = m2[o] + m6[o] + m10[o], m3[o] + m7[o] + m11[o]
                    s0, s1 = m4[o] - m8[o] - m12[o], m5[o] - m9[o] - m13[o]
                    s2, s3 = m6[o] - m10[o] - m14[o], m7[o] - m11[o] - m15[o]
                    out[o] = maxpool_relu_2x2(r0 + r1 + r2 + bias[o], r1 - r2 - r3 + bias[o],
                                              s0 + s1 + s2 + bias[o], s1 - s2 - s3 + bias[o],
                                              relu)[0]
                t += 1


@jit
def grad_output_transform(gy, y, relu, won, tiles_h, tiles_w, dm, gb):
    """dm[:, t] = A g A^T for each 2x2 tile g of the output gradient gy, gated by ``y > 0``
    when ``relu`` (cells past gy are zero); ``gb`` (C_out,) += the gated gy, for the bias.

    After :func:`output_transform_maxpool` with winners, ``gy`` is the pooled gradient (N,
    tiles_h, tiles_w, C_out), one row per tile, and ``won`` says which cell of the tile gets
    it (4: none); otherwise ``won`` is empty."""
    n, oh, ow, co = gy.shape
    pooled = won.size > 0
    r = np.empty((4, 2, co), dtype=gy.dtype)  # A g: row k, column b
    g = np.empty((2, 2, co), dtype=gy.dtype)  # the tile, gated
    t = 0
    for b in range(n):
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                if pooled:
                    src, k = gy[b, ti, tj], won[b, ti, tj]
                    for o in range(co):
                        gb[o] += src[o] if k[o] < 4 else 0.0
                    for cell in range(4):  # one store stream per loop: it vectorises
                        gv = g[cell // 2, cell % 2]
                        for o in range(co):
                            gv[o] = src[o] if k[o] == cell else 0.0
                for a in range(0 if pooled else 2):  # the output gradient's 2x2 tile
                    i = 2 * ti + a
                    for bb in range(2):
                        j = 2 * tj + bb
                        gv = g[a, bb]
                        if i < oh and j < ow:
                            src = gy[b, i, j]
                            if relu:
                                yv = y[b, i, j]
                                for o in range(co):
                                    v = src[o] if relu_passes(yv[o]) else 0.0
                                    gv[o] = v
                                    gb[o] += v
                            else:
                                for o in range(co):
                                    gv[o] = src[o]
                                    gb[o] += src[o]
                        else:
                            for o in range(co):
                                gv[o] = 0.0
                for bb in range(2):  # A g: combine rows
                    g0, g1 = g[0, bb], g[1, bb]
                    r0, r1, r2, r3 = r[0, bb], r[1, bb], r[2, bb], r[3, bb]
                    for o in range(co):
                        r0[o] = g0[o]
                        r1[o] = g0[o] + g1[o]
                        r2[o] = g0[o] - g1[o]
                        r3[o] = -g1[o]
                for k in range(4):  # (A g) A^T: combine columns
                    s0, s1 = r[k, 0], r[k, 1]
                    d0, d1 = dm[4 * k, t], dm[4 * k + 1, t]
                    d2, d3 = dm[4 * k + 2, t], dm[4 * k + 3, t]
                    for o in range(co):
                        d0[o] = s0[o]
                        d1[o] = s0[o] + s1[o]
                        d2[o] = s0[o] - s1[o]
                        d3[o] = -s1[o]
                t += 1


@jit
def grad_input_transform(dv, top, left, tiles_h, tiles_w, gx):
    """gx += B dv[:, t] B^T for each tile t, onto its 4x4 patch (cells in the padding
    dropped): the adjoint of :func:`input_transform`."""
    n, h, w, c = gx.shape
    e = np.empty((4, 4, c), dtype=gx.dtype)  # B dv: row p, column k
    t = 0
    for b in range(n):
        for ti in range(tiles_h):
            for tj in range(tiles_w):
                for k in range(4):  # B dv: combine rows (over p), per column k
                    v0, v1, v2, v3 = dv[k, t], dv[4 + k, t], dv[8 + k, t], dv[12 + k, t]
                    e0, e1, e2, e3 = e[0, k], e[1, k], e[2, k], e[3, k]
                    for ch in range(c):
                        e0[ch] = v0[ch]
                        e1[ch] = v1[ch] - v2[ch] + v3[ch]
                        e2[ch] = v1[ch] + v2[ch] - v0[ch]
                        e3[ch] = -v3[ch]
                for p in range(4):
                    r = 2 * ti + p - top
                    if r < 0 or r >= h:
                        continue
                    u0, u1, u2, u3 = e[p, 0], e[p, 1], e[p, 2], e[p, 3]
                    for q in range(4):
                        s = 2 * tj + q - left
                        if s < 0 or s >= w:
                            continue
                        dst = gx[b, r, s]
                        if q == 0:
                            for ch in range(c):
                                dst[ch] += u0[ch]
                        elif q == 1:
                            for ch in range(c):
                                dst[ch] += u1[ch] - u2[ch] + u3[ch]
                        elif q == 2:
                            for ch in range(c):
                                dst[ch] += u1[ch] + u2[ch] - u0[ch]
                        else:
                            for ch in range(c):
                                dst[ch] -= u3[ch]
                t += 1
