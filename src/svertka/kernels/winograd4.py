"""3x3 convolution by Winograd's minimal filtering F(4x4, 3x3), forward and backward.

Shapes: x (N, H, W, C), w (3, 3, C, C_out), y (N, OH, OW, C_out) with stride 1, no dilation.

The same method as F(2x2, 3x3) in :mod:`svertka.kernels.winograd`, with larger tiles: a 4x4
block of outputs needs a 6x6 patch of input, on which direct convolution spends 4*4*9 = 144
multiplications per channel pair and Winograd (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", 2015) 36, 2.25 per output against F(2x2)'s 4:

    Y = A^T [ (G g G^T) * (B^T d B) ] A        g the 3x3 filter, d the 6x6 patch

    B^T = [4  0 -5  0  1  0]    G = [ 1/4     0     0  ]    A^T = [1  1  1  1  1  0]
          [0 -4 -4  1  1  0]        [-1/6  -1/6  -1/6 ]          [0  1 -1  2 -2  0]
          [0  4 -4 -1  1  0]        [-1/6   1/6  -1/6 ]          [0  1  1  4  4  0]
          [0 -2 -1  2  1  0]        [1/24  1/12  1/6  ]          [0  1 -1  8 -8  1]
          [0  2 -1 -2  1  0]        [1/24 -1/12  1/6  ]
          [0  4  0 -5  0  1]        [  0     0     1  ]

(the interpolation points 0, 1, -1, 2, -2 and infinity, as in Lavin & Gray and wincnn).
Summed over input channels, each of the 36 positions of the transformed patch is a matrix
product over C: ``M[k] = V[k] @ U[k]``, V (tiles, C), U (C, C_out). Backward is F(2x2)'s,
transposed the same way: with dM = A gY A^T per tile (gY through the ReLU gate),

    dU[k] = V[k]^T @ dM[k]  (summed over tiles)  ->  gw = G^T dU G
    dV[k] = dM[k] @ U[k]^T                       ->  gx = sum over tiles of B dV B^T

The filter transforms, a few thousand values, run in float64 whatever the dtype, so that
1/6 and 1/24 are not rounded to float32 first. The tile transforms multiply by up to 8
(A^T) and 25 (B^T's corners, both ways): in float32 the output rounds about 20 times more
than F(2x2)'s (up to 5e-5 against 2e-6 on ResNet-20's layers), the gradients about 5 times
more (within the tests' float32 bound; figures in docs/performance.md). The tile transforms
are compiled loops (:mod:`svertka.kernels.winograd4_jit`); the max-pool fusion
stays with F(2x2), whose 2x2 tiles are exactly the pooling windows.

Why it exists: a tile costs its transforms a fixed time whatever the channel count, and with
16 or 32 channels that cost, not the GEMMs, is most of F(2x2)'s time; F(4x4) has a quarter
of the tiles and 36/64 of F(2x2)'s multiplications per output, so it runs ResNet-20's
layers 1.3-1.9 times faster. :func:`svertka.kernels.conv.plan` picks it for 8 to
``MAX_CHANNELS`` channels where the output's height and width are multiples of 4; past 64
channels it is unmeasured, and where the tiles overhang the output (14x14) F(2x2) is faster.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from svertka.kernels import memo
from svertka.kernels import winograd4_jit as tiles
from svertka.kernels.shapes import conv_output_size
from svertka.parallel import min_samples, over_batch

# the fewest 4x4 output tiles per pass, so that a pass's transformed arrays (36 per tile and
# channel) stay in cache while its 36 GEMMs run (docs/performance.md)
TILES_PER_CHUNK = 64
# and about how many values (tiles times channels) a pass's transformed arrays hold per
# position: 256 tiles at 16 channels, 128 at 32, 64 at 64; GEMMs over more tiles, measured
# faster than 64 tiles at 16 and 32 channels (docs/performance.md)
CHUNK_VALUES = 4096
# the most input channels it is planned for: measured up to 64 (docs/performance.md)
MAX_CHANNELS = 64

_G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])


class Winograd4Cache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

    method: str  # 'winograd4'
    v: np.ndarray  # (36, tiles, C) the transformed input patches, for gw
    u: np.ndarray  # (36, C, C_out) the transformed filters, for gx
    x_shape: tuple  # (N, H, W, C)
    pads: tuple  # ((top, bottom), (left, right))
    has_bias: bool
    relu_y: np.ndarray | None  # y, whose sign gates the gradient, after a fused ReLU


def filter_transform(w):
    """U = G g G^T for every channel pair, in float64: (3, 3, C, C_out) -> (36, C, C_out) in
    w's dtype."""
    c, c_out = w.shape[2:]
    gg = np.tensordot(_G, w.astype(np.float64), (1, 0))  # G g: (6, 3, C, C_out)
    u = np.tensordot(gg, _G, (1, 1))  # (G g) G^T: (6, C, C_out, 6)
    return np.moveaxis(u, 3, 1).reshape(36, c, c_out).astype(w.dtype)


