"""``DepthwiseConv2D`` and ``SeparableConv2D`` (Keras's, as in MobileNet and Xception): thin
owners of weights around ``ops.depthwise_conv2d`` and ``ops.conv2d``."""

from __future__ import annotations

from svertka import checks, ops
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.ops.shapes import pair


class _Depthwise(Layer):
    """What the two layers share: the window (kernel_size, strides, padding, dilation_rate),
    the depth multiplier, the activation and the bias, with their checks and config."""

    def __init__(self, kernel_size, strides, padding, depth_multiplier, dilation_rate,
                 activation, use_bias, depthwise_initializer, bias_initializer,
                 depthwise_regularizer, bias_regularizer, **kwargs):
        op = type(self).__name__
        self.kernel_size = pair(kernel_size, op, "kernel_size")
        self.strides = pair(strides, op, "strides")
        self.dilation_rate = pair(dilation_rate, op, "dilation_rate")
        self.padding = _args.padding_arg(
            op, padding, self.kernel_size, self.strides, self.dilation_rate
        )
        self.depth_multiplier = checks.positive_int(op, "depth_multiplier", depth_multiplier)
        self._activation = _args.activation_fn(op, activation)
        self.activation = activation
        self.use_bias = checks.flag(op, "use_bias", use_bias)
        self.depthwise_initializer = _args.initializer(op, "depthwise_initializer",
                                                       depthwise_initializer)
        self.bias_initializer = _args.initializer(op, "bias_initializer", bias_initializer)
        self.depthwise_regularizer = _args.regularizer(op, "depthwise_regularizer",
                                                       depthwise_regularizer)
        self.bias_regularizer = _args.regularizer(op, "bias_regularizer", bias_regularizer)
        super().__init__(**kwargs)

    def _channels(self, input_shape) -> int:
        return _args.image_channels(type(self).__name__, input_shape)

    def _depthwise_weight(self, name: str, c: int):
        return self.add_weight(name, (*self.kernel_size, c, self.depth_multiplier),
                               self.depthwise_initializer, regularizer=self.depthwise_regularizer)

    def _window_shape(self, input_shape, channels) -> tuple:
        return _args.window_output_shape(type(self).__name__, input_shape, self.kernel_size,
                                         self.strides, self.dilation_rate, self.padding, channels)

    def _check_channels(self, input_shape, built_for: int) -> None:
        c = self._channels(input_shape)
        if c != built_for:
            raise ValueError(
                f"{type(self).__name__}: the layer was built for inputs with {built_for} "
                f"channels, received input shape {tuple(input_shape)}"
            )

    def window(self, input_shape=None):
        """``(kernel, strides, dilation, ((top, bottom), (left, right)))`` for the input this
        layer was built for (or ``input_shape``)."""
        return _args.resolved_window(
            self, input_shape, self.kernel_size, self.strides, self.dilation_rate, self.padding
        )

    def get_config(self) -> dict:
        op = type(self).__name__
        return {
            **super().get_config(),
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": _args.as_list(self.padding),
            "depth_multiplier": self.depth_multiplier,
            "dilation_rate": list(self.dilation_rate),
            "activation": _args.activation_config(op, self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": _args.initializer_config(op, "depthwise_initializer",
                                                              self.depthwise_initializer),
            "bias_initializer": _args.initializer_config(op, "bias_initializer",
                                                         self.bias_initializer),
            "depthwise_regularizer": _args.regularizer_config(op, "depthwise_regularizer",
                                                              self.depthwise_regularizer),
            "bias_regularizer": _args.regularizer_config(op, "bias_regularizer",
                                                         self.bias_regularizer),
        }


