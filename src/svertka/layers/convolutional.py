"""``Conv2D``: the convolution layer (SPEC §2), a thin owner of weights around ``ops.conv2d``."""

from __future__ import annotations

from svertka import checks, ops
from svertka.autograd import Tensor, grad_enabled
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.ops import conv_pool
from svertka.ops.shapes import check_mode, check_pad_fits, pair, resolve_padding


class Conv2D(Layer):
    """2-D convolution of channels-last images: (N, H, W, C) -> (N, OH, OW, filters).

    Weights: kernel (KH, KW, C, filters) and bias (filters,), so ``(KH*KW*C + 1) * filters``
    parameters (the notes: 3x3 on 1 channel, 32 filters: 320; 3x3 on 32, 64 filters: 18,496).
    ``O = (I + P - D*(K-1) - 1) // S + 1`` per axis; 'same' gives ``ceil(I / S)`` with the odd
    padding pixel at the bottom/right (as Keras). ``padding`` is also an int, a pair or
    ``((top, bottom), (left, right))``; ``padding_mode`` fills it with 'zeros', 'replicate',
    'reflect', 'symmetric' or 'circular' (see ``svertka.ops.conv2d``). ``groups`` (dividing C
    and ``filters``) splits the channels into groups convolved apart, kernel (KH, KW, C //
    groups, filters), as Keras's ``groups``. ``call`` is one ``ops.conv2d`` with the bias and
    the activation.

    >>> import numpy as np
    >>> conv = Conv2D(32, (3, 3), padding="same", activation="relu")
    >>> conv(np.zeros((2, 28, 28, 1), np.float32)).shape, conv.count_params()
    ((2, 28, 28, 32), 320)
    >>> Conv2D(8, 3, strides=2).compute_output_shape((None, 7, 7, 3))
    (None, 3, 3, 8)
    >>> grouped = Conv2D(64, 3, groups=4)
    >>> grouped(np.zeros((1, 5, 5, 32), np.float32)).shape, grouped.count_params()
    ((1, 3, 3, 64), 4672)
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        padding_mode: str = "zeros",
        dilation_rate=(1, 1),
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        groups: int = 1,
        **kwargs,
    ):
        op = "Conv2D"
        self.filters = checks.positive_int(op, "filters", filters)
        self.groups = checks.positive_int(op, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(
                f"Conv2D: argument 'groups' must divide 'filters': received groups={groups}, "
                f"but filters={filters}"
            )
        self.kernel_size = pair(kernel_size, op, "kernel_size")
        self.strides = pair(strides, op, "strides")
        self.dilation_rate = pair(dilation_rate, op, "dilation_rate")
        self.padding = _args.padding_arg(
            op, padding, self.kernel_size, self.strides, self.dilation_rate
        )
        self.padding_mode = check_mode(padding_mode, op, "padding_mode")
        _args.set_kernel_args(self, activation, use_bias, kernel_initializer, bias_initializer,
                              kernel_regularizer, bias_regularizer)
        super().__init__(**kwargs)

    def _channels(self, input_shape) -> int:
        c = _args.image_channels("Conv2D", input_shape)
        if c % self.groups:
            raise ValueError(
                f"Conv2D: argument 'groups' must divide the input channels: received "
                f"groups={self.groups}, but the input has {c} channels (input shape "
                f"{tuple(input_shape)})"
            )
        return c

    def build(self, input_shape) -> None:
        c = self._channels(input_shape)
        self.compute_output_shape(input_shape)  # the kernel must fit the (padded) input
        _args.add_kernel_and_bias(self, (*self.kernel_size, c // self.groups, self.filters),
                                  self.filters)

    def check_input_shape(self, input_shape) -> None:
        c = self._channels(input_shape)
        if c != self.kernel.shape[2] * self.groups:
            raise ValueError(
                f"Conv2D: the layer was built for inputs with "
                f"{self.kernel.shape[2] * self.groups} channels "
                f"(kernel {self.kernel.shape}), received input shape {tuple(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        shape = _args.window_output_shape(
            "Conv2D",
            input_shape,
            self.kernel_size,
            self.strides,
            self.dilation_rate,
            self.padding,
            self.filters,
        )
        _, h, w, _ = input_shape
        if self.padding_mode != "zeros" and h is not None and w is not None:
            pads = resolve_padding(
                self.padding, (h, w), self.kernel_size, self.strides, self.dilation_rate, "Conv2D"
            )
            check_pad_fits((h, w), pads, self.padding_mode, "Conv2D")
        return shape

    def window(self, input_shape=None):
        """``(kernel, strides, dilation, ((top, bottom), (left, right)))`` for the input this
        layer was built for (or ``input_shape``)."""
        return _args.resolved_window(
            self, input_shape, self.kernel_size, self.strides, self.dilation_rate, self.padding
        )

    def call(self, inputs, training: bool = False):
        return ops.conv2d(inputs, self.kernel, self.bias, self.strides, self.padding,
                          self.padding_mode, self.dilation_rate, activation=self._activation,
                          groups=self.groups)

    def call_maxpooled(self, inputs: Tensor, pads) -> Tensor | None:
        """This layer's output for ``inputs``, max-pooled over 2x2 windows at stride 2, by
        one op (``svertka.ops.conv_pool.conv2d_maxpool``), for a model that fuses this
        layer with the pooling after it (``svertka.models.fusion``). ``pads``: this layer's
        padding for the input, resolved (zeros). None with gradients on, where no fused
        kernel can train it, or with ``groups > 1``: the model then runs the layers one by one.
        """
        if self.groups != 1:
            return None
        self._ensure_built((None, *inputs.shape[1:]))
        if grad_enabled() and not conv_pool.fuses(inputs, self.kernel, inputs.requires_grad):
            return None
        return conv_pool.conv2d_maxpool(inputs, self.kernel, self.bias, pads, self._activation)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": _args.as_list(self.padding),
            "padding_mode": self.padding_mode,
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            **_args.kernel_args_config(self),
        }
