"""The tile transforms of Winograd's F(4x4, 3x3) as compiled loops (see
:mod:`svertka.kernels.jit`); the maths, the matrices and the GEMMs between the transforms are
in :mod:`svertka.kernels.winograd4`.

Tiles are numbered image by image, row-major over the (tiles_h, tiles_w) grid; tile t covers
outputs ``(4*ti .. 4*ti+3, 4*tj .. 4*tj+3)`` and reads the 6x6 input patch from
``(4*ti - top, 4*tj - left)``. Transformed arrays are (36, tiles, channels): position
k = 6*p + q of the 6x6 transformed tile, one contiguous row of channels per tile.

Images come in as (N, rows, cols*channels): a row of pixels is one run of memory. Each
transform is done in two halves, one per spatial axis. The half along the rows works on a
whole strip of a tile row at once (six input rows, or four output rows), as loops over the
strip's full width times channels: long loops, which LLVM runs as vector code whatever the
channel count. Only the other half is done tile by tile, in loops over one tile's channels
(the F(2x2) loops of :mod:`svertka.kernels.winograd_jit` are all of that kind, and with 16
channels they run as scalar code: docs/performance.md). Each loop reads one array and writes
another, so LLVM's runtime alias check is one comparison, and indexes 1-D row views by the loop
variable alone (an index like ``j + c`` costs Numba's negative-index check per element, which
keeps the loop from vectorising).

``k`` is the constants (2, 4, 5, 8) in the arrays' dtype, so that float32 arithmetic stays
float32 (a Python float would make Numba compute in float64).
"""

from __future__ import annotations

import numpy as np

from svertka.kernels.jit import jit
from svertka.kernels.rules import relu_passes, relu_zeroes


