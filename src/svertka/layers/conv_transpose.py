"""``Conv2DTranspose``: the transposed convolution layer (Keras's), a thin owner of weights
around ``ops.conv2d_transpose``."""

from __future__ import annotations

from svertka import checks, ops
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.ops.shapes import pair
from svertka.ops.transpose_conv import (
    check_output_padding,
    check_transpose_padding,
    conv_transpose_geometry,
)


class Conv2DTranspose(Layer):
    """2-D transposed convolution of channels-last images: (N, H, W, C) -> (N, OH, OW,
    filters), the adjoint of a ``Conv2D`` with the same geometry: a learned upsampling.

    Weights: kernel (KH, KW, filters, C), Keras's layout, and bias (filters,), so
    ``(KH*KW*C + 1) * filters`` parameters. Output size per axis (Keras's rules, ``L =
    (I-1)*S + D*(K-1) + 1``): 'valid' ``I*S + max(D*(K-1) + 1 - S, 0)`` (``L +
    output_padding`` when given), 'same' ``I*S`` (``L - 2*((D*(K-1) + 1) // 2) +
    output_padding`` when given). ``output_padding`` must be smaller than the stride.
    ``padding`` may also be an int, a pair or ``((top, bottom), (left, right))``: crops of
    ``L``, as PyTorch's ``padding``. See ``svertka.ops.conv2d_transpose``.

    >>> import numpy as np
    >>> up = Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")
    >>> up(np.zeros((2, 7, 7, 8), np.float32)).shape, up.count_params()
    ((2, 14, 14, 16), 1168)
    >>> Conv2DTranspose(4, 3, strides=2).compute_output_shape((None, 5, 5, 3))
    (None, 11, 11, 4)
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        output_padding=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        op = "Conv2DTranspose"
        self.filters = checks.positive_int(op, "filters", filters)
        self.kernel_size = pair(kernel_size, op, "kernel_size")
        self.strides = pair(strides, op, "strides")
        self.dilation_rate = pair(dilation_rate, op, "dilation_rate")
        self.padding = check_transpose_padding(op, padding)
        self.output_padding = check_output_padding(op, output_padding, self.strides)
        _args.set_kernel_args(self, activation, use_bias, kernel_initializer, bias_initializer,
                              kernel_regularizer, bias_regularizer)
        super().__init__(**kwargs)

    def _channels(self, input_shape) -> int:
        return _args.image_channels("Conv2DTranspose", input_shape)

    def build(self, input_shape) -> None:
        c = self._channels(input_shape)
        self.compute_output_shape(input_shape)  # something must be left after the crops
        _args.add_kernel_and_bias(self, (*self.kernel_size, self.filters, c), self.filters)

    def check_input_shape(self, input_shape) -> None:
        c = self._channels(input_shape)
        if c != self.kernel.shape[3]:
            raise ValueError(
                f"Conv2DTranspose: the layer was built for inputs with {self.kernel.shape[3]} "
                f"channels (kernel {self.kernel.shape}), received input shape "
                f"{tuple(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        n, h, w, _ = _args.image_shape("Conv2DTranspose", input_shape)
        (oh, ow), _ = conv_transpose_geometry(
            (h, w), self.kernel_size, self.strides, self.dilation_rate, self.padding,
            self.output_padding, op="Conv2DTranspose",
        )
        return n, oh, ow, self.filters

    def macs(self, input_shape, output_shape) -> int:
        """Multiply-accumulates per image: each input pixel spreads the whole kernel."""
        return input_shape[1] * input_shape[2] * int(self.kernel.size)

    def call(self, inputs, training: bool = False):
        y = ops.conv2d_transpose(inputs, self.kernel, self.bias, self.strides, self.padding,
                                 self.output_padding, self.dilation_rate)
        return y if self._activation is None else self._activation(y)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": _args.as_list(self.padding),
            "output_padding": _args.as_list(self.output_padding),
            "dilation_rate": list(self.dilation_rate),
            **_args.kernel_args_config(self),
        }


__all__ = ["Conv2DTranspose"]
