"""A 3x3 convolution (+ bias, ReLU) and the 2x2, stride-2 max pooling after it, as one
differentiable op, for training (see :mod:`svertka.kernels.conv_pool`).

With 8 input channels or more (Winograd) the op gives every gradient. With fewer (the
direct loop of a network's first layer) it gives the filter and bias gradients only, so a
model uses it there only where the input needs none (``svertka.models.fusion``). Arguments
are assumed checked: the two layers it replaces did that when they were built.
"""

from __future__ import annotations

from svertka.autograd import Function
from svertka.kernels import conv_pool


class Conv2dMaxPool(Function):
    """``max_pool(relu(conv(x, w) + b))``; inputs (x, w) or (x, w, b)."""

    def __init__(self, pads, relu: bool):
        self.pads, self.relu = pads, relu

    def forward(self, x, w, b=None):
        if not self.recording:  # nothing will call backward: nothing to keep
            return conv_pool.conv2d_maxpool(x, w, b, self.pads, self.relu)
        y, self.cache = conv_pool.train_forward(x, w, b, self.pads, self.relu)
        return y

    def backward(self, gy):
        need_gx, need_gw = (t.requires_grad for t in self.inputs[:2])
        if need_gx and not conv_pool.input_gradient(self.cache):
            raise RuntimeError("Conv2dMaxPool: the input needs a gradient, which the direct "
                               "loop (fewer than 8 input channels) does not compute; run the "
                               "convolution and pooling layers")
        gx, gw, gb = conv_pool.train_backward(gy, self.cache, need_gx, need_gw)
        return (gx, gw) if len(self.inputs) == 2 else (gx, gw, gb)


def conv2d_maxpool(x, w, b=None, pads=conv_pool.NO_PADS, relu: bool = False):
    """The pooled output Tensor of ``max_pool(relu(conv(x, w) + b))`` for Tensors x (N, H, W,
    C), w (3, 3, C, C_out) and b (C_out,) or None, where
    :func:`svertka.kernels.conv_pool.trains_fused` holds; x may need a gradient only with
    C >= 8."""
    op = Conv2dMaxPool(pads, relu)
    return op(x, w) if b is None else op(x, w, b)
