"""3x3 convolution by Winograd's minimal filtering F(2x2, 3x3), for inference.

Shapes: x (N, H, W, C), w (3, 3, C, C_out), y (N, OH, OW, C_out) with stride 1, no dilation.

A 2x2 block of outputs needs a 4x4 patch of input. Direct convolution (im2col + GEMM) spends
2*2*9 = 36 multiplications per channel pair on it; Winograd (Lavin & Gray, "Fast Algorithms
for Convolutional Neural Networks", 2015) spends 16, by moving to a transformed space where
convolution is an element-wise product:

    Y = A^T [ (G g G^T) * (B^T d B) ] A        g the 3x3 filter, d the 4x4 patch

    B^T = [1  0 -1  0]    G = [ 1    0    0 ]    A^T = [1  1  1  0]
          [0  1  1  0]        [1/2  1/2  1/2]          [0  1 -1 -1]
          [0 -1  1  0]        [1/2 -1/2  1/2]
          [0  1  0 -1]        [ 0    0    1 ]

Summed over input channels, each of the 16 positions of the transformed patch is a matrix
product over C: ``M[k] = V[k] @ U[k]``, V (tiles, C) the transformed patches, U (C, C_out)
the transformed filters. So the layer becomes 16 GEMMs of 16/36 of im2col's arithmetic,
plus two cheap transforms (additions only) that read the input once and write the output
once, instead of copying every window nine times. The transforms' entries are 0, +-1 and
+-1/2, so rounding stays at float32's level (the tests compare with float64 loops).

On the notes' second convolution (20 images, 32 -> 64 channels, one thread) the transforms
take 0.2 ms each and the 16 GEMMs 1.0 ms, against 2.6 ms for im2col + GEMM. Training keeps
im2col: its backward reuses the window matrix for the filter gradient. (Tried: Winograd for
the training forward and for the input gradient, the window matrix rebuilt in backward; at
batch 32 on two cores the step took as long as with im2col.) ReLU's ``0 if v < 0``
keeps NaN, as ``numpy.maximum`` does.
"""

from __future__ import annotations

import numpy as np

from svertka.kernels.jit import jit, usable

TILES_PER_CHUNK = 1024  # 2x2 output tiles per pass: V and M stay a few MB


def applies(x, w, strides, dilation) -> bool:
    """Whether :func:`conv3x3` can run: 3x3 filters, stride 1, no dilation, NumPy floats of
    one dtype, and enough input channels for the GEMMs to pay (C >= 8)."""
    return (w.shape[:2] == (3, 3) and tuple(strides) == (1, 1) and tuple(dilation) == (1, 1)
            and x.shape[3] >= 8 and usable(x, w) and x.dtype == w.dtype)


def filter_transform(w):
    """U = G g G^T for every channel pair: (3, 3, C, C_out) -> (16, C, C_out)."""
    g = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=w.dtype)
    c, c_out = w.shape[2:]
    rows = (g @ w.reshape(3, -1)).reshape(4, 3, c * c_out)  # G g: (4, 3, C*C_out)
    return np.matmul(g, rows).reshape(16, c, c_out)  # (G g) G^T, one 4x3 product per row


@jit
def _input_transform(x, top, left, tiles_h, tiles_w, v):
    """v[k, t, :] = (B^T d B)[k] of tile t (image, tile row, tile column, row-major), d its
    4x4 patch of x zero-padded by ``top``/``left`` (cells past the input read as zero).

    Every step works on whole channel rows (views of C contiguous values), the loop over
    channels innermost, so the compiled loops are vector instructions.
    """
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
def _output_transform(m, bias, relu, tiles_h, tiles_w, y):
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
                        left[o] = (0.0 if val < 0 else val) if relu else val
                    if j + 1 < ow:
                        right = y[b, i + a, j + 1]
                        for o in range(c_out):
                            val = s1[o] - s2[o] - s3[o] + bias[o]
                            right[o] = (0.0 if val < 0 else val) if relu else val
                t += 1


def conv3x3(x, w, b=None, pads=((0, 0), (0, 0)), relu: bool = False, out=None):
    """``y = conv(x, w) + b`` (then ReLU when ``relu``) for 3x3 filters, stride 1, zero
    padding ``pads``; the same values as im2col + GEMM up to float rounding. Written into
    ``out`` (N, OH, OW, C_out) when given.

    Runs a few images at a time (``TILES_PER_CHUNK`` tiles), so the transformed patches and
    products stay in cache.
    """
    (top, bottom), (left, right) = pads
    n, h, w_in, c = x.shape
    c_out = w.shape[3]
    oh, ow = h + top + bottom - 2, w_in + left + right - 2
    tiles_h, tiles_w = (oh + 1) // 2, (ow + 1) // 2
    u = filter_transform(w)  # (16, C, C_out)
    y = np.empty((n, oh, ow, c_out), dtype=x.dtype) if out is None else out
    bias = np.zeros(c_out, x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    x = np.ascontiguousarray(x)
    step = max(1, TILES_PER_CHUNK // (tiles_h * tiles_w))  # images per pass
    for i in range(0, n, step):
        xs, ys = x[i : i + step], y[i : i + step]
        v = np.empty((16, len(xs) * tiles_h * tiles_w, c), dtype=x.dtype)
        _input_transform(xs, top, left, tiles_h, tiles_w, v)
        m = np.matmul(v, u)  # (16, tiles, C_out): one GEMM per transformed position
        _output_transform(m, bias, relu, tiles_h, tiles_w, ys)
    return y
