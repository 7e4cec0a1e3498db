"""1-D layers of sequences (N, L, C), channels-last as Keras: ``Conv1D``, ``MaxPooling1D``,
``AveragePooling1D``, ``GlobalAveragePooling1D`` and ``GlobalMaxPooling1D``.

Each runs the tested 2-D op on the sequence seen as an image one pixel high: (N, L, C) is
(N, 1, L, C), a kernel (K, C_in, C_out) is (1, K, C_in, C_out), and sizes, strides, dilation
and padding act on the width alone. Values and gradients are thus those of ``ops.conv2d`` and
``ops.max_pool2d``/``avg_pool2d``; the reshapes around them are free views.

Padding is Keras's: ``'valid'``, ``'same'`` (``ceil(L / S)`` outputs, the odd padded step at
the end) and, for ``Conv1D`` only, ``'causal'``: ``D*(K-1)`` zeros on the left, so
``output[t]`` sees only ``input[<= t]``. ``data_format`` may only be ``'channels_last'`` (or
None): svertka is channels-last throughout.

>>> import numpy as np
>>> from svertka import layers
>>> x = layers.Input((20, 8))
>>> y = Conv1D(16, 3, activation="relu")(x)
>>> y.shape, MaxPooling1D()(y).shape, GlobalMaxPooling1D()(y).shape
((None, 18, 16), (None, 9, 16), (None, 16))
"""

from __future__ import annotations

from svertka import checks, ops
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.ops.shapes import check_window_fits, conv_output_size, effective_kernel
from svertka.ops.shapes import resolve_padding as _resolve


