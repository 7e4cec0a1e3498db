"""Depthwise 2-D convolution of channels-last images, differentiable in x, w and b.

The maths, and the plan that picks how to run it, live in ``svertka.kernels.depthwise``;
this module checks and normalises every argument once, so the kernels see explicit per-side
padding. A grouped convolution (``conv2d(..., groups=G)``) is in ``svertka.ops.conv``.
"""

from __future__ import annotations

from svertka.autograd import Function, Tensor
from svertka.kernels.depthwise import depthwise_backward, depthwise_forward
from svertka.kernels.shapes import check_window_fits, pair, resolve_padding
from svertka.ops._inputs import float_inputs
from svertka.ops.activations import get_activation, linear
from svertka.ops.padding import image_shape


def check_depthwise_filters(op: str, x_shape, w, b) -> tuple[int, int]:
    """Raise unless w is (KH, KW, C, M) for x of shape (N, H, W, C) and b is None or
    (C*M,); returns (KH, KW)."""
    w_shape = tuple(getattr(w, "shape", ()))
    if len(w_shape) != 4:
        raise ValueError(
            f"{op}: argument 'w' must be 4-D (KH, KW, C, depth_multiplier), received shape "
            f"{w_shape}"
        )
    c = x_shape[3]
    if w_shape[2] != c:
        raise ValueError(
            f"{op}: argument 'w' must have w.shape[2] == {c} input channels to match "
            f"x of shape {tuple(x_shape)}, received w of shape {w_shape}"
        )
    c_out = c * w_shape[3]
    if b is not None and tuple(getattr(b, "shape", ())) != (c_out,):
        raise ValueError(
            f"{op}: argument 'b' must have shape ({c_out},), one bias per output channel "
            f"(C * depth_multiplier), received {tuple(getattr(b, 'shape', ()))}"
        )
    return w_shape[:2]


class DepthwiseConv2d(Function):
    """``y = depthwise_conv(x, w) + b`` with zero padding ``pads``; inputs (x, w) or (x, w, b)."""

    def __init__(self, strides, pads, dilation):
        self.strides, self.pads, self.dilation = strides, pads, dilation

    def forward(self, x, w, b=None):
        y, self.cache = depthwise_forward(x, w, b, self.strides, self.pads, self.dilation,
                                          for_backward=self.recording)
        return y

    def backward(self, gy):
        need_gx, need_gw = (t.requires_grad for t in self.inputs[:2])
        gx, gw, gb = depthwise_backward(gy, self.cache, need_gx, need_gw)
        return (gx, gw) if len(self.inputs) == 2 else (gx, gw, gb)


def depthwise_conv2d(x, w, b=None, strides=1, padding="valid", dilation_rate=1,
                     activation=None) -> Tensor:
    """Convolve each channel of x (N, H, W, C) with its own M filters w (KH, KW, C, M), add b
    (C*M,): (N, OH, OW, C*M), output channel ``c*M + m`` from input channel c and filter m (as
    Keras's ``DepthwiseConv2D`` and PyTorch's ``conv2d(groups=C)``).

    ``y[n, i, j, c*M + m] = b[c*M + m] + sum_{kh, kw} xpad[n, i*SH + kh*DH, j*SW + kw*DW, c]
    * w[kh, kw, c, m]``; the output size, ``strides``, ``padding`` ('valid', 'same', an int,
    a pair or ``((top, bottom), (left, right))``, zeros) and ``dilation_rate`` are those of
    ``svertka.ops.conv2d``. ``activation``: None, a name of ``svertka.ops.ACTIVATIONS`` or a
    callable, applied to the output.

    >>> import numpy as np, svertka
    >>> x = svertka.Tensor(np.ones((2, 7, 7, 3), np.float32))
    >>> w = svertka.Tensor(np.ones((3, 3, 3, 2), np.float32))
    >>> depthwise_conv2d(x, w, padding="same").shape
    (2, 7, 7, 6)
    >>> float(depthwise_conv2d(x, w, strides=2).numpy()[0, 0, 0, 0])
    9.0
    """
    op = "depthwise_conv2d"
    _, h, w_in, _ = image_shape(x, op)
    x, w, b = float_inputs(op, x=x, w=w, b=b)
    kh, kw = check_depthwise_filters(op, x.shape, w, b)
    strides = pair(strides, op, "strides")
    dilation = pair(dilation_rate, op, "dilation_rate")
    pads = resolve_padding(padding, (h, w_in), (kh, kw), strides, dilation, op=op)
    check_window_fits((h, w_in), pads, (kh, kw), dilation, op)
    fn = get_activation(activation)
    args = (x, w) if b is None else (x, w, b)
    y = DepthwiseConv2d(strides, pads, dilation)(*args)
    return y if fn is linear else fn(y)


__all__ = ["DepthwiseConv2d", "check_depthwise_filters", "depthwise_conv2d"]
