"""Padding of images (N, H, W, C) along H and W, differentiable in every fill mode.

The maths lives in ``svertka.kernels.pad``; this module checks and normalises the arguments
once and wraps the kernel pair in a ``Function``.
"""

from __future__ import annotations

from svertka.autograd import Function, Tensor
from svertka.kernels.pad import MODES, check_mode, check_pad_fits, pad_backward, pad_forward
from svertka.kernels.shapes import resolve_padding
from svertka.ops._inputs import float_input


class Pad(Function):
    """Pad by explicit ``((top, bottom), (left, right))`` in one of ``MODES``."""

    def __init__(self, pads, mode: str):
        self.pads, self.mode = pads, mode

    def forward(self, x):
        return pad_forward(x, self.pads, self.mode)

    def backward(self, gy):
        return (pad_backward(gy, self.pads, self.mode),)


def image_shape(x, op: str, arg: str = "x") -> tuple:
    """The shape of ``x``, checked to be 4-D channels-last (N, H, W, C)."""
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(
            f"{op}: argument '{arg}' must be a Tensor or an array, received {type(x).__name__}"
        )
    if len(shape) != 4:
        raise ValueError(
            f"{op}: argument '{arg}' must be 4-D (N, H, W, C), received shape {tuple(shape)}"
        )
    return tuple(shape)


def pad(x, padding, mode: str = "zeros") -> Tensor:
    """Pad the spatial axes of x (N, H, W, C) -> (N, H + top + bottom, W + left + right, C).

    ``padding``: an int (every side), a pair ``(ph, pw)`` (both sides of each axis), or
    ``((top, bottom), (left, right))``. ``'valid'``/``'same'`` depend on a kernel, so they
    belong to ``conv2d``, not here.

    ``mode``, shown on the row ``ABC`` padded by 2 on each side:
    ``'zeros'`` 00[ABC]00, ``'replicate'`` AA[ABC]CC, ``'symmetric'`` BA[ABC]CB (mirror,
    edge repeated), ``'reflect'`` CB[ABC]BA (mirror, edge not repeated, as PyTorch),
    ``'circular'`` BC[ABC]AB. A mirror or a wrap copies existing pixels, so ``reflect``
    needs padding <= size - 1 and ``symmetric``/``circular`` padding <= size.

    The gradient is exact in every mode: a padded pixel passes its gradient back to the
    pixel it was copied from, summed where several copies share one source.

    >>> import numpy as np, svertka
    >>> abc = svertka.Tensor(np.array([1.0, 2.0, 3.0]).reshape(1, 1, 3, 1))
    >>> pad(abc, ((0, 0), (2, 2)), "reflect").numpy().ravel().tolist()
    [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
    """
    _, height, width, _ = image_shape(x, "pad")
    x = float_input("pad", x)
    if isinstance(padding, str):
        raise ValueError(
            f"pad: argument 'padding' must be an int, a pair (ph, pw) or ((top, bottom), "
            f"(left, right)); 'valid'/'same' depend on a kernel and are accepted by conv2d, "
            f"received {padding!r}"
        )
    pads = resolve_padding(padding, (height, width), (1, 1), op="pad")
    mode = check_mode(mode, "pad")
    check_pad_fits((height, width), pads, mode, "pad")
    return Pad(pads, mode)(x)


__all__ = ["MODES", "Pad", "pad"]
