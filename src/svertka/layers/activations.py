"""One layer per activation that has parameters or options (SPEC §4); the parameter-free
ones are also ``Activation('sigmoid')`` etc. Each wraps the function of ``svertka.ops``.

>>> import numpy as np
>>> LeakyReLU(alpha=0.5)(np.array([[-2.0, 3.0]])).numpy().tolist()
[[-1.0, 3.0]]
"""

from __future__ import annotations

from svertka import checks, ops
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.layers.convolutional import Conv2D
from svertka.layers.core import Dense, dense_last_axis, features
from svertka.ops.activations import _levels


class ReLU(Layer):
    """``max(x, 0)``.

    >>> import numpy as np
    >>> ReLU()(np.array([[-1.0, 2.0]])).numpy().tolist()
    [[0.0, 2.0]]
    """

    def call(self, inputs, training: bool = False):
        return ops.relu(inputs)


class Step(Layer):
    """Step unit: ``high`` where x > threshold, ``low`` otherwise (the notes' step, 0/1 at 0 by
    default); x == threshold gives ``low``. Its gradient is zero everywhere (see ``ops.step``).

    >>> import numpy as np
    >>> Step()(np.array([[-1.0, 0.0, 2.0]])).numpy().tolist()
    [[0.0, 0.0, 1.0]]
    >>> Step(threshold=0.5, low=-1.0, high=1.0)(np.array([[0.5, 0.6]])).numpy().tolist()
    [[-1.0, 1.0]]
    """

    def __init__(self, threshold: float = 0.0, low: float = 0.0, high: float = 1.0, **kwargs):
        self.threshold = checks.finite_float("Step", "threshold", threshold)
        self.low, self.high = _levels("Step", low, high)
        super().__init__(**kwargs)

    def call(self, inputs, training: bool = False):
        return ops.step(inputs, self.threshold, self.low, self.high)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "threshold": self.threshold,
            "low": self.low,
            "high": self.high,
        }


