"""Grouped and depthwise 2-D convolution on channels-last arrays: their definitions, the plan
that picks how to run them, and the compiled depthwise path, forward and backward.

Shape legend:

    x   (N, H, W, C)        input                   w   (KH, KW, C // G, C_out)  grouped filters
    y   (N, OH, OW, C_out)  output                  wd  (KH, KW, C, M)           depthwise filters
    b   (C_out,)            biases                  gy  like y                   upstream grad

A convolution in G groups cuts the channels of x into G runs of C // G and the filters into
G runs of C_out // G; the filters of group g see only the channels of group g, and the
output is the groups' outputs side by side (:func:`grouped_forward`). Depthwise convolution
is the case G = C: input channel c has M filters of its own (M the depth multiplier), whose
outputs are channels ``c*M .. c*M + M - 1`` (the order of Keras and PyTorch), C_out = C*M:

    y[n, i, j, c*M + m] = b[c*M + m]
        + sum_{kh, kw} xpad[n, i*SH + kh*DH, j*SW + kw*DW, c] * wd[kh, kw, c, m]

(:func:`numpy_forward`, one vectorised multiply-add per kernel tap, and
:func:`numpy_backward`: the reference the tests compare the compiled path with).

:func:`plan` is the one place that decides which implementation runs, and names it:

- ``'per-group'``: each group convolved by :mod:`svertka.kernels.conv` (whatever its own plan
  picks for the group), the definition of a grouped convolution, for any G.
- ``'depthwise'``: G = C, compiled loops (:mod:`svertka.kernels.depthwise_jit`), because a
  depthwise filter does too little arithmetic per output for im2col + GEMM to pay.
- ``'depthwise-numpy'``: the definition above, where the compiled loops cannot run (no
  Numba, ``SVERTKA_JIT=0``, CuPy, mixed dtypes).

Padding here is zeros only, given per side, as in :mod:`svertka.kernels.conv`.
"""

from __future__ import annotations

from typing import NamedTuple

from svertka.backend import get_array_module
from svertka.kernels import depthwise_jit
from svertka.kernels.conv import col2im, conv2d_backward, conv2d_forward, im2col
from svertka.kernels.jit import usable
from svertka.kernels.pad import pad_forward
from svertka.kernels.shapes import conv_output_size
from svertka.kernels.sums import channel_sum

UNIT = (1, 1)
NO_PADS = ((0, 0), (0, 0))


def plan(x, w, groups: int = 1) -> str:
    """Which implementation convolves x (N, H, W, C) with w (KH, KW, C // groups, C_out) in
    ``groups`` groups, by name (see the module docstring); a depthwise call passes its
    filters (KH, KW, C, M) viewed as (KH, KW, 1, C*M) and groups = C.

    >>> import numpy as np
    >>> plan(np.zeros((1, 5, 5, 4)), np.zeros((3, 3, 2, 4)), groups=2)
    'per-group'
    >>> plan(np.zeros((1, 5, 5, 4)), np.zeros((3, 3, 1, 8)), groups=4) in (
    ...     "depthwise", "depthwise-numpy")
    True
    """
    if groups != x.shape[3]:
        return "per-group"
    return "depthwise" if usable(x, w) and x.dtype == w.dtype else "depthwise-numpy"


def _out_hw(x_shape, w_shape, strides, pads, dilation) -> tuple[int, int]:
    return tuple(conv_output_size(x_shape[1 + a], w_shape[a], strides[a], dilation[a],
                                  sum(pads[a])) for a in range(2))


