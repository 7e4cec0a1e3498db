"""A 3x3 convolution followed by 2x2, stride-2 max pooling, in one pass.

``y = maxpool_2x2(relu(conv3x3(x) + b))``: the pattern of the notes' model and of most small
CNNs (SPEC §7). Run layer by layer, the convolution writes its whole output, 4 times larger
than what the pooling keeps, and the pooling reads it back; on the notes' first layer at
batch 1,000 that is 100 MB written and read again. Fused, each pooling window's four
convolution outputs are computed together and only their maximum is stored:

- at least 8 input channels: Winograd's F(2x2, 3x3), whose 2x2 output tiles are exactly the
  pooling windows (:func:`svertka.kernels.winograd.forward` with ``maxpool=True``);
- fewer (a first layer on grey or RGB images): a direct loop over the windows
  (:mod:`svertka.kernels.direct_jit`);
- without Numba, or on CuPy: the two layers' own kernels one after the other.

Training fuses the pair too: :func:`train_forward` also records which cell won each window
(or that the ReLU stopped its gradient), and :func:`train_backward` takes the pooled
gradient straight to where it goes. With Winograd, the output-gradient transform puts it on
each tile's winning cell, and the input gradient follows as usual. The direct loop gives the
filter and bias gradients only, in one more pass over the windows, each window's four input
patches times its gradient masked by the winners: enough for a first layer, whose input
needs no gradient. The unpooled output and its gradient, 4 times the pooled size, are never
stored. On the notes' first layer (16 images, one core) forward took 0.3-0.4 ms against 0.8
for the convolution and pooling kernels, backward 0.4-0.6 against 1.0.

``svertka.models.fusion`` decides where a model uses these.
"""

from __future__ import annotations

import numpy as np

from svertka.kernels import winograd
from svertka.kernels.conv import conv2d_forward
from svertka.kernels.direct_jit import conv3x3_maxpool, conv3x3_maxpool_filter_grad
from svertka.kernels.jit import usable
from svertka.kernels.pad import pad_forward
from svertka.kernels.pool import pool2d_forward
from svertka.parallel import min_samples, over_batch

UNIT = (1, 1)
NO_PADS = ((0, 0), (0, 0))


def conv2d_maxpool(x, w, b=None, pads=NO_PADS, relu: bool = False):
    """``max_pool(relu(conv(x, w) + b))`` for x (N, H, W, C), 3x3 filters w (3, 3, C, C_out)
    at stride 1 with zero padding ``pads = ((top, bottom), (left, right))``, ReLU when
    ``relu``, max pooling over 2x2 windows at stride 2 without padding. Returns (N, OH // 2,
    OW // 2, C_out), OH and OW the convolution's output size (an odd last row or column is
    dropped by the pooling, and not computed).

    Arguments are assumed checked (the layers did it). Keeps nothing for backward.
    """
    assert w.shape[:2] == (3, 3), w.shape
    if winograd.applies(x, w, UNIT, UNIT):
        return winograd.forward(x, w, b, pads, relu, for_backward=False, maxpool=True)[0]
    if usable(x, w) and x.dtype == w.dtype:
        return _direct(x, w, b, pads, relu)[0]
    y, _ = conv2d_forward(x, w, b, UNIT, pads, UNIT, relu, for_backward=False)
    return pool2d_forward(y, (2, 2), (2, 2), NO_PADS, "max", for_backward=False)[0]


def trains_fused(x, w, need_gx: bool = False) -> bool:
    """Whether :func:`train_forward` takes this input and filter: compiled kernels usable,
    one float dtype, 3x3 filters; with ``need_gx``, also enough input channels for Winograd
    (the direct loop below 8 has no input gradient)."""
    if not (w.shape[:2] == (3, 3) and usable(x, w) and x.dtype == w.dtype):
        return False
    return not need_gx or winograd.applies(x, w, UNIT, UNIT)


def _padded(x, pads):
    return np.ascontiguousarray(pad_forward(x, pads, "zeros"))


def _direct(x, w, b, pads, relu, record=False):
    """The fused loop of :mod:`svertka.kernels.direct_jit`, one slice of the batch per core,
    each slice padded by itself; returns ``(y, won, xpad)``, ``won`` and the padded input
    (kept for backward) only when ``record``."""
    n, h, w_in, c = x.shape
    (top, bottom), (left, right) = pads
    oh, ow = h + top + bottom - 2, w_in + left + right - 2
    c_out = w.shape[3]
    y = np.empty((n, oh // 2, ow // 2, c_out), dtype=x.dtype)
    won = np.empty(y.shape if record else (0, 0, 0, 0), dtype=np.int32)
    xpad = _padded(x, pads) if record else None
    bias = np.zeros(c_out, x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    w = np.ascontiguousarray(w)

    def run(s):
        if record:
            conv3x3_maxpool(xpad[s], w, bias, relu, y[s], won[s])
        else:
            conv3x3_maxpool(_padded(x[s], pads), w, bias, relu, y[s], won)

    over_batch(run, n, min_samples(oh * ow * w.size), xp=np)
    return y, won, xpad


def train_forward(x, w, b=None, pads=NO_PADS, relu: bool = False):
    """:func:`conv2d_maxpool` for training, where :func:`trains_fused` holds: returns
    ``(y, cache)``, cache what :func:`train_backward` needs (the kernel that ran, and the
    winners with what else its backward needs)."""
    if winograd.applies(x, w, UNIT, UNIT):
        y, cache = winograd.forward(x, w, b, pads, relu, for_backward=True, maxpool=True)
        return y, ("winograd", cache)
    y, won, xpad = _direct(x, w, b, pads, relu, record=True)
    return y, ("direct", (xpad, won, w.shape, b is not None))


def input_gradient(cache) -> bool:
    """Whether :func:`train_backward` can give the input gradient for this cache (Winograd
    can; the direct loop gives the filter and bias gradients only)."""
    return cache[0] == "winograd"


def train_backward(gy, cache, need_gx: bool = False, need_gw: bool = True):
    """``(gx, gw, gb)`` of :func:`train_forward` for the pooled output gradient ``gy``: gx
    None unless ``need_gx`` (which needs :func:`input_gradient`), gb None without a bias.
    Each core sums its slice of the batch; the slices' sums are added."""
    method, data = cache
    if method == "winograd":
        return winograd.backward(gy, data, need_gx, need_gw)
    assert not need_gx, "the direct loop has no input gradient"
    xpad, won, w_shape, has_b = data
    gy = np.ascontiguousarray(gy, dtype=xpad.dtype)

    def run(s):
        gw = np.zeros(w_shape, dtype=gy.dtype)
        gb = np.zeros(w_shape[3], dtype=gy.dtype)
        conv3x3_maxpool_filter_grad(xpad[s], gy[s], won[s], gw, gb)
        return gw, gb

    per_sample = 4 * gy.shape[1] * gy.shape[2] * int(np.prod(w_shape))
    parts = over_batch(run, gy.shape[0], min_samples(per_sample), xp=np)
    gw = sum(p[0] for p in parts) if need_gw else None
    return None, gw, sum(p[1] for p in parts) if has_b else None
