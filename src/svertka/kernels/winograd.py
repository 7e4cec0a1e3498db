"""3x3 convolution by Winograd's minimal filtering F(2x2, 3x3), forward and backward.

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
plus cheap transforms (additions only, :mod:`svertka.kernels.winograd_jit`) that read the
input once and write the output once, instead of copying every window nine times.

Backward runs the same steps transposed. With dM = A gY A^T per tile (gY the output
gradient, through the ReLU gate when fused):

    dU[k] = V[k]^T @ dM[k]  (summed over tiles)  ->  gw = G^T dU G
    dV[k] = dM[k] @ U[k]^T                       ->  gx = sum over tiles of B dV B^T

so the filter gradient reuses the V kept from forward (16 values per 4 input pixels, where
im2col keeps 9 per pixel), and all three products have 16/36 of im2col's arithmetic.
The transforms' entries are 0, +-1 and +-1/2, so rounding stays at float32's level (the
tests compare with float64 im2col). ReLU and its gate are the shared rules of
:mod:`svertka.kernels.rules`.

Why it exists: a 3x3, stride-1 convolution of many channels does 16/36 of im2col's
multiplications and reads its input once instead of copying every window nine times; which
convolutions run it is decided by :func:`svertka.kernels.conv.plan`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from svertka.kernels import memo
from svertka.kernels import winograd_jit as tiles
from svertka.kernels.shapes import conv_output_size
from svertka.parallel import min_samples, over_batch

# 2x2 output tiles per pass, so that the pass's transformed arrays stay in cache; inference,
# which keeps no V and shares the cache with no backward pass, runs best with larger passes
# (docs/performance.md).
TILES_PER_CHUNK = 128
INFERENCE_TILES_PER_CHUNK = 256
# the fewest input channels for which the 16 GEMMs over C pay for the transforms
MIN_CHANNELS = 8

_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])


class WinogradCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

    method: str  # 'winograd', or 'winograd-maxpool' when the output was pooled
    v: np.ndarray  # (16, tiles, C) the transformed input patches, for gw
    u: np.ndarray  # (16, C, C_out) the transformed filters, for gx
    x_shape: tuple  # (N, H, W, C)
    pads: tuple  # ((top, bottom), (left, right))
    has_bias: bool
    relu_y: np.ndarray | None  # y, whose sign gates the gradient, after an unpooled ReLU
    won: np.ndarray | None  # (N, PH, PW, C_out) int32 pooling winners, when pooled


def filter_transform(w):
    """U = G g G^T for every channel pair: (3, 3, C, C_out) -> (16, C, C_out)."""
    g = _G.astype(w.dtype)
    c, c_out = w.shape[2:]
    rows = (g @ w.reshape(3, -1)).reshape(4, 3, c * c_out)  # G g: (4, 3, C*C_out)
    return np.matmul(g, rows).reshape(16, c, c_out)  # (G g) G^T, one 4x3 product per row


def filter_gradient(du):
    """gw = G^T dU G, the adjoint of :func:`filter_transform`: (16, C, C_out) -> (3, 3, C,
    C_out)."""
    g = _G.astype(du.dtype)
    c, c_out = du.shape[1:]
    cols = (g.T @ du.reshape(4, -1)).reshape(3, 4, c * c_out)  # G^T dU: (3, 4, C*C_out)
    return np.matmul(g.T, cols).reshape(3, 3, c, c_out)  # (G^T dU) G, one 3x4 product per row


def _geometry(x_shape, pads):
    """(OH, OW, tiles_h, tiles_w) of a 3x3, stride-1 convolution of x with ``pads``."""
    (top, bottom), (left, right) = pads
    oh = conv_output_size(x_shape[1], 3, padding=top + bottom)
    ow = conv_output_size(x_shape[2], 3, padding=left + right)
    return oh, ow, (oh + 1) // 2, (ow + 1) // 2


def _passes(s, tiles_per_image, tiles_per_pass):
    """Slice ``s`` of the batch as runs of images of about ``tiles_per_pass`` tiles."""
    step = max(1, tiles_per_pass // max(tiles_per_image, 1))
    return [slice(i, min(i + step, s.stop)) for i in range(s.start, s.stop, step)]


def forward(x, w, b=None, pads=((0, 0), (0, 0)), relu: bool = False, for_backward=True,
            out=None, maxpool: bool = False, u=None):
    """``y = conv(x, w) + b`` (then ReLU when ``relu``) for 3x3 filters, stride 1, zero
    padding ``pads``; the same values as im2col + GEMM up to float rounding. Written into
    ``out`` (N, OH, OW, C_out) when given. Returns ``(y, cache)``; cache is None without
    ``for_backward``, else a :class:`WinogradCache`.

    ``maxpool=True`` returns y max-pooled over 2x2 windows at stride 2, (N, OH // 2, OW // 2,
    C_out): a tile's 2x2 outputs are exactly one pooling window, so the output transform
    keeps the largest and the unpooled y is never stored; a last odd row or column, which
    the pooling drops, is not computed. With ``for_backward`` it also records each window's
    winner, and :func:`backward` then takes the pooled gradient.

    The batch is cut into one slice per core; each slice goes a few images at a time
    (``TILES_PER_CHUNK`` tiles, ``INFERENCE_TILES_PER_CHUNK`` without ``for_backward``):
    transform, 16 GEMMs, output transform, while the pass's arrays are in cache. For
    backward, V is written into one (16, tiles, C) array. ``u``: :func:`filter_transform`
    of w, from a caller that keeps it (a model's inference plan).
    """
    n, _, _, c = x.shape
    c_out = w.shape[3]
    oh, ow, tiles_h, tiles_w = _geometry(x.shape, pads)
    if maxpool:
        oh, ow = tiles_h, tiles_w = oh // 2, ow // 2
    per_image = tiles_h * tiles_w
    if u is None:  # (16, C, C_out); kept between inference calls while w holds (memo.py)
        u = memo.derived(filter_transform, (w,), keep=not for_backward)
    y = np.empty((n, oh, ow, c_out), dtype=x.dtype) if out is None else out
    won = np.empty(y.shape if maxpool and for_backward else (0, 0, 0, 0), dtype=np.int32)
    per_pass = TILES_PER_CHUNK if for_backward else INFERENCE_TILES_PER_CHUNK
    bias = np.zeros(c_out, x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    x = np.ascontiguousarray(x)
    v_all = np.empty((16, n * per_image, c), dtype=x.dtype) if for_backward else None
    (top, _), (left, _) = pads

    def run(s):
        for part in _passes(s, per_image, per_pass):
            t = slice(part.start * per_image, part.stop * per_image)
            v = v_all[:, t] if for_backward else np.empty((16, t.stop - t.start, c), x.dtype)
            tiles.input_transform(x[part], top, left, tiles_h, tiles_w, v)
            m = np.matmul(v, u)  # (16, tiles, C_out): one GEMM per transformed position
            if maxpool:
                tiles.output_transform_maxpool(m, bias, relu, tiles_h, tiles_w, y[part],
                                               won[part])  # empty at inference
            else:
                tiles.output_transform(m, bias, relu, tiles_h, tiles_w, y[part])

    over_batch(run, n, min_samples(16 * per_image * c * c_out), xp=np)
    if not for_backward:
        return y, None
    return y, WinogradCache("winograd-maxpool" if maxpool else "winograd", v_all, u, x.shape,
                            pads, b is not None, y if relu and not maxpool else None,
                            won if maxpool else None)


def backward(gy, cache, need_gx: bool = True, need_gw: bool = True):
    """Gradients of :func:`forward` with ``for_backward``: gy (N, OH, OW, C_out), or the
    pooled (N, OH // 2, OW // 2, C_out) after ``maxpool``, -> (gx, gw, gb), None for what is
    not needed (gb without bias).

    Each slice of the batch, a few images at a time: the output-gradient transform (with the
    ReLU gate, or each window's winner, and the bias gradient in the same pass), dU and dV
    by 16 GEMMs each, and the input-gradient transform onto its images of gx; the slices'
    dU and gb are summed.
    """
    v_all, u, x_shape, pads, relu_y, won = (cache.v, cache.u, cache.x_shape, cache.pads,
                                            cache.relu_y, cache.won)
    n, _, _, c_out = gy.shape
    c = x_shape[3]
    _, _, tiles_h, tiles_w = _geometry(x_shape, pads)
    if won is not None:
        tiles_h, tiles_w = gy.shape[1:3]
    else:
        won = np.empty((0, 0, 0, 0), np.int32)
    per_image = tiles_h * tiles_w
    (top, _), (left, _) = pads
    gy = np.ascontiguousarray(gy, dtype=u.dtype)
    gate = gy if relu_y is None else relu_y
    gx = np.zeros(x_shape, dtype=gy.dtype) if need_gx else None
    u_t = u.transpose(0, 2, 1)  # (16, C_out, C)

    def run(s):
        du = np.zeros((16, c, c_out), dtype=gy.dtype) if need_gw else None
        gb = np.zeros(c_out, dtype=gy.dtype)
        for part in _passes(s, per_image, TILES_PER_CHUNK):
            t = slice(part.start * per_image, part.stop * per_image)
            dm = np.empty((16, t.stop - t.start, c_out), dtype=gy.dtype)
            tiles.grad_output_transform(gy[part], gate[part], relu_y is not None, won[part],
                                        tiles_h, tiles_w, dm, gb)
            if need_gw:
                du += np.matmul(v_all[:, t].transpose(0, 2, 1), dm)  # (16, C, C_out)
            if need_gx:
                dv = np.matmul(dm, u_t)  # (16, tiles, C)
                tiles.grad_input_transform(dv, top, left, tiles_h, tiles_w, gx[part])
        return du, gb

    parts = over_batch(run, n, min_samples(16 * per_image * c * c_out), xp=np)
    gw = filter_gradient(sum(p[0] for p in parts)) if need_gw else None
    gb = sum(p[1] for p in parts) if cache.has_bias else None
    return gx, gw, gb