def numpy_forward(x, w, b=None, strides=UNIT, pads=NO_PADS, dilation=UNIT):
    """The depthwise convolution of x (N, H, W, C) with w (KH, KW, C, M), plus b (C*M,):
    (N, OH, OW, C*M), by the definition, one multiply-add of the whole output per tap.

    >>> import numpy as np
    >>> x, w = np.arange(18.0).reshape(1, 3, 3, 2), np.ones((2, 2, 2, 1))
    >>> numpy_forward(x, w)[0, :, :, 1].tolist()
    [[20.0, 28.0], [44.0, 52.0]]
    """
    xp = get_array_module(x)
    kh, kw, c, m = w.shape
    windows = im2col(pad_forward(x, pads, "zeros"), (kh, kw), strides, dilation)
    n, oh, ow = windows.shape[:3]  # windows: (N, OH, OW, KH, KW, C), a view
    y = xp.zeros((n, oh, ow, c, m), dtype=xp.result_type(x, w))
    for u in range(kh):
        for v in range(kw):
            y += windows[:, :, :, u, v, :, None] * w[u, v]  # (N, OH, OW, C, 1) * (C, M)
    y = y.reshape(n, oh, ow, c * m)
    return y if b is None else y + b


def numpy_backward(gy, x, w, strides=UNIT, pads=NO_PADS, dilation=UNIT):
    """``(gx, gw)`` of :func:`numpy_forward` for gy (N, OH, OW, C*M): per tap (u, v),
    ``gw[u, v, c, m] = sum_{n,i,j} window[n, i, j, u, v, c] * gy[n, i, j, c, m]`` and the
    window gradient ``sum_m gy[..., c, m] * w[u, v, c, m]``, added back onto x by col2im."""
    xp = get_array_module(gy)
    kh, kw, c, m = w.shape
    n, h, w_in, _ = x.shape
    (t, bottom), (l, r) = pads
    oh, ow = gy.shape[1:3]
    gy5 = gy.reshape(n, oh, ow, c, m)  # (N, OH, OW, C, M)
    windows = im2col(pad_forward(x, pads, "zeros"), (kh, kw), strides, dilation)
    gw = xp.empty(w.shape, dtype=xp.result_type(x, gy))
    for u in range(kh):
        for v in range(kw):
            gw[u, v] = xp.einsum("nijc,nijcm->cm", windows[:, :, :, u, v], gy5)
    gxpad = col2im(lambda u, v: (gy5 * w[u, v]).sum(axis=4), (n, h + t + bottom, w_in + l + r, c),
                   (oh, ow), (kh, kw), strides, dilation)
    return gxpad[:, t : t + h, l : l + w_in], gw


class DepthwiseCache(NamedTuple):
    """What :func:`depthwise_backward` needs from :func:`depthwise_forward`."""

    method: str  # 'depthwise' (compiled) or 'depthwise-numpy'
    x: object  # (N, H, W, C) the input, for gw
    w: object  # (KH, KW, C, M), for gx
    strides: tuple
    pads: tuple  # ((top, bottom), (left, right))
    dilation: tuple
    has_bias: bool


def depthwise_forward(x, w, b=None, strides=UNIT, pads=NO_PADS, dilation=UNIT,
                      for_backward: bool = True, method: str | None = None):
    """y (N, OH, OW, C*M) = the depthwise convolution of x (N, H, W, C) with w (KH, KW, C, M),
    plus b (C*M,), zero padding ``pads``; arguments assumed checked
    (``svertka.ops.depthwise_conv2d`` does it). Runs ``method``, by default what :func:`plan`
    picks. Returns ``(y, cache)``, cache a :class:`DepthwiseCache`, or None with
    ``for_backward=False``.
    """
    kh, kw, c, m = w.shape
    method = method or plan(x, w.reshape(kh, kw, 1, c * m), groups=c)
    if method == "depthwise":
        x, w = (get_array_module(a).ascontiguousarray(a) for a in (x, w))
        same = b is None or b.dtype == x.dtype
        bias = get_array_module(x).ascontiguousarray(b) if b is not None and same else None
        y = depthwise_jit.forward(x, w, bias, strides, pads, dilation,
                                  _out_hw(x.shape, w.shape, strides, pads, dilation))
        if b is not None and not same:
            y = y + b
    else:
        assert method == "depthwise-numpy", method
        y = numpy_forward(x, w, b, strides, pads, dilation)
    cache = DepthwiseCache(method, x, w, strides, pads, dilation, b is not None)
    return y, cache if for_backward else None