class DepthwiseConv2D(_Depthwise):
    """Depthwise 2-D convolution: each input channel convolved with its own
    ``depth_multiplier`` filters, (N, H, W, C) -> (N, OH, OW, C * depth_multiplier), output
    channel ``c*M + m`` from input channel c (Keras's ``DepthwiseConv2D``).

    Weights: kernel (KH, KW, C, depth_multiplier) and bias (C * depth_multiplier,), so
    ``(KH*KW + 1) * C * M`` parameters (3x3 on 32 channels: 320). Sizes, ``strides``,
    ``padding`` and ``dilation_rate`` as ``Conv2D``; ``call`` is one ``ops.depthwise_conv2d``.

    >>> import numpy as np
    >>> layer = DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    >>> layer(np.zeros((2, 8, 8, 32), np.float32)).shape, layer.count_params()
    ((2, 8, 8, 64), 640)
    """

    def __init__(
        self,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier: int = 1,
        dilation_rate=(1, 1),
        activation=None,
        use_bias: bool = True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(kernel_size, strides, padding, depth_multiplier, dilation_rate,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, **kwargs)

    def build(self, input_shape) -> None:
        c = self._channels(input_shape)
        self.compute_output_shape(input_shape)  # the kernel must fit the (padded) input
        self.kernel = self._depthwise_weight("kernel", c)
        self.bias = _args.add_bias(self, c * self.depth_multiplier)

    def check_input_shape(self, input_shape) -> None:
        self._check_channels(input_shape, self.kernel.shape[2])

    def compute_output_shape(self, input_shape):
        c = _args.image_shape("DepthwiseConv2D", input_shape)[3]
        return self._window_shape(input_shape, None if c is None else c * self.depth_multiplier)

    def call(self, inputs, training: bool = False):
        return ops.depthwise_conv2d(inputs, self.kernel, self.bias, self.strides, self.padding,
                                    self.dilation_rate, activation=self._activation)


class SeparableConv2D(_Depthwise):
    """Depthwise separable 2-D convolution: a depthwise convolution (``depth_multiplier``
    filters per channel), then a 1x1 convolution mixing the C*M channels into ``filters``
    (Keras's ``SeparableConv2D``): (N, H, W, C) -> (N, OH, OW, filters).

    Weights: depthwise_kernel (KH, KW, C, M), pointwise_kernel (1, 1, C*M, filters), bias
    (filters,): 3x3 on 32 channels, 64 filters: 288 + 2,048 + 64 = 2,400 parameters, against
    18,496 for a ``Conv2D``. The window arguments apply to the depthwise step; the bias and
    the activation come after the pointwise one.

    >>> import numpy as np
    >>> layer = SeparableConv2D(64, 3)
    >>> layer(np.zeros((2, 8, 8, 32), np.float32)).shape, layer.count_params()
    ((2, 6, 6, 64), 2400)
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier: int = 1,
        dilation_rate=(1, 1),
        activation=None,
        use_bias: bool = True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        op = "SeparableConv2D"
        self.filters = checks.positive_int(op, "filters", filters)
        self.pointwise_initializer = _args.initializer(op, "pointwise_initializer",
                                                       pointwise_initializer)
        self.pointwise_regularizer = _args.regularizer(op, "pointwise_regularizer",
                                                       pointwise_regularizer)
        super().__init__(kernel_size, strides, padding, depth_multiplier, dilation_rate,
                         activation, use_bias, depthwise_initializer, bias_initializer,
                         depthwise_regularizer, bias_regularizer, **kwargs)

    def build(self, input_shape) -> None:
        c = self._channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self._depthwise_weight("depthwise_kernel", c)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1, 1, c * self.depth_multiplier, self.filters),
            self.pointwise_initializer, regularizer=self.pointwise_regularizer)
        self.bias = _args.add_bias(self, self.filters)

    def check_input_shape(self, input_shape) -> None:
        self._check_channels(input_shape, self.depthwise_kernel.shape[2])

    def compute_output_shape(self, input_shape):
        return self._window_shape(input_shape, self.filters)

    def call(self, inputs, training: bool = False):
        y = ops.depthwise_conv2d(inputs, self.depthwise_kernel, None, self.strides,
                                 self.padding, self.dilation_rate)
        return ops.conv2d(y, self.pointwise_kernel, self.bias, activation=self._activation)

    def get_config(self) -> dict:
        op = "SeparableConv2D"
        return {
            **super().get_config(),
            "filters": self.filters,
            "pointwise_initializer": _args.initializer_config(op, "pointwise_initializer",
                                                              self.pointwise_initializer),
            "pointwise_regularizer": _args.regularizer_config(op, "pointwise_regularizer",
                                                              self.pointwise_regularizer),
        }
