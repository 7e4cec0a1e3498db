"""A 3x3 convolution (+ bias, ReLU) and the 2x2, stride-2 max pooling after it, as one
differentiable op, for training a network's first layer (see :mod:`svertka.kernels.conv_pool`).

The op gives the filter and bias gradients; it has no input gradient, so a model uses it
only where the input needs none (``svertka.models.fusion``). Arguments are assumed checked:
the two layers it replaces did that when they were built.
"""

from __future__ import annotations

from svertka.autograd import Function
from svertka.kernels import conv_pool


class Conv2dMaxPool(Function):
    """``max_pool(relu(conv(x, w) + b))``; inputs (x, w) or (x, w, b), x needing no gradient."""

    def __init__(self, pads, relu: bool):
        self.pads, self.relu = pads, relu

    def forward(self, x, w, b=None):
        if not self.recording:  # nothing will call backward: nothing to keep
            return conv_pool.conv2d_maxpool(x, w, b, self.pads, self.relu)
        y, self.cache = conv_pool.train_forward(x, w, b, self.pads, self.relu)
        return y

    def backward(self, gy):
        if self.inputs[0].requires_grad:
            raise RuntimeError("Conv2dMaxPool: the input needs a gradient, which this fused op "
                               "does not compute; run the convolution and pooling layers")
        gw, gb = conv_pool.train_backward(gy, self.cache)
        return (None, gw) if len(self.inputs) == 2 else (None, gw, gb)


def conv2d_maxpool(x, w, b=None, pads=conv_pool.NO_PADS, relu: bool = False):
    """The pooled output Tensor of ``max_pool(relu(conv(x, w) + b))`` for Tensors x (N, H, W,
    C) that needs no gradient, w (3, 3, C, C_out) and b (C_out,) or None, where
    :func:`svertka.kernels.conv_pool.trains_fused` holds."""
    op = Conv2dMaxPool(pads, relu)
    return op(x, w) if b is None else op(x, w, b)
