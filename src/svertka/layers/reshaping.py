"""Layers that resize images without weights: ``UpSampling2D``, ``ZeroPadding2D``,
``Cropping2D`` (Keras's names, arguments and configs; channels-last only).

Each checks its arguments in ``__init__`` with the op's own checks, naming the layer, and
computes its output shape from the input's, an unknown (None) height or width staying
unknown.
"""

from __future__ import annotations

from svertka import ops
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.ops.resize import check_crop_fits, check_interpolation, sides
from svertka.ops.shapes import pair


class UpSampling2D(Layer):
    """Repeat (``'nearest'``) or interpolate (``'bilinear'``, half-pixel centres as Keras 3
    and PyTorch's ``align_corners=False``) each image ``size = (SH, SW)`` times larger:
    (N, H, W, C) -> (N, H*SH, W*SW, C). See ``svertka.ops.upsample2d``.

    >>> import numpy as np
    >>> UpSampling2D((2, 3))(np.ones((1, 4, 5, 2))).shape
    (1, 8, 15, 2)
    >>> UpSampling2D(interpolation="bilinear").compute_output_shape((None, 7, None, 3))
    (None, 14, None, 3)
    """

    def __init__(self, size=(2, 2), interpolation: str = "nearest", **kwargs):
        op = "UpSampling2D"
        self.size = pair(size, op, "size")
        self.interpolation = check_interpolation(op, interpolation)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        n, h, w, c = _args.image_shape("UpSampling2D", input_shape)
        return (n, None if h is None else h * self.size[0],
                None if w is None else w * self.size[1], c)

    def check_input_shape(self, input_shape) -> None:
        _args.image_shape("UpSampling2D", input_shape)

    def build(self, input_shape) -> None:
        self.check_input_shape(input_shape)

    def call(self, inputs, training: bool = False):
        return ops.upsample2d(inputs, self.size, self.interpolation)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": list(self.size),
                "interpolation": self.interpolation}


class ZeroPadding2D(Layer):
    """Add rows and columns of zeros around each image: (N, H, W, C) -> (N, H + top + bottom,
    W + left + right, C). ``padding``: an int (every side), a pair ``(h, w)`` (both sides of
    each axis) or ``((top, bottom), (left, right))``. See ``svertka.ops.pad``.

    >>> import numpy as np
    >>> ZeroPadding2D(((1, 0), (2, 3)))(np.ones((1, 4, 4, 1))).shape
    (1, 5, 9, 1)
    """

    def __init__(self, padding=(1, 1), **kwargs):
        self.padding = sides("ZeroPadding2D", "padding", padding)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        n, h, w, c = _args.image_shape("ZeroPadding2D", input_shape)
        (top, bottom), (left, right) = self.padding
        return (n, None if h is None else h + top + bottom,
                None if w is None else w + left + right, c)

    def check_input_shape(self, input_shape) -> None:
        _args.image_shape("ZeroPadding2D", input_shape)

    def build(self, input_shape) -> None:
        self.check_input_shape(input_shape)

    def call(self, inputs, training: bool = False):
        return ops.pad(inputs, self.padding)

    def field_offset(self) -> tuple[int, int]:
        """Where output position (0, 0) lies in the input, in input positions (row, column):
        inside the padding, ``-top`` and ``-left`` (for receptive fields)."""
        (top, _), (left, _) = self.padding
        return -top, -left

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": _args.as_list(self.padding)}


class Cropping2D(Layer):
    """Cut rows and columns off the sides of each image: (N, H, W, C) -> (N, H - top - bottom,
    W - left - right, C). ``cropping``: an int (every side), a pair ``(h, w)`` (both sides of
    each axis) or ``((top, bottom), (left, right))``; at least one pixel must remain along
    each axis. See ``svertka.ops.crop2d``.

    >>> import numpy as np
    >>> Cropping2D(((2, 2), (4, 4)))(np.ones((1, 28, 28, 3))).shape
    (1, 24, 20, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), **kwargs):
        self.cropping = sides("Cropping2D", "cropping", cropping)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        n, h, w, c = _args.image_shape("Cropping2D", input_shape)
        check_crop_fits("Cropping2D", (h, w), self.cropping)
        (top, bottom), (left, right) = self.cropping
        return (n, None if h is None else h - top - bottom,
                None if w is None else w - left - right, c)

    def check_input_shape(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def call(self, inputs, training: bool = False):
        return ops.crop2d(inputs, self.cropping)

    def field_offset(self) -> tuple[int, int]:
        """Where output position (0, 0) lies in the input: ``top`` rows and ``left`` columns
        in (for receptive fields)."""
        (top, _), (left, _) = self.cropping
        return top, left

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": _args.as_list(self.cropping)}


__all__ = ["Cropping2D", "UpSampling2D", "ZeroPadding2D"]
