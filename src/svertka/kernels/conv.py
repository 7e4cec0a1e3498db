"""2-D convolution on channels-last arrays: im2col + one GEMM, and its backward.

Shape legend:

    x     (N, H, W, C)            input                 w   (KH, KW, C, C_out)   filters
    xpad  (N, Hp, Wp, C)          zero-padded input     b   (C_out,)             biases
    cols  (N*OH*OW, KH*KW*C)      one row per output pixel: the window it sees, flattened
    y     (N, OH, OW, C_out)      output                gy  like y               upstream grad

As in every framework, "convolution" is cross-correlation: the kernel is not flipped, so
``y[n, i, j, o] = b[o] + sum_{kh, kw, c} xpad[n, i*SH + kh*DH, j*SW + kw*DW, c] * w[kh, kw, c, o]``.

Why im2col: gathering every window into one row turns the whole layer into a single matrix
product ``cols @ w2d``, which BLAS (or cuBLAS) runs far faster than any loop over pixels. The
windows are first taken as a strided *view* of the padded input (no copy); the one copy is the
reshape into the (N*OH*OW, KH*KW*C) matrix. The cache keeps that matrix (gw needs it) and w,
not x. Backward maps the window gradients back as "col2im" does: in NumPy, a loop over the
KH*KW kernel taps, each adding one strided slice into the padded-gradient buffer, which is
then cropped (each tap's gradient is its own small GEMM, computed inside that loop); with
Numba, one GEMM for all taps and a compiled loop that adds each window's row onto its pixels
(:mod:`svertka.kernels.conv_jit`).

A 3x3, stride-1 convolution of at least 8 channels runs Winograd's F(2x2, 3x3) instead,
forward and backward, with 16/36 of the multiplications (:mod:`svertka.kernels.winograd`);
:func:`conv2d_forward` and :func:`conv2d_backward` choose, and the cache says which ran.

The batch is cut into one slice per core (:mod:`svertka.parallel`): samples are independent,
and the weight and bias gradients, sums over samples, add up the slices' parts.

Padding here is zeros only, given per side; other fill modes are a separate pad op in front
(see ``svertka.ops.conv2d``), so their gradient is the pad op's.
"""

from __future__ import annotations