def filter_gradient(du):
    """gw = G^T dU G, the adjoint of :func:`filter_transform`, in float64: (36, C, C_out) ->
    (3, 3, C, C_out) in du's dtype."""
    c, c_out = du.shape[1:]
    d = du.astype(np.float64).reshape(6, 6, c, c_out)
    gd = np.tensordot(_G.T, d, (1, 0))  # G^T dU: (3, 6, C, C_out)
    gw = np.tensordot(gd, _G, (1, 0))  # (G^T dU) G: (3, C, C_out, 3)
    return np.moveaxis(gw, 3, 1).astype(du.dtype)


def _constants(dtype):
    """The transforms' integer coefficients (2, 4, 5, 8) in ``dtype`` (see winograd4_jit)."""
    return np.array([2, 4, 5, 8], dtype=dtype)


def _geometry(x_shape, pads):
    """(OH, OW, tiles_h, tiles_w) of a 3x3, stride-1 convolution of x with ``pads``."""
    (top, bottom), (left, right) = pads
    oh = conv_output_size(x_shape[1], 3, padding=top + bottom)
    ow = conv_output_size(x_shape[2], 3, padding=left + right)
    return oh, ow, (oh + 3) // 4, (ow + 3) // 4


def _passes(s, tiles_per_image, channels):
    """Slice ``s`` of the batch as runs of images of about ``TILES_PER_CHUNK`` tiles, or
    ``CHUNK_VALUES / channels`` where that is more (``channels`` the larger of C, C_out)."""
    chunk = max(TILES_PER_CHUNK, CHUNK_VALUES // max(channels, 1))
    step = max(1, chunk // max(tiles_per_image, 1))
    return [slice(i, min(i + step, s.stop)) for i in range(s.start, s.stop, step)]


def forward(x, w, b=None, pads=((0, 0), (0, 0)), relu: bool = False, for_backward=True,
            u=None):
    """``y = conv(x, w) + b`` (then ReLU when ``relu``) for 3x3 filters, stride 1, zero
    padding ``pads``; the same values as im2col + GEMM up to float rounding. Returns ``(y,
    cache)``; cache is None without ``for_backward``, else a :class:`Winograd4Cache`.

    The batch is cut into one slice per core; each slice goes a few images at a time
    (:func:`_passes`): transform, 36 GEMMs, output transform, while the pass's
    arrays are in cache. For backward, V is written into one (36, tiles, C) array. ``u``:
    :func:`filter_transform` of w, from a caller that keeps it (a model's inference plan).

    >>> x, w = np.ones((1, 6, 6, 8)), np.ones((3, 3, 8, 2))
    >>> forward(x, w, pads=((1, 1), (1, 1)), for_backward=False)[0][0, :2, :2, 0].tolist()
    [[32.0, 48.0], [48.0, 72.0]]
    """
    n, h, w_in, c = x.shape
    c_out = w.shape[3]
    oh, ow, tiles_h, tiles_w = _geometry(x.shape, pads)
    per_image = tiles_h * tiles_w
    if u is None:  # (36, C, C_out); kept between inference calls while w holds (memo.py)
        u = memo.derived(filter_transform, (w,), keep=not for_backward)
    k = _constants(x.dtype)
    y = np.empty((n, oh, ow, c_out), dtype=x.dtype)
    bias = np.zeros(c_out, x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    x = np.ascontiguousarray(x)
    v_all = np.empty((36, n * per_image, c), dtype=x.dtype) if for_backward else None
    (top, _), (left, _) = pads

    def run(s):
        for part in _passes(s, per_image, max(c, c_out)):
            t = slice(part.start * per_image, part.stop * per_image)
            m_ = part.stop - part.start
            if for_backward:
                v, t0 = v_all, t.start
            else:
                v, t0 = np.empty((36, t.stop - t.start, c), x.dtype), 0
            tiles.input_transform(x[part].reshape(m_, h, w_in * c), c, top, left, tiles_h,
                                  tiles_w, k, v, t0)
            # (36, tiles, C_out): one GEMM per transformed position
            m = np.matmul(v[:, t0 : t0 + t.stop - t.start], u)
            tiles.output_transform(m.reshape(36, -1), c_out, bias, relu, tiles_h, tiles_w, k,
                                   y[part].reshape(m_, oh, ow * c_out))

    over_batch(run, n, min_samples(36 * per_image * c * c_out), xp=np)
    if not for_backward:
        return y, None
    return y, Winograd4Cache("winograd4", v_all, u, x.shape, pads, b is not None,
                             y if relu else None)


def backward(gy, cache, need_gx: bool = True, need_gw: bool = True):
    """Gradients of :func:`forward` with ``for_backward``: gy (N, OH, OW, C_out) -> (gx, gw,
    gb), None for what is not needed (gb without bias).

    Each slice of the batch, a few images at a time: the output-gradient transform (with the
    ReLU gate, and the bias gradient in the same pass), dU and dV by 36 GEMMs each, and the
    input-gradient transform onto its images of gx; the slices' dU and gb are summed.
    """
    v_all, u, x_shape, pads, relu_y = cache.v, cache.u, cache.x_shape, cache.pads, cache.relu_y
    n, oh, ow, c_out = gy.shape
    _, h, w_in, c = x_shape
    _, _, tiles_h, tiles_w = _geometry(x_shape, pads)
    per_image = tiles_h * tiles_w
    (top, _), (left, _) = pads
    k = _constants(u.dtype)
    gy = np.ascontiguousarray(gy, dtype=u.dtype)
    gate = gy if relu_y is None else relu_y
    gx = np.empty(x_shape, dtype=gy.dtype) if need_gx else None  # every cell is written
    # (36, C_out, C), contiguous: np.matmul runs 1.5-2 times slower on the transposed view
    u_t = np.ascontiguousarray(u.transpose(0, 2, 1))

    def run(s):
        du = np.zeros((36, c, c_out), dtype=gy.dtype) if need_gw else None
        gb = np.zeros(ow * c_out, dtype=gy.dtype)  # per output column, summed below
        for part in _passes(s, per_image, max(c, c_out)):
            t = slice(part.start * per_image, part.stop * per_image)
            m_ = part.stop - part.start
            dm = np.empty((36, t.stop - t.start, c_out), dtype=gy.dtype)
            tiles.grad_output_transform(gy[part].reshape(m_, oh, ow * c_out),
                                        gate[part].reshape(m_, oh, ow * c_out),
                                        relu_y is not None, c_out, tiles_h, tiles_w, k, dm, gb)
            if need_gw:
                du += np.matmul(v_all[:, t].transpose(0, 2, 1), dm)  # (36, C, C_out)
            if need_gx:
                dv = np.matmul(dm, u_t)  # (36, tiles, C)
                tiles.grad_input_transform(dv, c, top, left, tiles_h, tiles_w, k,
                                           gx[part].reshape(m_, h, w_in * c))
        return du, gb.reshape(ow, c_out).sum(axis=0)

    parts = over_batch(run, n, min_samples(36 * per_image * c * c_out), xp=np)
    gw = filter_gradient(sum(p[0] for p in parts)) if need_gw else None
    gb = sum(p[1] for p in parts) if cache.has_bias else None
    return gx, gw, gb
