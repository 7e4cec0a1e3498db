"""2-D convolution on channels-last arrays: its definition, the plan that picks how to run
it, and the fast implementations, forward and backward.

Shape legend:

    x     (N, H, W, C)            input                 w   (KH, KW, C, C_out)   filters
    xpad  (N, Hp, Wp, C)          zero-padded input     b   (C_out,)             biases
    cols  (N*OH*OW, KH*KW*C)      one row per output pixel: the window it sees, flattened
    y     (N, OH, OW, C_out)      output                gy  like y               upstream grad

As in every framework, "convolution" is cross-correlation: the kernel is not flipped, so
``y[n, i, j, o] = b[o] + sum_{kh, kw, c} xpad[n, i*SH + kh*DH, j*SW + kw*DW, c] * w[kh, kw, c, o]``
(:func:`naive_conv`, and :func:`naive_conv_backward` for its gradients: the reference the
tests compare every path with).

:func:`plan` is the one place that decides which implementation runs, and names it;
:func:`conv2d_forward` and :func:`conv2d_backward` run what it names:

- ``'im2col'``: every window copied into one row of a matrix, so that the layer is a single
  matrix product ``cols @ w2d`` that BLAS runs far faster than any loop over pixels; the input
  gradient maps the window gradients back by one compiled loop (:mod:`svertka.kernels.conv_jit`).
  ``'im2col-numpy'`` is the same with NumPy's col2im, where the compiled loops cannot run
  (no Numba, ``SVERTKA_JIT=0``, CuPy, mixed dtypes).
- ``'winograd'``: 3x3, stride 1, at least 8 channels: Winograd's F(2x2, 3x3), with 16/36 of
  the multiplications (:mod:`svertka.kernels.winograd`).
- ``'winograd4'``: Winograd's F(4x4, 3x3) (:mod:`svertka.kernels.winograd4`), 1.3-1.9 times
  faster than F(2x2) where its 4x4 tiles cover the output exactly: picked for 8 to 64
  channels when the output's height and width are multiples of 4 (ResNet-20's 32, 16 and 8
  pixels). Its float32 forward rounding is larger, up to 6e-6 of the output's largest value
  against F(2x2)'s 3e-7 (docs/performance.md): far below what training notices, and the
  tests hold it to a 1e-4 bound where F(2x2) is held to 1e-5.
- with ``maxpool``, the convolution and the 2x2, stride-2 max pooling after it in one pass,
  without storing the unpooled output: ``'winograd-maxpool'`` (at least 8 channels),
  ``'direct-maxpool'`` (a first layer's few channels, no input gradient,
  :mod:`svertka.kernels.conv_pool`), or ``'unfused'`` where neither can run (the caller,
  ``svertka.ops.conv2d_maxpool``, then runs the two ops).

Every path adds the bias and applies ReLU when asked (``relu=True``) in its own pass, and
each core takes one slice of the batch (:mod:`svertka.parallel`): samples are independent,
and the weight and bias gradients, sums over samples, add up the slices' parts.

Padding here is zeros only, given per side; other fill modes are a separate pad op in front
(see ``svertka.ops.conv2d``), so their gradient is the pad op's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from svertka.backend import get_array_module
from svertka.kernels import conv_pool, winograd, winograd4
from svertka.kernels.bias_relu import bias_relu, relu_gate
from svertka.kernels.conv_jit import col2im_add
from svertka.kernels.jit import usable
from svertka.kernels.pad import pad_forward
from svertka.kernels.shapes import conv_output_size
from svertka.kernels.sums import channel_sum
from svertka.parallel import min_samples, over_batch

UNIT = (1, 1)
NO_PADS = ((0, 0), (0, 0))


def naive_conv(x, w, b=None, strides=UNIT, pads=NO_PADS, dilation=UNIT):
    """The definition: six nested loops, one multiply-add of a C_out vector per step.

    >>> x, w = np.arange(9.0).reshape(1, 3, 3, 1), np.ones((2, 2, 1, 1))
    >>> naive_conv(x, w)[0, :, :, 0].tolist()
    [[8.0, 12.0], [20.0, 24.0]]
    """
    (sh, sw), (dh, dw), ((t, bottom), (l, r)) = strides, dilation, pads
    xpad = np.pad(x, ((0, 0), (t, bottom), (l, r), (0, 0)))
    n, hp, wp, c = xpad.shape
    kh, kw, _, c_out = w.shape
    oh = conv_output_size(hp, kh, sh, dh)
    ow = conv_output_size(wp, kw, sw, dw)
    y = np.zeros((n, oh, ow, c_out)) + (0 if b is None else b)
    for i in range(n):
        for p in range(oh):
            for q in range(ow):
                for u in range(kh):
                    for v in range(kw):
                        for ch in range(c):
                            y[i, p, q] += (
                                xpad[i, p * sh + u * dh, q * sw + v * dw, ch] * w[u, v, ch]
                            )
    return y


def naive_conv_backward(x, w, gy, strides=UNIT, pads=NO_PADS, dilation=UNIT):
    """``(gx, gw, gb)`` of :func:`naive_conv`: every multiply-add of its loop, differentiated
    where it happens."""
    (sh, sw), (dh, dw), ((t, bottom), (l, r)) = strides, dilation, pads
    xpad = np.pad(x, ((0, 0), (t, bottom), (l, r), (0, 0)))
    gxpad, gw = np.zeros_like(xpad), np.zeros_like(w)
    n, oh, ow, _ = gy.shape
    kh, kw, c, _ = w.shape
    for i in range(n):
        for p in range(oh):
            for q in range(ow):
                for u in range(kh):
                    for v in range(kw):
                        for ch in range(c):
                            hi, wi = p * sh + u * dh, q * sw + v * dw
                            gxpad[i, hi, wi, ch] += gy[i, p, q] @ w[u, v, ch]
                            gw[u, v, ch] += xpad[i, hi, wi, ch] * gy[i, p, q]
    h, w_ = x.shape[1:3]
    return gxpad[:, t : t + h, l : l + w_], gw, gy.sum(axis=(0, 1, 2))


def plan(x, w, strides=UNIT, dilation=UNIT, maxpool: bool = False,
         need_gx: bool = False, pads=NO_PADS) -> str:
    """Which implementation convolves x (N, H, W, C) with w (KH, KW, C, C_out), by name (see
    the module docstring); with ``maxpool``, the convolution and the 2x2, stride-2 max pooling
    after it. ``need_gx``: whether the input will need a gradient (the direct loop has none).
    ``pads``: the zero padding, which sets the output size (F(4x4) wants multiples of 4).

    >>> x, w = np.zeros((1, 8, 8, 1)), np.zeros((3, 3, 1, 4))
    >>> plan(x, w, strides=(2, 2)) in ("im2col", "im2col-numpy")
    True
    """
    compiled = usable(x, w) and x.dtype == w.dtype
    three_by_three = (w.shape[:2] == (3, 3) and tuple(strides) == UNIT
                      and tuple(dilation) == UNIT)
    winograd_runs = compiled and three_by_three and x.shape[3] >= winograd.MIN_CHANNELS
    if maxpool:
        if winograd_runs:
            return "winograd-maxpool"
        return "direct-maxpool" if compiled and three_by_three and not need_gx else "unfused"
    if winograd_runs:
        oh = x.shape[1] + sum(pads[0]) - 2
        ow = x.shape[2] + sum(pads[1]) - 2
        if x.shape[3] <= winograd4.MAX_CHANNELS and oh % 4 == 0 and ow % 4 == 0:
            return "winograd4"
        return "winograd"
    return "im2col" if compiled else "im2col-numpy"


def conv2d_forward(x, w, b=None, strides=UNIT, pads=NO_PADS, dilation=UNIT,
                   relu: bool = False, for_backward: bool = True, maxpool: bool = False,
                   method: str | None = None):
    """y = conv(x, w) + b with zero padding ``pads = ((top, bottom), (left, right))``, then
    ReLU when ``relu``; with ``maxpool``, y max-pooled over 2x2 windows at stride 2, (N,
    OH // 2, OW // 2, C_out).

    Runs ``method``, by default what :func:`plan` chooses. Arguments are assumed checked
    (``svertka.ops.conv2d`` does it). Returns ``(y, cache)``: cache is what
    :func:`conv2d_backward` needs, one of the named caches of the implementations (its
    ``method`` field says which ran), or None with ``for_backward=False`` (inference keeps
    nothing; a model bounds its memory by running large batches in chunks, see
    ``Model.__call__``).
    """
    method = method or plan(x, w, strides, dilation, maxpool, pads=pads)
    if method == "winograd4":
        return winograd4.forward(x, w, b, pads, relu, for_backward)
    if method in ("winograd", "winograd-maxpool"):
        return winograd.forward(x, w, b, pads, relu, for_backward,
                                maxpool=method == "winograd-maxpool")
    if method == "direct-maxpool":
        return conv_pool.forward(x, w, b, pads, relu, for_backward)
    assert method in ("im2col", "im2col-numpy") and not maxpool, method
    return gemm_forward(x, w, b, strides, pads, dilation, relu, for_backward, method)


def conv2d_backward(gy, cache, need_gx: bool = True, need_gw: bool = True):
    """Gradients of :func:`conv2d_forward`: gy (N, OH, OW, C_out), pooled after ``maxpool``,
    -> (gx, gw, gb), each None where not needed (``need_gx``/``need_gw`` False, gb without
    bias), by the backward of the implementation that ran forward."""
    if cache.method == "winograd4":
        return winograd4.backward(gy, cache, need_gx, need_gw)
    if cache.method in ("winograd", "winograd-maxpool"):
        return winograd.backward(gy, cache, need_gx, need_gw)
    if cache.method == "direct-maxpool":
        return conv_pool.backward(gy, cache, need_gx, need_gw)
    return gemm_backward(gy, cache, need_gx, need_gw)


class Im2colCache(NamedTuple):
    """What :func:`gemm_backward` needs from :func:`gemm_forward`."""

    method: str  # 'im2col' (compiled col2im) or 'im2col-numpy'
    cols: object  # (N*OH*OW, KH*KW*C) the window matrix, for gw
    w: object  # (KH, KW, C, C_out), for gx
    x_shape: tuple  # (N, H, W, C)
    pads: tuple  # ((top, bottom), (left, right))
    strides: tuple
    dilation: tuple
    has_bias: bool
    relu_y: object  # y, whose sign gates the gradient, after a fused ReLU; else None


def im2col(xpad, kernel_hw, strides=(1, 1), dilation=(1, 1)):
    """All windows of xpad (N, Hp, Wp, C) as a view (N, OH, OW, KH, KW, C), no copy.

    ``view[n, i, j, kh, kw, c] = xpad[n, i*SH + kh*DH, j*SW + kw*DW, c]``: moving one output
    pixel steps the stride, moving one kernel tap steps the dilation, in the same buffer.
    Windows overlap, so the view must only be read (CuPy's ``as_strided`` has no
    ``writeable=False`` to enforce that).
    """
    xp = get_array_module(xpad)
    n, hp, wp, c = xpad.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, strides, dilation
    oh = conv_output_size(hp, kh, sh, dh)
    ow = conv_output_size(wp, kw, sw, dw)
    s_n, s_h, s_w, s_c = xpad.strides
    return xp.lib.stride_tricks.as_strided(
        xpad,
        shape=(n, oh, ow, kh, kw, c),
        strides=(s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c),
    )


def window_matrix(windows, out=None):
    """The (N*OH*OW, KH*KW*C) matrix of the window view from :func:`im2col`: the one copy,
    written into ``out`` (rows of a larger matrix) when given.

    A one-channel input (a first layer on grey images) is copied one kernel tap at a time,
    because NumPy copies the 6-D view element by element when C = 1; with channels, one copy
    of the whole view moves C-long runs.
    """
    n, oh, ow, kh, kw, c = windows.shape
    if out is None:
        out = get_array_module(windows).empty((n * oh * ow, kh * kw * c), dtype=windows.dtype)
    blocks = out.reshape(windows.shape)  # (N, OH, OW, KH, KW, C), a view of out
    if c != 1:
        blocks[...] = windows
        return out
    for i in range(kh):
        for j in range(kw):
            blocks[:, :, :, i, j] = windows[:, :, :, i, j]
    return out


def col2im(tap_grad, padded_shape, out_hw, kernel_hw, strides=(1, 1), dilation=(1, 1)):
    """Adjoint of ``im2col``: window gradients back onto the padded input ``padded_shape``.

    ``tap_grad(i, j)`` gives the gradient of every window's tap (i, j), shape (N, OH, OW, C),
    i.e. ``gcols[:, :, :, i, j]``. Overlapping windows share pixels, so contributions add.
    One loop step per kernel tap (KH*KW, typically 9); each step is a vectorised add of a
    strided slice. Taking the taps from a function lets the convolution compute each one
    as its own small GEMM, contiguous, instead of slicing strided columns of one big product.
    """
    (oh, ow), (kh, kw), (sh, sw), (dh, dw) = out_hw, kernel_hw, strides, dilation
    gxpad = None
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            g = tap_grad(i, j)
            if gxpad is None:
                gxpad = get_array_module(g).zeros(padded_shape, dtype=g.dtype)
            gxpad[:, rows, cols] += g
    return gxpad


def gemm_forward(x, w, b=None, strides=UNIT, pads=NO_PADS, dilation=UNIT,
                 relu: bool = False, for_backward: bool = True, method: str = "im2col"):
    """:func:`conv2d_forward` by im2col + GEMM, for any geometry; the cache, with
    ``for_backward``, an :class:`Im2colCache` whose method is ``method``.

    The maths, in three lines::

        cols = window_matrix(im2col(pad(x)))        # (N*OH*OW, KH*KW*C)
        y = cols @ w.reshape(KH*KW*C, C_out)        # (N*OH*OW, C_out)
        y = relu(y + b)                             # in place

    Samples are independent, so each core takes a slice of the batch and writes its own
    rows of ``cols`` and ``y``, which are allocated once for the whole batch.
    """
    xp = get_array_module(x)
    kh, kw, c, c_out = w.shape
    n, h, w_in, _ = x.shape
    (top, bottom), (left, right) = pads
    oh = conv_output_size(h, kh, strides[0], dilation[0], top + bottom)
    ow = conv_output_size(w_in, kw, strides[1], dilation[1], left + right)
    w2d = w.reshape(kh * kw * c, c_out)
    y = xp.empty((n * oh * ow, c_out), dtype=xp.result_type(x, w))  # (N*OH*OW, C_out)
    # a 1x1 convolution at stride 1 without padding (ResNet's bottlenecks) needs no copy:
    # its window matrix is x itself, seen as (N*H*W, C)
    pointwise = ((kh, kw) == (1, 1) and tuple(strides) == UNIT and pads == NO_PADS
                 and x.flags.c_contiguous)
    if pointwise:
        cols = x.reshape(n * h * w_in, c) if for_backward else None
    else:
        cols = xp.empty((n * oh * ow, kh * kw * c), dtype=x.dtype) if for_backward else None

    def run(s):  # the three lines above, on samples s: rows s.start*OH*OW .. s.stop*OH*OW
        rows = slice(s.start * oh * ow, s.stop * oh * ow)
        if pointwise:
            cols_s = x[s].reshape(-1, c)
        else:
            windows = im2col(pad_forward(x[s], pads, "zeros"), (kh, kw), strides, dilation)
            cols_s = window_matrix(windows, None if cols is None else cols[rows])
        xp.matmul(cols_s, w2d, out=y[rows])
        bias_relu(y[rows], b, relu)

    over_batch(run, n, min_samples(oh * ow * w.size), xp=xp)
    y = y.reshape(n, oh, ow, c_out)
    if not for_backward:
        return y, None
    return y, Im2colCache(method, cols, w, x.shape, pads, strides, dilation, b is not None,
                          y if relu else None)


def _input_gradient(g2d, w, gx, out_hw, strides, dilation, pads, compiled: bool) -> None:
    """Fill ``gx`` (N, H, W, C) with the input gradient for ``g2d`` (N*OH*OW, C_out).

    Compiled (:mod:`svertka.kernels.conv_jit`): one GEMM for all taps' window gradients,
    scattered onto gx, a few images at a time so that the product stays in cache (about
    4 MB). NumPy: :func:`col2im` with one GEMM per tap, then the padding cropped.
    """
    kh, kw, c, c_out = w.shape
    n, h, w_in, _ = gx.shape
    (oh, ow), ((t, bottom), (l, r)) = out_hw, pads
    if compiled:
        w2d_t = w.reshape(kh * kw * c, c_out).T  # (C_out, KH*KW*C)
        gx.fill(0)
        rows = oh * ow  # per image
        step = max(1, (1 << 20) // (rows * kh * kw * c))
        for i in range(0, n, step):
            gcols = g2d[i * rows : (i + step) * rows] @ w2d_t  # (images*OH*OW, KH*KW*C)
            col2im_add(gcols, gx[i : i + step], out_hw, (kh, kw), strides, dilation, pads)
        return
    gxpad = col2im(lambda i, j: (g2d @ w[i, j].T).reshape(n, oh, ow, c),
                   (n, h + t + bottom, w_in + l + r, c), out_hw, (kh, kw), strides, dilation)
    gx[...] = gxpad[:, t : t + h, l : l + w_in]


def gemm_backward(gy, cache: Im2colCache, need_gx: bool = True, need_gw: bool = True):
    """Gradients of :func:`gemm_forward`: gy (N, OH, OW, C_out) -> (gx, gw, gb).

    gx (N, H, W, C): the window gradients ``gy @ w2d.T`` mapped back by col2im (see
    :func:`_input_gradient`); gw (KH, KW, C, C_out) = ``cols.T @ gy``; gb (C_out,) = gy
    summed over N, OH, OW (None without bias). ``need_gx``/``need_gw`` skip work nobody
    asked for (a first layer's input, a frozen filter) and give None.

    Pixels that no window reaches (the window does not tile the input) get zero gradient.
    After a fused ReLU, gy first passes its gate. As in forward, each core takes a slice of
    the batch: its rows of gx, and its share of the sums over samples that gw and gb are,
    added up at the end.
    """
    cols, w, relu_y = cache.cols, cache.w, cache.relu_y
    # the compiled scatter takes contiguous arrays of the filters' dtype (a gradient of
    # another dtype, from a float64 loss say, keeps NumPy's and its own dtype)
    compiled = cache.method == "im2col" and gy.dtype == w.dtype
    if compiled:
        gy = np.ascontiguousarray(gy)
    xp = get_array_module(gy)
    n, oh, ow, c_out = gy.shape
    gx = xp.empty(cache.x_shape, dtype=gy.dtype) if need_gx else None

    def run(s):
        g = gy[s] if relu_y is None else relu_gate(gy[s], relu_y[s])
        m = s.stop - s.start
        g2d = g.reshape(m * oh * ow, c_out)
        gb = channel_sum(g2d) if cache.has_bias else None
        gw = cols[s.start * oh * ow : s.stop * oh * ow].T @ g2d if need_gw else None
        if need_gx:
            _input_gradient(g2d, w, gx[s], (oh, ow), cache.strides, cache.dilation,
                            cache.pads, compiled)
        return gb, gw

    parts = over_batch(run, n, min_samples(oh * ow * w.size), xp=xp)
    gb = sum(p[0] for p in parts) if cache.has_bias else None
    gw = sum(p[1] for p in parts).reshape(w.shape) if need_gw else None
    return gx, gw, gb