class LeakyReLU(Layer):
    """``x`` for x > 0, ``alpha * x`` otherwise. Keras 3 calls ``alpha`` ``negative_slope``;
    both are accepted (not both with different values).

    >>> import numpy as np
    >>> LeakyReLU(negative_slope=0.1)(np.array([[-10.0, 3.0]])).numpy().tolist()
    [[-1.0, 3.0]]
    """

    def __init__(self, alpha: float = 0.3, negative_slope: float | None = None, **kwargs):
        alpha = checks.finite_float("LeakyReLU", "alpha", alpha)
        if negative_slope is not None:
            slope = checks.finite_float("LeakyReLU", "negative_slope", negative_slope)
            if alpha != 0.3 and alpha != slope:
                raise ValueError(
                    f"LeakyReLU: arguments 'alpha' and 'negative_slope' name the "
                    f"same slope; give one, received alpha={alpha}, "
                    f"negative_slope={slope}"
                )
            alpha = slope
        self.alpha = alpha
        super().__init__(**kwargs)

    def call(self, inputs, training: bool = False):
        return ops.leaky_relu(inputs, self.alpha)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """Parametric ReLU ``max(alpha * x, x)`` (for alpha < 1) with ``alpha`` learned.

    By default one slope per channel (last axis), as He et al. and PyTorch's
    ``PReLU(num_parameters=C)``: C parameters. ``shared_axes`` (Keras's argument: axes
    1..rank-1 of the input, batch axis 0) lists the axes that share one slope; the slope has
    the input's shape (without batch) with those axes set to 1, so ``shared_axes=[]`` gives
    Keras's default of one slope per element. ``alpha_initializer`` is 'zeros' as in Keras
    (the layer starts as a ReLU).

    >>> import numpy as np
    >>> layer = PReLU()
    >>> layer(np.ones((2, 4, 4, 3), np.float32)).shape, layer.count_params()
    ((2, 4, 4, 3), 3)
    """

    def __init__(
        self, alpha_initializer="zeros", alpha_regularizer=None, shared_axes=None, **kwargs
    ):
        op = "PReLU"
        self.alpha_initializer = _args.initializer(op, "alpha_initializer", alpha_initializer)
        self.alpha_regularizer = _args.regularizer(op, "alpha_regularizer", alpha_regularizer)
        if shared_axes is not None:
            axes = shared_axes if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            try:
                shared_axes = [checks.integer(op, "shared_axes", a, low=1) for a in axes]
            except (TypeError, ValueError):
                raise ValueError(
                    f"PReLU: argument 'shared_axes' must be None or a list of axes "
                    f">= 1 (0 is the batch axis), received {shared_axes!r}"
                ) from None
        self.shared_axes = shared_axes
        super().__init__(**kwargs)

    def _alpha_shape(self, input_shape) -> tuple:
        shape = _args.single_shape("PReLU", input_shape)
        if self.shared_axes is None:
            return (features("PReLU", shape),)
        if any(a >= len(shape) for a in self.shared_axes):
            raise ValueError(
                f"PReLU: argument 'shared_axes' must hold axes in [1, "
                f"{len(shape) - 1}] for inputs of shape {shape}, received "
                f"{self.shared_axes}"
            )
        alpha = tuple(1 if a in self.shared_axes else d for a, d in enumerate(shape) if a > 0)
        if None in alpha:
            raise ValueError(
                f"PReLU: every axis with its own slopes must have a known size; "
                f"share the unknown ones (shared_axes), received input shape "
                f"{shape} with shared_axes={self.shared_axes}"
            )
        return alpha

    def build(self, input_shape) -> None:
        self.alpha = self.add_weight(
            "alpha",
            self._alpha_shape(input_shape),
            self.alpha_initializer,
            regularizer=self.alpha_regularizer,
        )

    def check_input_shape(self, input_shape) -> None:
        shape = _args.single_shape("PReLU", input_shape)
        alpha = self.alpha.shape
        ok = len(shape) > len(alpha) and all(
            a == 1 or d is None or a == d for a, d in zip(alpha, shape[-len(alpha) :])
        )
        if not ok:
            raise ValueError(
                f"PReLU: the layer was built with slopes of shape {alpha}, which "
                f"do not fit inputs of shape {tuple(shape)}"
            )

    def call(self, inputs, training: bool = False):
        return ops.prelu(inputs, self.alpha)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha_initializer": _args.initializer_config(
                "PReLU", "alpha_initializer", self.alpha_initializer
            ),
            "alpha_regularizer": _args.regularizer_config(
                "PReLU", "alpha_regularizer", self.alpha_regularizer
            ),
            "shared_axes": self.shared_axes,
        }


class ELU(Layer):
    """``x`` for x > 0, ``alpha * (e^x - 1)`` otherwise; range [-alpha, inf).

    >>> import numpy as np
    >>> round(ELU(alpha=2.0)(np.array([[-100.0]])).item(), 4)
    -2.0
    """

    def __init__(self, alpha: float = 1.0, **kwargs):
        self.alpha = checks.finite_float("ELU", "alpha", alpha)
        super().__init__(**kwargs)

    def call(self, inputs, training: bool = False):
        return ops.elu(inputs, self.alpha)

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


class GELU(Layer):
    """``x * Phi(x)``; ``approximate=True`` uses the tanh formula (see ``ops.gelu``).

    >>> import numpy as np
    >>> round(GELU()(np.array([[1.0]])).item(), 4)
    0.8413
    """

    def __init__(self, approximate: bool = False, **kwargs):
        self.approximate = checks.flag("GELU", "approximate", approximate)
        super().__init__(**kwargs)

    def call(self, inputs, training: bool = False):
        return ops.gelu(inputs, self.approximate)

    def get_config(self) -> dict:
        return {**super().get_config(), "approximate": self.approximate}


