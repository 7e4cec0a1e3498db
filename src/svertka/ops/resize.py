"""Resizing of images (N, H, W, C): upsampling and cropping, differentiable.

The maths lives in ``svertka.kernels.resize``; this module checks and normalises the
arguments once and wraps each kernel pair in a ``Function``. Zero padding, the inverse of
cropping, is ``svertka.ops.pad``.
"""

from __future__ import annotations

from collections.abc import Sequence

from svertka import checks
from svertka.autograd import Function, Tensor
from svertka.kernels.resize import (
    INTERPOLATIONS,
    crop_backward,
    crop_forward,
    upsample_backward,
    upsample_forward,
)
from svertka.kernels.shapes import pair
from svertka.ops._inputs import float_input
from svertka.ops.padding import image_shape


class Upsample(Function):
    """``y = upsample(x)`` by integer factors ``size = (SH, SW)``, 'nearest' or 'bilinear'."""

    def __init__(self, size, interpolation: str):
        self.size, self.interpolation = size, interpolation

    def forward(self, x):
        self.x_shape = x.shape
        return upsample_forward(x, self.size, self.interpolation)

    def backward(self, gy):
        return (upsample_backward(gy, self.x_shape, self.size, self.interpolation),)


class Crop(Function):
    """``y = x[:, top:H-bottom, left:W-right]`` for ``crops = ((top, bottom), (left, right))``."""

    def __init__(self, crops):
        self.crops = crops

    def forward(self, x):
        return crop_forward(x, self.crops)

    def backward(self, gy):
        return (crop_backward(gy, self.crops),)


def sides(op: str, arg: str, value) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((top, bottom), (left, right))``, each >= 0, from an int (every side), a pair
    ``(h, w)`` (both sides of each axis) or the explicit form, Keras's three forms of
    ``ZeroPadding2D(padding)`` and ``Cropping2D(cropping)``.

    >>> sides("crop2d", "cropping", (1, 2))
    ((1, 1), (2, 2))
    """
    expected = "an int, a pair (h, w) or ((top, bottom), (left, right)) of ints >= 0"
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2 and all(
        isinstance(v, Sequence) and not isinstance(v, str) for v in value
    ):
        items = [tuple(v) for v in value]
        if any(len(v) != 2 for v in items):
            raise TypeError(f"{op}: argument '{arg}' must be {expected}, received {value!r}")
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        items = [(value[0], value[0]), (value[1], value[1])]
    elif checks.is_int(value):
        items = [(value, value), (value, value)]
    else:
        raise TypeError(f"{op}: argument '{arg}' must be {expected}, received {value!r}")
    flat = [v for axis in items for v in axis]
    if not all(checks.is_int(v) for v in flat):
        raise TypeError(f"{op}: argument '{arg}' must be {expected}, received {value!r}")
    if min(flat) < 0:
        raise ValueError(f"{op}: argument '{arg}' must be {expected}, received {value!r}")
    return tuple(tuple(int(v) for v in axis) for axis in items)  # type: ignore[return-value]


def check_crop_fits(op: str, size_hw, crops, arg: str = "cropping") -> None:
    """Raise unless ``crops`` leaves at least one pixel along each axis of size ``size_hw``
    (an unknown size, None, is not checked)."""
    for a, axis in enumerate(("height", "width")):
        size, cut = size_hw[a], sum(crops[a])
        if size is not None and cut >= size:
            raise ValueError(
                f"{op}: argument '{arg}' {crops!r} removes {cut} of the {size} pixels along "
                f"the {axis}, leaving nothing; expected a total crop < {size} per axis"
            )


def crop2d(x, cropping) -> Tensor:
    """Cut ``((top, bottom), (left, right))`` pixels off the sides of x (N, H, W, C) ->
    (N, H - top - bottom, W - left - right, C); Keras's ``Cropping2D``.

    ``cropping``: an int (every side), a pair ``(h, w)`` (both sides of each axis) or
    ``((top, bottom), (left, right))``, each >= 0, leaving at least one pixel per axis. The
    gradient is gy zero-padded back: a cut pixel gets none.

    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> crop2d(x, ((1, 0), (0, 2))).numpy()[0, :, :, 0].tolist()
    [[4.0, 5.0], [8.0, 9.0], [12.0, 13.0]]
    """
    op = "crop2d"
    _, h, w, _ = image_shape(x, op)
    crops = sides(op, "cropping", cropping)
    check_crop_fits(op, (h, w), crops)
    return Crop(crops)(float_input(op, x))


def check_interpolation(op: str, interpolation) -> str:
    """``interpolation`` lower-cased, one of ``INTERPOLATIONS``."""
    name = interpolation.lower() if isinstance(interpolation, str) else interpolation
    if name not in INTERPOLATIONS:
        raise ValueError(
            f"{op}: argument 'interpolation' must be one of "
            f"{', '.join(repr(m) for m in INTERPOLATIONS)}, received {interpolation!r}"
        )
    return name


def upsample2d(x, size=(2, 2), interpolation: str = "nearest") -> Tensor:
    """Enlarge x (N, H, W, C) by integer factors ``size = (SH, SW)`` -> (N, H*SH, W*SW, C);
    Keras's ``UpSampling2D``.

    - ``'nearest'``: every pixel repeated into an ``SH x SW`` block; the gradient sums each
      block.
    - ``'bilinear'``: half-pixel centres, as Keras 3 / TensorFlow's ``resize`` and PyTorch's
      ``interpolate(mode='bilinear', align_corners=False)``: output pixel ``o`` mixes the two
      input pixels around ``(o + 0.5) / S - 0.5`` (clamped to the image), so the border
      pixels repeat. The gradient is the transposed mix (``svertka.kernels.resize``).

    >>> import numpy as np
    >>> x = np.array([[1.0, 3.0]]).reshape(1, 1, 2, 1)
    >>> upsample2d(x, (1, 2)).numpy().ravel().tolist()
    [1.0, 1.0, 3.0, 3.0]
    >>> upsample2d(x, (1, 2), "bilinear").numpy().ravel().tolist()
    [1.0, 1.5, 2.5, 3.0]
    """
    op = "upsample2d"
    image_shape(x, op)
    size = pair(size, op, "size")
    interpolation = check_interpolation(op, interpolation)
    return Upsample(size, interpolation)(float_input(op, x))


__all__ = ["Crop", "Upsample", "check_crop_fits", "check_interpolation", "crop2d", "sides",
           "upsample2d"]
