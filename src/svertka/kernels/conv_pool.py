"""Inference of a 3x3 convolution followed by 2x2, stride-2 max pooling, in one pass.

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

Training never fuses: backward needs the unpooled output to know which cell won each
window. ``svertka.models.fusion`` decides where a model's inference can use this.
"""

from __future__ import annotations

import numpy as np

from svertka.kernels import winograd
from svertka.kernels.conv import conv2d_forward
from svertka.kernels.direct_jit import conv3x3_maxpool
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
        return _direct(x, w, b, pads, relu)
    y, _ = conv2d_forward(x, w, b, UNIT, pads, UNIT, relu, for_backward=False)
    return pool2d_forward(y, (2, 2), (2, 2), NO_PADS, "max", for_backward=False)[0]


def _direct(x, w, b, pads, relu):
    """The fused loop of :mod:`svertka.kernels.direct_jit`, one slice of the batch per core,
    each slice padded by itself."""
    n, h, w_in, c = x.shape
    (top, bottom), (left, right) = pads
    oh, ow = h + top + bottom - 2, w_in + left + right - 2
    c_out = w.shape[3]
    y = np.empty((n, oh // 2, ow // 2, c_out), dtype=x.dtype)
    bias = np.zeros(c_out, x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    w = np.ascontiguousarray(w)

    def run(s):
        xpad = np.ascontiguousarray(pad_forward(x[s], pads, "zeros"))
        conv3x3_maxpool(xpad, w, bias, relu, y[s])

    over_batch(run, n, min_samples(oh * ow * w.size), xp=np)
    return y