@jit
def input_transform(x, c, top, left, tiles_h, tiles_w, k, v, t0):
    """v[:, t0 + t, :] = B^T d B of tile t, d its 6x6 patch of x (N, H, W*C) zero-padded by
    ``top``/``left`` (cells past the input read as zero). The offset ``t0`` lets training
    write into its whole, contiguous V (a slice of it would run slower)."""
    n, h, wc = x.shape
    two, four, five = k[0], k[1], k[2]
    s = np.zeros((6, max(4 * tiles_w + 2, left + wc // c) * c), x.dtype)  # B^T d, a strip
    pad = np.zeros((6, wc), x.dtype)  # a strip's rows where some lie in the padding
    off = left * c
    s0, s1, s2 = s[0, off : off + wc], s[1, off : off + wc], s[2, off : off + wc]
    s3, s4, s5 = s[3, off : off + wc], s[4, off : off + wc], s[5, off : off + wc]
    t = t0
    for b in range(n):
        xb = x[b]
        for ti in range(tiles_h):
            first = 4 * ti - top
            src = xb[max(first, 0) : max(first, 0) + 6]
            if first < 0 or first + 5 >= h:  # copy the rows, zeros for those in the padding
                src = pad
                for p in range(6):
                    if 0 <= first + p < h:
                        pad[p] = xb[first + p]
                    else:
                        pad[p] = 0.0
            x0, x1, x2, x3, x4, x5 = src[0], src[1], src[2], src[3], src[4], src[5]
            for i in range(wc):  # B^T d: combine rows, the whole strip at once
                d0, d1, d2, d3, d4, d5 = x0[i], x1[i], x2[i], x3[i], x4[i], x5[i]
                a, bb = d4 - four * d2, d3 - four * d1
                cc, e = d4 - d2, two * (d3 - d1)
                s0[i] = four * d0 - five * d2 + d4
                s1[i] = a + bb
                s2[i] = a - bb
                s3[i] = cc + e
                s4[i] = cc - e
                s5[i] = four * d1 - five * d3 + d5
            for tj in range(tiles_w):  # (B^T d) B, tile by tile
                j = 4 * tj * c
                for p in range(6):
                    row = s[p]
                    e0, e1, e2 = row[j : j + c], row[j + c : j + 2 * c], row[j + 2 * c : j + 3 * c]
                    e3, e4 = row[j + 3 * c : j + 4 * c], row[j + 4 * c : j + 5 * c]
                    e5 = row[j + 5 * c : j + 6 * c]
                    v0, v1, v2 = v[6 * p, t], v[6 * p + 1, t], v[6 * p + 2, t]
                    v3, v4, v5 = v[6 * p + 3, t], v[6 * p + 4, t], v[6 * p + 5, t]
                    for ch in range(c):
                        d0, d1, d2, d3, d4, d5 = e0[ch], e1[ch], e2[ch], e3[ch], e4[ch], e5[ch]
                        a, bb = d4 - four * d2, d3 - four * d1
                        cc, e = d4 - d2, two * (d3 - d1)
                        v0[ch] = four * d0 - five * d2 + d4
                        v1[ch] = a + bb
                        v2[ch] = a - bb
                        v3[ch] = cc + e
                        v4[ch] = cc - e
                        v5[ch] = four * d1 - five * d3 + d5
                t += 1


@jit
def output_transform(m, c_out, bias, relu, tiles_h, tiles_w, k, y):
    """y's 4x4 block of tile t = A^T m[:, t] A + bias (then ReLU), m (36, tiles*C_out), y
    (N, OH, OW*C_out); cells past y dropped."""
    n, oh, owc = y.shape
    two, four, eight = k[0], k[1], k[3]
    zero = two - two
    width = tiles_w * c_out
    rr = np.empty((4, 6, width), y.dtype)  # A^T m of a tile row: row a, column q
    row = np.empty(4 * width, y.dtype)  # a row of y, as far as the tiles reach
    t = 0
    for b in range(n):
        for ti in range(tiles_h):
            j = t * c_out
            for q in range(6):  # A^T m: combine rows, the whole tile row at once
                n0, n1, n2 = m[q, j : j + width], m[6 + q, j : j + width], m[12 + q, j : j + width]
                n3, n4 = m[18 + q, j : j + width], m[24 + q, j : j + width]
                n5 = m[30 + q, j : j + width]
                r0, r1, r2, r3 = rr[0, q], rr[1, q], rr[2, q], rr[3, q]
                for i in range(width):
                    m0, m1, m2, m3, m4, m5 = n0[i], n1[i], n2[i], n3[i], n4[i], n5[i]
                    s12, d12, s34, d34 = m1 + m2, m1 - m2, m3 + m4, m3 - m4
                    r0[i] = m0 + s12 + s34
                    r1[i] = d12 + two * d34
                    r2[i] = s12 + four * s34
                    r3[i] = d12 + eight * d34 + m5
            for a in range(min(4, oh - 4 * ti)):  # (A^T m) A: combine columns, into y
                for tj in range(tiles_w):
                    i0, j0 = tj * c_out, 4 * tj * c_out
                    cols = rr[a, :, i0 : i0 + c_out]  # (6, C_out)
                    n0, n1, n2, n3, n4, n5 = cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]
                    y0, y1 = row[j0 : j0 + c_out], row[j0 + c_out : j0 + 2 * c_out]
                    y2 = row[j0 + 2 * c_out : j0 + 3 * c_out]
                    y3 = row[j0 + 3 * c_out : j0 + 4 * c_out]
                    for o in range(c_out):
                        m0, m1, m2, m3, m4, m5 = n0[o], n1[o], n2[o], n3[o], n4[o], n5[o]
                        s12, d12, s34, d34 = m1 + m2, m1 - m2, m3 + m4, m3 - m4
                        v0 = m0 + s12 + s34 + bias[o]
                        v1 = d12 + two * d34 + bias[o]
                        v2 = s12 + four * s34 + bias[o]
                        v3 = d12 + eight * d34 + m5 + bias[o]
                        if relu:
                            v0 = zero if relu_zeroes(v0) else v0
                            v1 = zero if relu_zeroes(v1) else v1
                            v2 = zero if relu_zeroes(v2) else v2
                            v3 = zero if relu_zeroes(v3) else v3
                        y0[o], y1[o], y2[o], y3[o] = v0, v1, v2, v3
                y[b, 4 * ti + a] = row[:owc]  # the last tile's cells past OW dropped
            t += tiles_w


@jit
def grad_output_transform(gy, y, relu, c_out, tiles_h, tiles_w, k, dm, gb):
    """dm[:, t] = A g A^T for each 4x4 tile g of the output gradient gy (N, OH, OW*C_out),
    gated by ``y > 0`` when ``relu`` (cells past gy are zero); ``gb`` (OW*C_out,) += the
    gated gy summed over the rows, for the bias (the caller sums its columns)."""
    n, oh, owc = gy.shape
    two, four, eight = k[0], k[1], k[3]
    zero = two - two
    rr = np.zeros((6, tiles_w * 4 * c_out), gy.dtype)  # A g of a strip; past OW zero
    r0, r1, r2 = rr[0, :owc], rr[1, :owc], rr[2, :owc]
    r3, r4, r5 = rr[3, :owc], rr[4, :owc], rr[5, :owc]
    gated = np.zeros((4, owc), gy.dtype)
    t = 0
    for b in range(n):
        for ti in range(tiles_h):
            first = 4 * ti
            src = gy[b, first : first + 4]
            if relu or first + 4 > oh:  # gate the rows into ``gated``; rows past gy zero
                src = gated
                for a in range(4):
                    dst = gated[a]
                    if first + a >= oh:
                        dst[:] = 0.0
                    elif relu:
                        g, gate = gy[b, first + a], y[b, first + a]
                        for i in range(owc):
                            dst[i] = g[i] if relu_passes(gate[i]) else zero
                    else:
                        dst[:] = gy[b, first + a]
            q0, q1, q2, q3 = src[0], src[1], src[2], src[3]
            for i in range(owc):  # A g: combine rows, the whole strip at once
                g0, g1, g2, g3 = q0[i], q1[i], q2[i], q3[i]
                gb[i] += (g0 + g1) + (g2 + g3)
                e, od = g0 + g2, g1 + g3
                e2, o2 = g0 + four * g2, two * g1 + eight * g3
                r0[i] = g0
                r1[i] = e + od
                r2[i] = e - od
                r3[i] = e2 + o2
                r4[i] = e2 - o2
                r5[i] = g3
            for tj in range(tiles_w):  # (A g) A^T, tile by tile
                j = 4 * tj * c_out
                for p in range(6):
                    row = rr[p]
                    n0, n1 = row[j : j + c_out], row[j + c_out : j + 2 * c_out]
                    n2, n3 = row[j + 2 * c_out : j + 3 * c_out], row[j + 3 * c_out : j + 4 * c_out]
                    d0, d1, d2 = dm[6 * p, t], dm[6 * p + 1, t], dm[6 * p + 2, t]
                    d3, d4, d5 = dm[6 * p + 3, t], dm[6 * p + 4, t], dm[6 * p + 5, t]
                    for o in range(c_out):
                        g0, g1, g2, g3 = n0[o], n1[o], n2[o], n3[o]
                        e, od = g0 + g2, g1 + g3
                        e2, o2 = g0 + four * g2, two * g1 + eight * g3
                        d0[o] = g0
                        d1[o] = e + od
                        d2[o] = e - od
                        d3[o] = e2 + o2
                        d4[o] = e2 - o2
                        d5[o] = g3
                t += 1


@jit
def grad_input_transform(dv, c, top, left, tiles_h, tiles_w, k, gx):
    """gx = the sum over tiles t of B dv[:, t] B^T on t's 6x6 patch (cells in the padding
    dropped), gx (N, H, W*C): the adjoint of :func:`input_transform`. Every cell of gx is
    written (patches overlapping by two rows and columns add up), so gx may come in empty.
    The half along the rows is one pass over the strip, writing its four rows of gx and
    keeping its rows 4, 5 in ``below`` for the next strip (six passes and a copy, before)."""
    n, h, wc = gx.shape
    two, four, five = k[0], k[1], k[2]
    s = np.zeros((6, max(4 * tiles_w + 2, left + wc // c) * c), gx.dtype)  # dv B^T, a strip
    carry = np.zeros((6, 2 * c), gx.dtype)  # a tile's columns 4, 5, for the next tile
    below = np.zeros((2, wc), gx.dtype)  # a strip's rows 4, 5: the next strip's rows 0, 1
    edge = np.empty((4, wc), gx.dtype)  # a strip's rows where some lie in the padding
    off = left * c
    s0, s1, s2 = s[0, off : off + wc], s[1, off : off + wc], s[2, off : off + wc]
    s3, s4, s5 = s[3, off : off + wc], s[4, off : off + wc], s[5, off : off + wc]
    b0, b1 = below[0], below[1]
    t = 0
    for b in range(n):
        gb = gx[b]
        below[:] = 0.0
        for ti in range(tiles_h):
            carry[:] = 0.0
            for tj in range(tiles_w):  # dv B^T: combine columns, tile by tile
                j = 4 * tj * c
                for p in range(6):
                    row = s[p]
                    e0, e1, e2 = row[j : j + c], row[j + c : j + 2 * c], row[j + 2 * c : j + 3 * c]
                    e3 = row[j + 3 * c : j + 4 * c]
                    c4, c5 = carry[p, :c], carry[p, c:]
                    w0, w1, w2 = dv[6 * p, t], dv[6 * p + 1, t], dv[6 * p + 2, t]
                    w3, w4, w5 = dv[6 * p + 3, t], dv[6 * p + 4, t], dv[6 * p + 5, t]
                    for ch in range(c):
                        v0, v1, v2, v3, v4, v5 = w0[ch], w1[ch], w2[ch], w3[ch], w4[ch], w5[ch]
                        e0[ch] = four * v0 + c4[ch]
                        e1[ch] = four * (v2 - v1) + two * (v4 - v3) + four * v5 + c5[ch]
                        e2[ch] = -(five * v0 + four * (v1 + v2) + v3 + v4)
                        e3[ch] = v1 - v2 + two * (v3 - v4) - five * v5
                        c4[ch] = v0 + v1 + v2 + v3 + v4
                        c5[ch] = v5
                t += 1
            j = 4 * tiles_w * c
            for p in range(6):
                s[p, j : j + 2 * c] = carry[p]
            first = 4 * ti - top
            dst = gb[max(first, 0) : max(first, 0) + 4]
            if first < 0 or first + 4 > h:
                dst = edge
            o0, o1, o2, o3 = dst[0], dst[1], dst[2], dst[3]
            for i in range(wc):  # B (dv B^T): combine rows, the whole strip at once
                a0, a1, a2, a3, a4, a5 = s0[i], s1[i], s2[i], s3[i], s4[i], s5[i]
                o0[i] = four * a0 + b0[i]
                o1[i] = four * (a2 - a1) + two * (a4 - a3) + four * a5 + b1[i]
                o2[i] = -(five * a0 + four * (a1 + a2) + a3 + a4)
                o3[i] = a1 - a2 + two * (a3 - a4) - five * a5
                b0[i] = a0 + a1 + a2 + a3 + a4
                b1[i] = a5
            if first < 0 or first + 4 > h:  # copy the rows that lie in gx
                for p in range(4):
                    if 0 <= first + p < h:
                        gb[first + p] = edge[p]
        last = 4 * tiles_h - top
        for p in range(2):
            if 0 <= last + p < h:
                gb[last + p] = below[p]
