"""ResNet's parameter-free shortcut (He et al. 2015, option A): where a stage halves the image
and widens the channels, the identity is subsampled and the new channels are zeros.

>>> import numpy as np, svertka
>>> x = svertka.Tensor(np.ones((1, 4, 4, 2)))
>>> y = identity_shortcut(x, 2, 4)
>>> y.shape, y.numpy()[0, 0, 0].tolist()   # one zero channel on each side
((1, 2, 2, 4), [0.0, 1.0, 1.0, 0.0])
"""

from __future__ import annotations

from svertka import checks
from svertka.autograd import Function, Tensor
from svertka.backend import get_array_module
from svertka.ops._inputs import float_input


class IdentityShortcut(Function):
    """``y[..., lo:lo+C] = x[:, ::s, ::s, :]``, zeros elsewhere; the gradient is the slice back."""

    def __init__(self, strides: int, lo: int, channels: int):
        self.strides, self.lo, self.channels = strides, lo, channels

    def forward(self, x):
        xp = get_array_module(x)
        s = self.strides
        sub = x[:, ::s, ::s, :]
        self.in_shape = x.shape
        y = xp.zeros((*sub.shape[:3], self.channels), x.dtype)
        y[..., self.lo:self.lo + x.shape[3]] = sub
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        s, c = self.strides, self.in_shape[3]
        gx = xp.zeros(self.in_shape, gy.dtype)
        gx[:, ::s, ::s, :] = gy[..., self.lo:self.lo + c]
        return (gx,)


def identity_shortcut(x, strides: int, channels: int) -> Tensor:
    """x (N, H, W, C) -> (N, ceil(H/s), ceil(W/s), channels): every s-th pixel of x, with
    ``channels - C`` zero channels split evenly around it (the odd one after), as the CIFAR
    ResNets of He et al. 2015 (§4.2, option A). No parameters."""
    op = "identity_shortcut"
    x = float_input(op, x)
    if x.ndim != 4:
        raise ValueError(f"{op}: argument 'x' must be 4-D (N, H, W, C), received shape {x.shape}")
    strides = checks.positive_int(op, "strides", strides)
    channels = checks.positive_int(op, "channels", channels)
    if channels < x.shape[3]:
        raise ValueError(f"{op}: argument 'channels' must be >= the {x.shape[3]} channels of x, "
                         f"received {channels}")
    return IdentityShortcut(strides, (channels - x.shape[3]) // 2, channels)(x)


__all__ = ["IdentityShortcut", "identity_shortcut"]
