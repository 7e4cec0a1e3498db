"""A 3x3 convolution (+ bias, activation) and the 2x2, stride-2 max pooling after it, as one
differentiable op: the entry point through which models fuse a ``Conv2D -> MaxPooling2D``
pair (``svertka.models.fusion``).

:func:`svertka.kernels.conv.plan` decides how it runs: Winograd with its pooled output
transform (8 input channels or more: every gradient), the direct loop (fewer, a network's
first layer: the filter and bias gradients only), or, where neither can run, the two ops one
after the other. The shapes of x, w and b are checked on every call (a few tuple
comparisons: the compiled loops index w and b by x's channels, unchecked); ``pads`` is
taken as resolved, as ``Conv2D`` resolves its padding.
"""

from __future__ import annotations

from svertka.autograd import Function, Tensor
from svertka.kernels.conv import NO_PADS, conv2d_backward, conv2d_forward, plan
from svertka.ops.conv import check_filters, conv2d, split_activation
from svertka.ops.padding import image_shape
from svertka.ops.pool import max_pool2d


class Conv2dMaxPool(Function):
    """``max_pool(relu(conv(x, w) + b))`` by the fused kernel ``method`` of the plan; inputs
    (x, w) or (x, w, b)."""

    def __init__(self, pads, relu: bool, method: str):
        self.pads, self.relu, self.method = pads, relu, method

    def forward(self, x, w, b=None):
        y, self.cache = conv2d_forward(x, w, b, pads=self.pads, relu=self.relu,
                                       for_backward=self.recording, maxpool=True,
                                       method=self.method)
        return y

    def backward(self, gy):
        need_gx, need_gw = (t.requires_grad for t in self.inputs[:2])
        if need_gx and self.method == "direct-maxpool":
            raise RuntimeError("Conv2dMaxPool: the input needs a gradient, which the direct "
                               "loop (fewer than 8 input channels) does not compute; run the "
                               "convolution and pooling layers")
        gx, gw, gb = conv2d_backward(gy, self.cache, need_gx, need_gw)
        return (gx, gw) if len(self.inputs) == 2 else (gx, gw, gb)


def _array(t):
    return t.data if isinstance(t, Tensor) else t


def fuses(x: Tensor, w: Tensor, need_gx: bool = False) -> bool:
    """Whether :func:`conv2d_maxpool` runs one fused kernel for x (N, H, W, C) and w (3, 3,
    C, C_out), one whose backward gives x a gradient when ``need_gx``."""
    return plan(_array(x), _array(w), maxpool=True, need_gx=need_gx) != "unfused"


def conv2d_maxpool(x, w, b=None, pads=NO_PADS, activation=None) -> Tensor:
    """``max_pool2d(conv2d(x, w, b, padding=pads, activation=activation), 2, 2)`` for
    Tensors x (N, H, W, C), w (3, 3, C, C_out) and b (C_out,) or None, zero padding ``pads =
    ((top, bottom), (left, right))``: (N, OH // 2, OW // 2, C_out).

    One pass where :func:`fuses` holds and the activation is None or ReLU, and then x may
    need a gradient only with C >= 8 (backward raises otherwise); else the two ops.

    >>> import numpy as np, svertka
    >>> x = svertka.Tensor(np.ones((2, 8, 8, 1), np.float32))
    >>> w = svertka.Tensor(np.ones((3, 3, 1, 4), np.float32))
    >>> conv2d_maxpool(x, w, pads=((1, 1), (1, 1)), activation="relu").shape
    (2, 4, 4, 4)
    """
    check_filters("conv2d_maxpool", image_shape(x, "conv2d_maxpool"), w, b)
    relu, after = split_activation(activation)
    method = plan(_array(x), _array(w), maxpool=True)
    if method == "unfused" or after is not None:
        y = conv2d(x, w, b, padding=pads, activation=activation)
        return max_pool2d(y, 2, 2)
    op = Conv2dMaxPool(pads, relu, method)
    return op(x, w) if b is None else op(x, w, b)
