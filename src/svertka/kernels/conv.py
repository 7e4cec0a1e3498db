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
not x. Backward maps the window gradients back as "col2im" does: a loop over the KH*KW kernel
taps, each adding one strided slice into the padded-gradient buffer, which is then cropped
(``_input_grad`` fuses that loop with the GEMM, one small product per tap).

Padding here is zeros only, given per side; other fill modes are a separate pad op in front
(see ``svertka.ops.conv2d``), so their gradient is the pad op's.
"""

from __future__ import annotations

from svertka.backend import get_array_module
from svertka.kernels.pad import pad_backward, pad_forward
from svertka.kernels.shapes import conv_output_size


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


def col2im(gcols, padded_shape, strides=(1, 1), dilation=(1, 1)):
    """Adjoint of ``im2col``: gcols (N, OH, OW, KH, KW, C) -> gxpad ``padded_shape``.

    Overlapping windows share pixels, so contributions add. One loop step per kernel tap
    (KH*KW, typically 9); each step is a vectorised add of a strided slice.
    """
    xp = get_array_module(gcols)
    _, oh, ow, kh, kw, _ = gcols.shape
    (sh, sw), (dh, dw) = strides, dilation
    gxpad = xp.zeros(padded_shape, dtype=gcols.dtype)
    for i in range(kh):
        h0 = i * dh
        for j in range(kw):
            w0 = j * dw
            rows = slice(h0, h0 + sh * (oh - 1) + 1, sh)
            cols = slice(w0, w0 + sw * (ow - 1) + 1, sw)
            gxpad[:, rows, cols] += gcols[:, :, :, i, j]
    return gxpad


def conv2d_forward(x, w, b=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1)):
    """y = conv(x, w) + b with zero padding ``pads = ((top, bottom), (left, right))``.

    Arguments are assumed checked (``svertka.ops.conv2d`` does it). Returns ``(y, cache)``,
    cache = (cols (N*OH*OW, KH*KW*C), w, x.shape, pads, strides, dilation, has_bias).
    """
    kh, kw, c, c_out = w.shape
    xpad = pad_forward(x, pads, "zeros")
    windows = im2col(xpad, (kh, kw), strides, dilation)  # (N, OH, OW, KH, KW, C)
    n, oh, ow = windows.shape[:3]
    cols = windows.reshape(n * oh * ow, kh * kw * c)  # the copy (a view for 1x1, stride 1)
    y = cols @ w.reshape(kh * kw * c, c_out)  # (N*OH*OW, C_out)
    if b is not None:
        y += b
    cache = (cols, w, x.shape, pads, strides, dilation, b is not None)
    return y.reshape(n, oh, ow, c_out), cache


def conv2d_backward(gy, cache, need_gx: bool = True, need_gw: bool = True):
    """Gradients of ``conv2d_forward``: gy (N, OH, OW, C_out) -> (gx, gw, gb).

    gx (N, H, W, C) via ``gy @ w2d.T`` and col2im; gw (KH, KW, C, C_out) = ``cols.T @ gy``;
    gb (C_out,) = gy summed over N, OH, OW (None without bias). ``need_gx``/``need_gw``
    skip work nobody asked for (a first layer's input, a frozen filter) and give None.

    Pixels that no window reaches (the window does not tile the input) get zero gradient.
    """
    cols, w, x_shape, pads, strides, dilation, has_b = cache
    kh, kw, c, c_out = w.shape
    n, oh, ow, _ = gy.shape
    xp = get_array_module(gy)
    gy2d = gy.reshape(n * oh * ow, c_out)
    # a column sum as a matrix-vector product: BLAS beats NumPy's axis-0 reduction here
    gb = gy2d.T @ xp.ones(n * oh * ow, gy.dtype) if has_b else None
    gw = (cols.T @ gy2d).reshape(w.shape) if need_gw else None
    gx = None
    if need_gx:
        (t, bottom), (l, r) = pads
        padded = (n, x_shape[1] + t + bottom, x_shape[2] + l + r, c)
        gx = pad_backward(_input_grad(gy2d, w, (n, oh, ow), padded, strides, dilation),
                          pads, "zeros")
    return gx, gw, gb


def _input_grad(gy2d, w, out_nhw, padded_shape, strides, dilation):
    """col2im fused with its GEMM: one small GEMM per kernel tap, ``gy2d @ w[i, j].T``, added
    straight into its strided slice of the padded gradient. Same sums as
    ``col2im(gy2d @ w2d.T)``, but each addend is contiguous, which is faster than scattering
    the strided columns of one big product."""
    xp = get_array_module(gy2d)
    kh, kw, c, _ = w.shape
    n, oh, ow = out_nhw
    (sh, sw), (dh, dw) = strides, dilation
    gxpad = xp.zeros(padded_shape, dtype=gy2d.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            gxpad[:, rows, cols] += (gy2d @ w[i, j].T).reshape(n, oh, ow, c)
    return gxpad