def _one(layer: str, arg: str, value) -> int:
    """An int >= 1 given as an int or a 1-tuple/list (Keras's ``kernel_size=(3,)``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(
                f"{layer}: argument '{arg}' must be an int or a tuple of one int, received "
                f"{value!r}"
            )
        value = value[0]
    return checks.positive_int(layer, arg, value)


def _padding(layer: str, padding, causal: bool) -> str:
    allowed = ("valid", "same", "causal") if causal else ("valid", "same")
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(
            f"{layer}: argument 'padding' must be one of {', '.join(map(repr, allowed))}, "
            f"received {padding!r}"
        )
    return padding.lower()


def sequence_shape(layer: str, input_shape) -> tuple:
    """``(N, L, C)`` of a channels-last sequence input (N and L may be None)."""
    shape = _args.single_shape(layer, input_shape)
    if len(shape) != 3:
        raise ValueError(
            f"{layer}: expected 3-D inputs (batch, steps, channels), received input shape "
            f"{shape}"
        )
    return shape


def width_pads(layer: str, padding: str, length, kernel: int, stride: int, dilation: int):
    """``(left, right)`` padding of a sequence of ``length`` steps (None: any)."""
    span = effective_kernel(kernel, dilation)
    if padding == "causal":
        return (span - 1, 0)
    size = span if length is None else length
    return _resolve(padding, (1, size), (1, kernel), (1, stride), (1, dilation), layer)[1]


def _output_length(layer: str, length, kernel: int, stride: int, dilation: int, padding: str,
                   arg: str = "kernel"):
    """The output length, checking that the window fits (an unknown length stays unknown)."""
    left, right = width_pads(layer, padding, length, kernel, stride, dilation)
    if length is None:
        return None
    check_window_fits((1, length), ((0, 0), (left, right)), (1, kernel), (1, dilation), layer,
                      arg)
    return conv_output_size(length, kernel, stride, dilation, left + right)


def _as_image(x):
    """(N, L, C) -> (N, 1, L, C), a view."""
    return ops.reshape(x, (x.shape[0], 1, x.shape[1], x.shape[2]))


def _as_sequence(y):
    """(N, 1, L, C) -> (N, L, C), a view."""
    return ops.reshape(y, (y.shape[0], y.shape[2], y.shape[3]))


class Conv1D(Layer):
    """1-D convolution of channels-last sequences: (N, L, C) -> (N, OL, filters), as Keras.

    Weights: kernel (K, C // groups, filters) and bias (filters,). ``OL = (L + P - D*(K-1) -
    1) // S + 1`` with P the padding: none for 'valid', ``ceil(L / S)`` outputs for 'same',
    and ``D*(K-1)`` on the left for 'causal' (then ``OL = (L - 1) // S + 1``). ``groups``
    splits the channels as ``Conv2D``'s. ``call`` is one ``ops.conv2d`` on (N, 1, L, C).

    >>> import numpy as np
    >>> conv = Conv1D(16, 3, padding="causal", dilation_rate=2)
    >>> conv(np.zeros((2, 10, 8), np.float32)).shape, conv.count_params()
    ((2, 10, 16), 400)
    >>> Conv1D(4, 5, strides=2, padding="same").compute_output_shape((None, 9, 3))
    (None, 5, 4)
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups: int = 1,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        op = "Conv1D"
        self.filters = checks.positive_int(op, "filters", filters)
        self.groups = checks.positive_int(op, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(
                f"Conv1D: argument 'groups' must divide 'filters': received groups={groups}, "
                f"but filters={filters}"
            )
        self.kernel_size = _one(op, "kernel_size", kernel_size)
        self.strides = _one(op, "strides", strides)
        self.dilation_rate = _one(op, "dilation_rate", dilation_rate)
        self.padding = _padding(op, padding, causal=True)
        self.data_format = _args.channels_last(op, data_format)
        _args.set_kernel_args(self, activation, use_bias, kernel_initializer, bias_initializer,
                              kernel_regularizer, bias_regularizer)
        super().__init__(**kwargs)

    def _channels(self, input_shape) -> int:
        c = sequence_shape("Conv1D", input_shape)[2]
        if c is None:
            raise ValueError(f"Conv1D: the channel axis of the inputs must be known, received "
                             f"input shape {tuple(input_shape)}")
        if c % self.groups:
            raise ValueError(
                f"Conv1D: argument 'groups' must divide the input channels: received "
                f"groups={self.groups}, but the input has {c} channels (input shape "
                f"{tuple(input_shape)})"
            )
        return c

    def build(self, input_shape) -> None:
        c = self._channels(input_shape)
        self.compute_output_shape(input_shape)  # the kernel must fit the (padded) input
        _args.add_kernel_and_bias(self, (self.kernel_size, c // self.groups, self.filters),
                                  self.filters)

    def check_input_shape(self, input_shape) -> None:
        c = self._channels(input_shape)
        if c != self.kernel.shape[1] * self.groups:
            raise ValueError(
                f"Conv1D: the layer was built for inputs with "
                f"{self.kernel.shape[1] * self.groups} channels (kernel {self.kernel.shape}), "
                f"received input shape {tuple(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        n, length, _ = sequence_shape("Conv1D", input_shape)
        out = _output_length("Conv1D", length, self.kernel_size, self.strides,
                             self.dilation_rate, self.padding)
        return (n, out, self.filters)

    def call(self, inputs, training: bool = False):
        pads = width_pads("Conv1D", self.padding, inputs.shape[1], self.kernel_size,
                           self.strides, self.dilation_rate)
        w = ops.reshape(self.kernel, (1, *self.kernel.shape))
        y = ops.conv2d(_as_image(inputs), w, self.bias, (1, self.strides), ((0, 0), pads),
                       dilation_rate=(1, self.dilation_rate), activation=self._activation,
                       groups=self.groups)
        return _as_sequence(y)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": [self.kernel_size],
            "strides": [self.strides],
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": [self.dilation_rate],
            "groups": self.groups,
            **_args.kernel_args_config(self),
        }


class _Pooling1D(Layer):
    """Windowed pooling over (N, L, C) -> (N, OL, C); subclasses name their 2-D op."""

    _op = staticmethod(ops.max_pool2d)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        op = type(self).__name__
        self.pool_size = _one(op, "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _one(op, "strides", strides)
        self.padding = _padding(op, padding, causal=False)
        self.data_format = _args.channels_last(op, data_format)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        op = type(self).__name__
        n, length, c = sequence_shape(op, input_shape)
        out = _output_length(op, length, self.pool_size, self.strides, 1, self.padding,
                             arg="pool window")
        return (n, out, c)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def check_input_shape(self, input_shape) -> None:
        sequence_shape(type(self).__name__, input_shape)

    def call(self, inputs, training: bool = False):
        y = type(self)._op(_as_image(inputs), (1, self.pool_size), (1, self.strides),
                           self.padding)
        return _as_sequence(y)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_size": [self.pool_size],
            "strides": [self.strides],
            "padding": self.padding,
            "data_format": self.data_format,
        }


class MaxPooling1D(_Pooling1D):
    """Largest value of each window of ``pool_size`` steps (``strides`` default to it).

    >>> import numpy as np
    >>> MaxPooling1D(2)(np.array([[[1.0], [3.0], [2.0], [0.0], [5.0]]])).numpy().ravel().tolist()
    [3.0, 2.0]
    """

    _op = staticmethod(ops.max_pool2d)


class AveragePooling1D(_Pooling1D):
    """Mean of each window; with 'same' the padded steps are not counted (Keras/TF).

    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [2.0], [0.0], [5.0]]])
    >>> AveragePooling1D(2, padding="same")(x).numpy().ravel().tolist()
    [2.0, 1.0, 5.0]
    """

    _op = staticmethod(ops.avg_pool2d)


class _GlobalPooling1D(Layer):
    """Pooling over all steps: (N, L, C) -> (N, C), or (N, 1, C) with keepdims."""

    _op = staticmethod(ops.global_avg_pool2d)

    def __init__(self, data_format=None, keepdims: bool = False, **kwargs):
        op = type(self).__name__
        self.data_format = _args.channels_last(op, data_format)
        self.keepdims = checks.flag(op, "keepdims", keepdims)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        n, _, c = sequence_shape(type(self).__name__, input_shape)
        return (n, 1, c) if self.keepdims else (n, c)

    def check_input_shape(self, input_shape) -> None:
        sequence_shape(type(self).__name__, input_shape)

    def call(self, inputs, training: bool = False):
        y = type(self)._op(_as_image(inputs))  # the op refuses zero steps
        return ops.reshape(y, (y.shape[0], 1, y.shape[1])) if self.keepdims else y

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """Mean of each channel over all steps, (N, L, C) -> (N, C).

    >>> import numpy as np
    >>> GlobalAveragePooling1D()(np.arange(6.0).reshape(1, 3, 2)).numpy().tolist()
    [[2.0, 3.0]]
    """

    _op = staticmethod(ops.global_avg_pool2d)


class GlobalMaxPooling1D(_GlobalPooling1D):
    """Maximum of each channel over all steps, (N, L, C) -> (N, C).

    >>> import numpy as np
    >>> GlobalMaxPooling1D(keepdims=True)(np.arange(6.0).reshape(1, 3, 2)).numpy().tolist()
    [[[4.0, 5.0]]]
    """

    _op = staticmethod(ops.global_max_pool2d)


__all__ = ["AveragePooling1D", "Conv1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
           "MaxPooling1D", "sequence_shape", "width_pads"]