def depthwise_backward(gy, cache: DepthwiseCache, need_gx: bool = True, need_gw: bool = True):
    """Gradients of :func:`depthwise_forward`: gy (N, OH, OW, C*M) -> (gx, gw, gb), each
    None where not needed (``need_gx``/``need_gw`` False, gb without bias), by the path
    that ran forward (a gradient of another dtype goes the NumPy way)."""
    gb = channel_sum(gy) if cache.has_bias else None
    x, w = cache.x, cache.w
    if cache.method == "depthwise" and gy.dtype == x.dtype:
        gy = get_array_module(gy).ascontiguousarray(gy)
        gx, gw = depthwise_jit.backward(gy, x, w, cache.strides, cache.pads, cache.dilation,
                                        need_gx, need_gw)
        return gx, gw, gb
    gx, gw = numpy_backward(gy, x, w, cache.strides, cache.pads, cache.dilation)
    return (gx if need_gx else None), (gw if need_gw else None), gb


class GroupedCache(NamedTuple):
    """What :func:`grouped_backward` needs from :func:`grouped_forward`."""

    method: str  # what :func:`plan` chose
    caches: list  # one conv cache per group ('per-group'), or the one depthwise cache
    groups: int
    w_shape: tuple  # (KH, KW, C // G, C_out)


def grouped_forward(x, w, b=None, groups: int = 1, strides=UNIT, pads=NO_PADS, dilation=UNIT,
                    for_backward: bool = True):
    """y (N, OH, OW, C_out) = x (N, H, W, C) convolved in ``groups`` groups with w (KH, KW,
    C // groups, C_out), plus b (C_out,), zero padding ``pads``. Returns ``(y, cache)``, cache
    a :class:`GroupedCache`, or None with ``for_backward=False``.

    >>> import numpy as np
    >>> x, w = np.ones((1, 4, 4, 4)), np.ones((3, 3, 2, 6))
    >>> grouped_forward(x, w, groups=2)[0].shape
    (1, 2, 2, 6)
    """
    kh, kw, cg, c_out = w.shape
    method = plan(x, w, groups)
    if method != "per-group":  # w (KH, KW, 1, C*M) is the depthwise (KH, KW, C, M)
        y, cache = depthwise_forward(x, w.reshape(kh, kw, groups, c_out // groups), b,
                                     strides, pads, dilation, for_backward, method)
        return y, GroupedCache(method, [cache], groups, w.shape) if for_backward else None
    xp = get_array_module(x)
    og = c_out // groups
    ys, caches = [], []
    for g in range(groups):
        xg = xp.ascontiguousarray(x[..., g * cg : (g + 1) * cg])  # (N, H, W, C // G)
        wg = xp.ascontiguousarray(w[..., g * og : (g + 1) * og])  # (KH, KW, C // G, C_out // G)
        bg = None if b is None else b[g * og : (g + 1) * og]
        yg, cache = conv2d_forward(xg, wg, bg, strides, pads, dilation,
                                   for_backward=for_backward)
        ys.append(yg)
        caches.append(cache)
    y = xp.concatenate(ys, axis=3)
    return y, GroupedCache(method, caches, groups, w.shape) if for_backward else None


def grouped_backward(gy, cache: GroupedCache, need_gx: bool = True, need_gw: bool = True):
    """Gradients of :func:`grouped_forward`: gy (N, OH, OW, C_out) -> (gx, gw, gb), each None
    where not needed; per group by the backward of what ran it, side by side again."""
    if cache.method != "per-group":
        gx, gw, gb = depthwise_backward(gy, cache.caches[0], need_gx, need_gw)
        return gx, (None if gw is None else gw.reshape(cache.w_shape)), gb
    xp = get_array_module(gy)
    og = cache.w_shape[3] // cache.groups
    parts = [conv2d_backward(xp.ascontiguousarray(gy[..., g * og : (g + 1) * og]), c,
                             need_gx, need_gw) for g, c in enumerate(cache.caches)]
    gx, gw, gb = (None if p[0] is None else xp.concatenate(p, axis=-1) for p in zip(*parts))
    return gx, gw, gb