from svertka.backend import get_array_module
from svertka.kernels import winograd
from svertka.kernels.bias_relu import bias_relu, relu_gate
from svertka.kernels.conv_jit import col2im_add
from svertka.kernels.jit import usable
from svertka.kernels.pad import pad_forward
from svertka.kernels.shapes import conv_output_size
from svertka.kernels.sums import channel_sum
from svertka.parallel import min_samples, over_batch


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
    """The (N*OH*OW, KH*KW*C) matrix of the window view from :func:`im2col`: the one copy.

    Written into ``out`` (rows of a larger matrix) when given. A single-channel input (the
    first layer on grey images) is copied one kernel tap at a time: NumPy copies the 6-D view
    element by element when C = 1, three times slower than KH*KW slice assignments. With
    channels, one copy of the whole view moves C-long runs.
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


def conv2d_forward(x, w, b=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1),
                   relu: bool = False, for_backward: bool = True):
    """y = conv(x, w) + b with zero padding ``pads = ((top, bottom), (left, right))``;
    ``relu=True`` gives ``max(y, 0)``, applied in place on the product (one pass, no array).

    Arguments are assumed checked (``svertka.ops.conv2d`` does it). Returns ``(y, cache)``:
    cache is ``(method, what its backward needs)``, method ``'winograd'`` or ``'im2col'``,
    or None with ``for_backward=False`` (inference keeps nothing; a model bounds its memory
    by running large batches in chunks, see ``Model.__call__``).
    """
    if winograd.applies(x, w, strides, dilation):
        y, cache = winograd.forward(x, w, b, pads, relu, for_backward)
        return y, None if cache is None else ("winograd", cache)
    y, cache = gemm_forward(x, w, b, strides, pads, dilation, relu, for_backward)
    return y, None if cache is None else ("im2col", cache)


def conv2d_backward(gy, cache, need_gx: bool = True, need_gw: bool = True):
    """Gradients of :func:`conv2d_forward`: gy (N, OH, OW, C_out) -> (gx, gw, gb), each None
    where not needed (``need_gx``/``need_gw`` False, gb without bias)."""
    method, data = cache
    backward = winograd.backward if method == "winograd" else gemm_backward
    return backward(gy, data, need_gx, need_gw)


def gemm_forward(x, w, b=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1),
                 relu: bool = False, for_backward: bool = True):
    """:func:`conv2d_forward` by im2col + GEMM, for any geometry. Its cache = (cols
    (N*OH*OW, KH*KW*C), w, x.shape, pads, strides, dilation, has_bias, y if relu else None).

    Samples are independent, so the batch is cut into one slice per core
    (:mod:`svertka.parallel`); each slice pads, copies its windows into its rows of ``cols``
    and multiplies them into its rows of ``y``.
    """
    xp = get_array_module(x)
    kh, kw, c, c_out = w.shape
    n, h, w_in, _ = x.shape
    (top, bottom), (left, right) = pads
    oh = conv_output_size(h + top + bottom, kh, strides[0], dilation[0])
    ow = conv_output_size(w_in + left + right, kw, strides[1], dilation[1])
    per_sample = oh * ow  # rows of cols and y per sample
    w2d = w.reshape(kh * kw * c, c_out)
    y = xp.empty((n * per_sample, c_out), dtype=xp.result_type(x, w))  # (N*OH*OW, C_out)
    cols = xp.empty((n * per_sample, kh * kw * c), dtype=x.dtype) if for_backward else None

    def run(s):
        rows = slice(s.start * per_sample, s.stop * per_sample)
        windows = im2col(pad_forward(x[s], pads, "zeros"), (kh, kw), strides, dilation)
        part = window_matrix(windows, None if cols is None else cols[rows])
        xp.matmul(part, w2d, out=y[rows])
        bias_relu(y[rows], b, relu)

    over_batch(run, n, min_samples(per_sample * w.size), xp=xp)
    y = y.reshape(n, oh, ow, c_out)
    if not for_backward:
        return y, None
    return y, (cols, w, x.shape, pads, strides, dilation, b is not None, y if relu else None)


def _input_gradient(g2d, w, gx, out_hw, strides, dilation, pads) -> None:
    """Fill ``gx`` (N, H, W, C) with the input gradient for ``g2d`` (N*OH*OW, C_out).

    Compiled (:mod:`svertka.kernels.conv_jit`): one GEMM for all taps' window gradients,
    scattered onto gx, a few images at a time so the product stays in cache (about 4 MB).
    NumPy: :func:`col2im` with one GEMM per tap, then the padding cropped.
    """
    kh, kw, c, c_out = w.shape
    n, h, w_in, _ = gx.shape
    (oh, ow), ((t, bottom), (l, r)) = out_hw, pads
    if usable(g2d, w, gx) and g2d.dtype == w.dtype == gx.dtype and g2d.flags.c_contiguous:
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


def gemm_backward(gy, cache, need_gx: bool = True, need_gw: bool = True):
    """Gradients of :func:`gemm_forward`: gy (N, OH, OW, C_out) -> (gx, gw, gb).

    gx (N, H, W, C): the window gradients ``gy @ w2d.T`` mapped back by col2im (see
    :func:`_input_gradient`); gw (KH, KW, C, C_out) =
    ``cols.T @ gy``; gb (C_out,) = gy summed over N, OH, OW (None without bias).
    ``need_gx``/``need_gw`` skip work nobody asked for (a first layer's input, a frozen
    filter) and give None.

    Pixels that no window reaches (the window does not tile the input) get zero gradient.
    After a fused ReLU, gy first passes its gate: zero where the output was not positive.
    As in forward, each core takes a slice of the batch: its rows of gx, and its share of
    the sums over samples that gw and gb are, added up at the end.
    """
    cols, w, x_shape, pads, strides, dilation, has_b, relu_y = cache
    xp = get_array_module(gy)
    n, oh, ow, c_out = gy.shape
    gx = xp.empty(x_shape, dtype=gy.dtype) if need_gx else None

    def run(s):
        g = gy[s] if relu_y is None else relu_gate(gy[s], relu_y[s])
        m = s.stop - s.start
        g2d = g.reshape(m * oh * ow, c_out)
        gb = channel_sum(g2d) if has_b else None
        gw = cols[s.start * oh * ow : s.stop * oh * ow].T @ g2d if need_gw else None
        if need_gx:
            _input_gradient(g2d, w, gx[s], (oh, ow), strides, dilation, pads)
        return gb, gw

    parts = over_batch(run, n, min_samples(oh * ow * w.size), xp=xp)
    gb = sum(p[0] for p in parts) if has_b else None
    gw = sum(p[1] for p in parts).reshape(w.shape) if need_gw else None
    return gx, gw, gb