class Softmax(Layer):
    """``e^x / sum(e^x)`` along ``axis`` (the last by default).

    >>> import numpy as np
    >>> Softmax()(np.zeros((1, 4))).numpy().tolist()
    [[0.25, 0.25, 0.25, 0.25]]
    """

    def __init__(self, axis: int = -1, **kwargs):
        self.axis = checks.integer("Softmax", "axis", axis)
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        self.check_input_shape(input_shape)

    def check_input_shape(self, input_shape) -> None:
        rank = len(_args.single_shape("Softmax", input_shape))
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(
                f"Softmax: argument 'axis' must name a non-batch axis of inputs "
                f"of shape {tuple(input_shape)}, received axis={self.axis}"
            )

    def call(self, inputs, training: bool = False):
        return ops.softmax(inputs, self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def _alias(layer: str, name: str, value, default: float, old: str, old_value):
    """``value`` or, given instead, ``old_value`` (the argument's earlier name ``old``); both
    given with different values is an error. Returns (the value, the name it came by)."""
    if old_value is None:
        return value, name
    if value != default and value != old_value:
        raise ValueError(
            f"{layer}: arguments '{name}' and '{old}' name the same limit; give one, "
            f"received {name}={value!r}, {old}={old_value!r}"
        )
    return old_value, old


class LinearThreshold(Layer):
    """The identity clipped to [low, high]: the notes' "linear threshold" (saturating
    piecewise-linear unit), its limits the user's; (-1, 1) by default, PyTorch's ``Hardtanh``.
    Gradient 1 strictly inside, 0 outside and at the two kinks (see ``ops.linear_threshold``).

    The earlier names of the limits, ``min_value`` and ``max_value``, are still accepted
    (keywords; not both names of one limit with different values), so configs saved with
    them load; ``get_config`` writes ``low`` and ``high``.

    >>> import numpy as np
    >>> LinearThreshold(0.0, 1.0)(np.array([[-3.0, 0.5, 3.0]])).numpy().tolist()
    [[0.0, 0.5, 1.0]]
    >>> LinearThreshold(low=-0.5, high=2.0)(np.array([[-3.0, 3.0]])).numpy().tolist()
    [[-0.5, 2.0]]
    """

    def __init__(
        self,
        low: float = -1.0,
        high: float = 1.0,
        *,
        min_value: float | None = None,
        max_value: float | None = None,
        **kwargs,
    ):
        op = "LinearThreshold"
        low, low_name = _alias(op, "low", low, -1.0, "min_value", min_value)
        high, high_name = _alias(op, "high", high, 1.0, "max_value", max_value)
        self.low, self.high = _levels(op, low, high, (low_name, high_name))
        super().__init__(**kwargs)

    @property
    def min_value(self) -> float:
        """``low``, by its earlier name."""
        return self.low

    @property
    def max_value(self) -> float:
        """``high``, by its earlier name."""
        return self.high

    def call(self, inputs, training: bool = False):
        return ops.linear_threshold(inputs, self.low, self.high)

    def get_config(self) -> dict:
        return {**super().get_config(), "low": self.low, "high": self.high}


class Maxout(Dense):
    """Maxout unit (Goodfellow et al., 2013): ``pieces`` linear pieces per unit, keep the max.

    A Dense layer to ``units * pieces`` outputs followed by ``ops.maxout``: kernel
    (K, units*pieces), bias (units*pieces,), so k pieces cost k times the parameters of
    ``Dense(units)`` ("k=2 doubles the parameters"). Output (..., units). Unit j is the
    maximum of the outputs j*pieces ... j*pieces + pieces - 1. On feature maps it acts on
    each pixel's channels, as a 1x1 convolution; ``MaxoutConv2D`` is the convolutional form.

    >>> import numpy as np
    >>> layer = Maxout(10, pieces=2)
    >>> layer(np.ones((4, 128), np.float32)).shape, layer.count_params()
    ((4, 10), 2580)
    """

    def __init__(
        self,
        units: int,
        pieces: int = 2,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        self.pieces = checks.positive_int("Maxout", "pieces", pieces)
        super().__init__(
            units,
            None,
            use_bias,
            kernel_initializer,
            bias_initializer,
            kernel_regularizer,
            bias_regularizer,
            **kwargs,
        )

    def build(self, input_shape) -> None:
        self._add_dense_weights(features("Maxout", input_shape), self.units * self.pieces)

    def call(self, inputs, training: bool = False):
        return ops.maxout(dense_last_axis(inputs, self.kernel, self.bias), self.pieces)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["activation"]
        return {**config, "pieces": self.pieces}


class MaxoutConv2D(Conv2D):
    """Convolutional maxout (Goodfellow et al., 2013, sec. 2: "a maxout feature map can be
    constructed by taking the maximum across k affine feature maps"): a ``Conv2D`` to
    ``filters * pieces`` maps, then at each pixel the maximum over each group of ``pieces``
    maps (``ops.maxout``). Input (N, H, W, C) -> output (N, OH, OW, filters).

    Output map j is the maximum of the convolution's maps j*pieces ... j*pieces + pieces - 1:
    consecutive maps, as ``Maxout`` groups its units and as PyTorch's
    ``y.unflatten(1, (filters, pieces)).max(2)`` on NCHW maps. Kernel (KH, KW, C // groups,
    filters * pieces) and bias (filters * pieces,): k pieces cost k times the parameters of
    ``Conv2D(filters, ...)``. The other arguments are ``Conv2D``'s, without ``activation``
    (the maximum is the activation); ``groups`` must divide ``filters``, so that no maxout
    group straddles two convolution groups. Among tied pieces the gradient goes to the first.

    >>> import numpy as np
    >>> layer = MaxoutConv2D(16, 3, pieces=2, padding="same")
    >>> layer(np.zeros((2, 8, 8, 3), np.float32)).shape, layer.count_params()
    ((2, 8, 8, 16), 896)
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        pieces: int = 2,
        strides=(1, 1),
        padding="valid",
        padding_mode: str = "zeros",
        dilation_rate=(1, 1),
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        groups: int = 1,
        **kwargs,
    ):
        op = "MaxoutConv2D"
        if "activation" in kwargs:
            raise TypeError(
                f"MaxoutConv2D: takes no argument 'activation' (the maximum over the pieces is "
                f"the activation), received activation={kwargs['activation']!r}"
            )
        self.pieces = checks.positive_int(op, "pieces", pieces)
        filters = checks.positive_int(op, "filters", filters)
        groups = checks.positive_int(op, "groups", groups)
        if filters % groups:
            raise ValueError(
                f"MaxoutConv2D: argument 'groups' must divide 'filters' (each convolution "
                f"group then holds whole maxout units), received groups={groups}, "
                f"filters={filters}"
            )
        super().__init__(
            filters,
            kernel_size,
            strides,
            padding,
            padding_mode,
            dilation_rate,
            None,
            use_bias,
            kernel_initializer,
            bias_initializer,
            kernel_regularizer,
            bias_regularizer,
            groups,
            **kwargs,
        )

    def build(self, input_shape) -> None:
        c = self._channels(input_shape)
        self.compute_output_shape(input_shape)  # the kernel must fit the (padded) input
        maps = self.filters * self.pieces
        _args.add_kernel_and_bias(self, (*self.kernel_size, c // self.groups, maps), maps)

    def call(self, inputs, training: bool = False):
        y = ops.conv2d(inputs, self.kernel, self.bias, self.strides, self.padding,
                       self.padding_mode, self.dilation_rate, groups=self.groups)
        return ops.maxout(y, self.pieces)  # (N, OH, OW, filters * pieces) -> (.., filters)

    def call_maxpooled(self, inputs, pads):
        return None  # the fused convolution-and-pooling kernel knows no maxout

    def get_config(self) -> dict:
        config = super().get_config()
        del config["activation"]
        return {**config, "pieces": self.pieces}
