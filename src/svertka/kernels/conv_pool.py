"""A 3x3 convolution (+ bias, ReLU) and the 2x2, stride-2 max pooling after it in one pass,
by the direct loop of :mod:`svertka.kernels.direct_jit`: the path
:func:`svertka.kernels.conv.plan` names ``'direct-maxpool'``.

``y = maxpool_2x2(relu(conv3x3(x) + b))`` is the pattern of the notes' model and of most
small CNNs (SPEC §7). Why fuse: run layer by layer, the convolution writes its whole output,
4 times larger than what the pooling keeps, and the pooling reads it back; fused, each
pooling window's four convolution outputs are computed together and only their maximum is
stored. With at least 8 input channels Winograd does the same
(:func:`svertka.kernels.winograd.forward` with ``maxpool=True``); this loop serves the first
layer of a network, on 1 (grey) or 3 (RGB) channels.

For training, :func:`forward` also records which cell won each window (or that the ReLU
stopped its gradient), and :func:`backward` gives the filter and bias gradients from the
pooled gradient, in one more pass over the windows. It has no input gradient: enough for a
first layer, whose input needs none.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from svertka.kernels.direct_jit import conv3x3_maxpool, conv3x3_maxpool_filter_grad
from svertka.kernels.pad import pad_forward
from svertka.kernels.shapes import conv_output_size
from svertka.parallel import min_samples, over_batch


class DirectPoolCache(NamedTuple):
    """What :func:`backward` needs from :func:`forward`."""

    method: str  # 'direct-maxpool'
    xpad: np.ndarray  # (N, H + top + bottom, W + left + right, C) the padded input, for gw
    won: np.ndarray  # (N, PH, PW, C_out) int32: each window's winning cell, 4 for none
    w_shape: tuple  # (3, 3, C, C_out)
    has_bias: bool


def _padded(x, pads):
    return np.ascontiguousarray(pad_forward(x, pads, "zeros"))


def forward(x, w, b=None, pads=((0, 0), (0, 0)), relu: bool = False,
            for_backward: bool = True):
    """``max_pool(relu(conv(x, w) + b))`` for NumPy floats x (N, H, W, C) and w (3, 3, C,
    C_out) of one dtype, zero padding ``pads``: (N, OH // 2, OW // 2, C_out), OH and OW the
    convolution's output size (an odd last row or column, which the pooling drops, is not
    computed). Returns ``(y, cache)``, cache a :class:`DirectPoolCache` or None without
    ``for_backward``.

    One slice of the batch per core; at inference each slice pads its own images.
    """
    n, h, w_in, _ = x.shape
    (top, bottom), (left, right) = pads
    oh = conv_output_size(h, 3, padding=top + bottom)
    ow = conv_output_size(w_in, 3, padding=left + right)
    c_out = w.shape[3]
    y = np.empty((n, oh // 2, ow // 2, c_out), dtype=x.dtype)
    won = np.empty(y.shape if for_backward else (0, 0, 0, 0), dtype=np.int32)  # empty: none
    xpad = _padded(x, pads) if for_backward else None
    bias = np.zeros(c_out, x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    w = np.ascontiguousarray(w)

    def run(s):
        if for_backward:
            conv3x3_maxpool(xpad[s], w, bias, relu, y[s], won[s])
        else:
            conv3x3_maxpool(_padded(x[s], pads), w, bias, relu, y[s], won)

    over_batch(run, n, min_samples(oh * ow * w.size), xp=np)
    if not for_backward:
        return y, None
    return y, DirectPoolCache("direct-maxpool", xpad, won, w.shape, b is not None)


def backward(gy, cache: DirectPoolCache, need_gx: bool = False, need_gw: bool = True):
    """``(None, gw, gb)`` of :func:`forward` for the pooled output gradient ``gy`` (gb None
    without a bias). Each core sums its slice of the batch; the slices' sums are added."""
    if need_gx:
        raise ValueError("conv2d_maxpool: the direct loop ('direct-maxpool') has no input "
                         "gradient; svertka.kernels.conv.plan(..., need_gx=True) avoids it")
    xpad, won, w_shape = cache.xpad, cache.won, cache.w_shape
    gy = np.ascontiguousarray(gy, dtype=xpad.dtype)

    def run(s):
        gw = np.zeros(w_shape, dtype=gy.dtype)
        gb = np.zeros(w_shape[3], dtype=gy.dtype)
        conv3x3_maxpool_filter_grad(xpad[s], gy[s], won[s], gw, gb)
        return gw, gb

    per_sample = 4 * gy.shape[1] * gy.shape[2] * int(np.prod(w_shape))
    parts = over_batch(run, gy.shape[0], min_samples(per_sample), xp=np)
    gw = sum(p[0] for p in parts) if need_gw else None
    return None, gw, sum(p[1] for p in parts) if cache.has_bias else None
