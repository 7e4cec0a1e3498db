"""Pooling layers (SPEC §3): no parameters; each channel is cut into windows and each window
keeps one number (max, average, sum, min), or the whole map does (global pooling).

``strides`` default to ``pool_size`` (Keras), so the windows tile the map:
``MaxPooling2D((2, 2))`` halves 28x28 to 14x14. Padding, ties and padded cells follow
``svertka.ops.pool``: padded cells never win, and averages exclude them.
"""

from __future__ import annotations

from svertka import checks, ops
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.ops.pool import check_pool_padding
from svertka.ops.shapes import pair, resolve_padding


class _Pooling2D(Layer):
    """Windowed pooling over (N, H, W, C) -> (N, OH, OW, C); subclasses name their op."""

    _op = staticmethod(ops.max_pool2d)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", **kwargs):
        op = type(self).__name__
        self.pool_size = pair(pool_size, op, "pool_size")
        self.strides = self.pool_size if strides is None else pair(strides, op, "strides")
        self.padding = _args.padding_arg(op, padding, self.pool_size, self.strides, (1, 1))
        if not isinstance(self.padding, str):
            pads = resolve_padding(self.padding, (1, 1), self.pool_size, self.strides, op=op)
            check_pool_padding(op, pads, self.pool_size, received=padding)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        return _args.window_output_shape(
            type(self).__name__,
            input_shape,
            self.pool_size,
            self.strides,
            (1, 1),
            self.padding,
            arg="pool window",
        )

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def check_input_shape(self, input_shape) -> None:
        _args.image_shape(type(self).__name__, input_shape)

    def window(self, input_shape=None):
        """``(pool_size, strides, (1, 1), ((top, bottom), (left, right)))`` for the input this
        layer was built for (or ``input_shape``)."""
        return _args.resolved_window(
            self, input_shape, self.pool_size, self.strides, (1, 1), self.padding
        )

    def call(self, inputs, training: bool = False):
        return type(self)._op(inputs, self.pool_size, self.strides, self.padding)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": _args.as_list(self.padding),
        }


class MaxPooling2D(_Pooling2D):
    """Largest value of each window (SPEC example: 2x2 on [[6,6,6,6],[4,5,5,4],...] gives
    [[6,6],[4,4]]).

    >>> import numpy as np
    >>> MaxPooling2D((2, 2), strides=2)(np.ones((1, 28, 28, 32))).shape
    (1, 14, 14, 32)
    """

    _op = staticmethod(ops.max_pool2d)


class AveragePooling2D(_Pooling2D):
    """Mean of each window; padded cells are not counted (Keras/TF 'same').

    >>> import numpy as np
    >>> AveragePooling2D(3, strides=1, padding="same")(np.ones((1, 5, 5, 2))).shape
    (1, 5, 5, 2)
    """

    _op = staticmethod(ops.avg_pool2d)


class SumPooling2D(_Pooling2D):
    """Sum of each window (padded cells add 0).

    >>> import numpy as np
    >>> SumPooling2D(2)(np.ones((1, 4, 4, 1))).numpy()[0, :, :, 0].tolist()
    [[4.0, 4.0], [4.0, 4.0]]
    """

    _op = staticmethod(ops.sum_pool2d)


class MinPooling2D(_Pooling2D):
    """Smallest value of each window (padded cells never win).

    >>> import numpy as np
    >>> MinPooling2D(2)(np.arange(16.0).reshape(1, 4, 4, 1)).numpy()[0, :, :, 0].tolist()
    [[0.0, 2.0], [8.0, 10.0]]
    """

    _op = staticmethod(ops.min_pool2d)


class _GlobalPooling2D(Layer):
    """Pooling over the whole map: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with keepdims."""

    _op = staticmethod(ops.global_avg_pool2d)

    def __init__(self, keepdims: bool = False, **kwargs):
        self.keepdims = checks.flag(type(self).__name__, "keepdims", keepdims)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        n, _, _, c = _args.image_shape(type(self).__name__, input_shape)
        return (n, 1, 1, c) if self.keepdims else (n, c)

    def check_input_shape(self, input_shape) -> None:
        _args.image_shape(type(self).__name__, input_shape)

    def window(self, input_shape=None):
        """The whole map is one window: ``((H, W), (H, W), (1, 1), no padding)``."""
        shape = input_shape or self.input_shape
        if shape is None and self.declared_input_shape is not None:
            shape = (None, *self.declared_input_shape)
        height, width = (_args.image_shape(type(self).__name__, shape)[1:3] if shape
                         else (None, None))
        if height is None or width is None:
            raise ValueError(
                f"{type(self).__name__}.window: the window is the whole map, so "
                f"the input height and width must be known, received {shape}"
            )
        return (height, width), (height, width), (1, 1), ((0, 0), (0, 0))

    def call(self, inputs, training: bool = False):
        y = type(self)._op(inputs)
        return ops.reshape(y, (y.shape[0], 1, 1, y.shape[1])) if self.keepdims else y

    def get_config(self) -> dict:
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """Mean of each channel over the whole map, (N, H, W, C) -> (N, C).

    >>> import numpy as np
    >>> GlobalAveragePooling2D()(np.arange(8.0).reshape(1, 2, 2, 2)).numpy().tolist()
    [[3.0, 4.0]]
    """

    _op = staticmethod(ops.global_avg_pool2d)


class GlobalMaxPooling2D(_GlobalPooling2D):
    """Maximum of each channel over the whole map, (N, H, W, C) -> (N, C).

    >>> import numpy as np
    >>> GlobalMaxPooling2D()(np.arange(8.0).reshape(1, 2, 2, 2)).numpy().tolist()
    [[6.0, 7.0]]
    """

    _op = staticmethod(ops.global_max_pool2d)
