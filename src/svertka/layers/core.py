"""The core layers: Input, Dense, Flatten, Activation, Dropout, Reshape.

Shapes carry the batch axis first, as ``None`` (any batch size), as Keras prints them:
``Flatten`` turns (None, 7, 7, 64) into (None, 3136), ``Dense(128)`` that into (None, 128).

>>> import numpy as np
>>> x = Input((784,))
>>> Dense(10, activation="softmax")(Dense(128, activation="relu")(x)).shape
(None, 10)
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from svertka import checks, ops
from svertka import random as srandom
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.layers.symbolic import SymbolicTensor


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None,  # noqa: N802
          batch_shape=None, name: str | None = None, tensor=None,
          optional: bool = False) -> SymbolicTensor:
    """The start of a functional model: a placeholder of ``shape`` (without the batch axis),
    or of ``batch_shape`` (with it), as Keras 3's ``keras.Input``.

    Returns ``SymbolicTensor((None, *shape))``; calling layers on it records the graph that
    ``svertka.Model(inputs, outputs)`` runs. Height and width may be None (any size). The
    batch axis stays None even when ``batch_size`` or ``batch_shape`` fix it: svertka's
    graphs take any batch size. Sparse and ragged inputs, wrapping an existing tensor and
    optional inputs are Keras features svertka does not have; asking for them raises.

    >>> Input((28, 28, 1)).shape, Input(batch_shape=(8, 4), name="x").name
    ((None, 28, 28, 1), 'x')
    """
    for argument, value in (("sparse", sparse), ("ragged", ragged), ("tensor", tensor),
                            ("optional", optional)):
        if value is not None and value is not False:
            raise ValueError(f"Input: argument '{argument}' is not supported (svertka's inputs "
                             f"are dense NumPy arrays), received {argument}={value!r}")
    if batch_shape is not None:
        if shape is not None:
            raise ValueError(f"Input: give 'shape' or 'batch_shape', not both; received "
                             f"shape={shape!r}, batch_shape={batch_shape!r}")
        if isinstance(batch_shape, (str, numbers.Integral)) or not hasattr(batch_shape,
                                                                           "__len__") \
                or len(batch_shape) < 1:
            raise ValueError(f"Input: argument 'batch_shape' must be a tuple with the batch "
                             f"axis first, received {batch_shape!r}")
        batch_size, shape = batch_shape[0], tuple(batch_shape)[1:]
    if shape is None:
        raise ValueError("Input: give argument 'shape' (without the batch axis) or "
                         "'batch_shape' (with it); received neither")
    if batch_size is not None and not (checks.is_int(batch_size) and batch_size >= 1):
        raise ValueError(f"Input: the batch size must be a positive int or None, received "
                         f"{batch_size!r}")
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    if (
        isinstance(dims, str)
        or not hasattr(dims, "__iter__")
        or not all(
            d is None or (checks.is_int(d) and d >= 1)
            for d in dims
        )
    ):
        raise ValueError(
            f"Input: argument 'shape' must be a tuple of positive ints (or None "
            f"for any size), without the batch axis, received {shape!r}"
        )
    t = SymbolicTensor((None, *(None if d is None else int(d) for d in dims)))
    t.name = name
    if dtype is not None:
        t.dtype = np.dtype(dtype).name
    return t


def dense_last_axis(x, w, b):
    """``x @ w + b`` over the last axis of x (..., K) -> (..., M); a 2-D x is one fused GEMM."""
    if x.ndim == 2:
        return ops.dense(x, w, b)
    lead = x.shape[:-1]
    y = ops.dense(ops.reshape(x, (-1, x.shape[-1])), w, b)  # (N*..., K) -> (N*..., M), a view
    return ops.reshape(y, (*lead, w.shape[1]))


def features(layer: str, input_shape) -> int:
    """The size of the last axis of an input of rank >= 2 (what a Dense layer multiplies)."""
    shape = _args.single_shape(layer, input_shape)
    if len(shape) < 2 or shape[-1] is None:
        raise ValueError(
            f"{layer}: expected inputs of rank >= 2 (batch, ..., features) with a "
            f"known last axis, received input shape {shape}"
        )
    return shape[-1]


class Dense(Layer):
    """Fully connected layer ``activation(x @ kernel + bias)``: kernel (K, units), bias (units,).

    On inputs of rank > 2 it applies to the last axis (Keras semantics): (N, ..., K) ->
    (N, ..., units). The usual 2-D input is one GEMM with the bias fused. Parameters:
    ``(K + 1) * units`` (the notes' Dense(128) on 3136 features: 401,536).

    >>> import numpy as np
    >>> layer = Dense(128, activation="relu")
    >>> layer(np.ones((2, 3136), np.float32)).shape, layer.count_params()
    ((2, 128), 401536)
    """

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        op = type(self).__name__
        self.units = checks.positive_int(op, "units", units)
        _args.set_kernel_args(self, activation, use_bias, kernel_initializer, bias_initializer,
                              kernel_regularizer, bias_regularizer)
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        self._add_dense_weights(features(type(self).__name__, input_shape), self.units)

    def _add_dense_weights(self, k: int, m: int) -> None:
        _args.add_kernel_and_bias(self, (k, m), m)

    def check_input_shape(self, input_shape) -> None:
        k = features(type(self).__name__, input_shape)
        if k != self.kernel.shape[0]:
            raise ValueError(
                f"{type(self).__name__}: the layer was built for {self.kernel.shape[0]} input "
                f"features (kernel {self.kernel.shape}), received input shape {input_shape}"
            )

    def compute_output_shape(self, input_shape):
        features(type(self).__name__, input_shape)
        return (*input_shape[:-1], self.units)

    def call(self, inputs, training: bool = False):
        y = dense_last_axis(inputs, self.kernel, self.bias)
        return y if self._activation is None else self._activation(y)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            **_args.kernel_args_config(self),
        }


class Flatten(Layer):
    """Keep the batch axis, stretch the rest: (N, H, W, C) -> (N, H*W*C), e.g. 7x7x64 -> 3136.

    >>> import numpy as np
    >>> Flatten()(np.ones((2, 7, 7, 64))).shape
    (2, 3136)
    """

    def compute_output_shape(self, input_shape):
        shape = _args.single_shape("Flatten", input_shape)
        rest = shape[1:]
        return (shape[0], None if None in rest else math.prod(rest))

    def call(self, inputs, training: bool = False):
        return ops.flatten(inputs)


class Activation(Layer):
    """Apply an activation by name ('relu', 'softmax', ...; see ``svertka.ops.ACTIVATIONS``)
    or a callable; None or 'linear' is the identity.

    >>> import numpy as np
    >>> Activation("relu")(np.array([[-1.0, 2.0]])).numpy().tolist()
    [[0.0, 2.0]]
    """

    def __init__(self, activation, **kwargs):
        self._activation = _args.activation_fn("Activation", activation)
        self.activation = activation
        super().__init__(**kwargs)

    def call(self, inputs, training: bool = False):
        return inputs if self._activation is None else self._activation(inputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "activation": _args.activation_config("Activation", self.activation),
        }


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``rate`` and scale the
    rest by ``1 / (1 - rate)``; at inference (``training=False``, the default) the identity.

    ``seed`` gives the layer its own generator (two layers with one seed drop the same units
    on their first calls); without it masks come from ``svertka.random.generator()``, which
    ``svertka.random.seed`` makes repeat.

    >>> import numpy as np
    >>> layer = Dropout(0.5, seed=0)
    >>> sorted(set(layer(np.ones((4, 4)), training=True).numpy().ravel().tolist()))
    [0.0, 2.0]
    >>> layer(np.ones((1, 2))).numpy().tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        self.rate = checks.finite_float("Dropout", "rate", rate, 0.0, 1.0, high_open=True)
        self.seed = None if seed is None else checks.non_negative_int("Dropout", "seed", seed)
        self._rng = None if seed is None else np.random.default_rng(self.seed)
        super().__init__(**kwargs)

    def call(self, inputs, training: bool = False):
        rng = self._rng if self._rng is not None else srandom.generator()
        return ops.dropout(inputs, self.rate, rng, training=training)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (without the batch axis); one entry may be -1,
    inferred from the others.

    >>> import numpy as np
    >>> Reshape((7, 7, -1))(np.ones((2, 98))).shape
    (2, 7, 7, 2)
    """

    def __init__(self, target_shape, **kwargs):
        dims = tuple(target_shape) if hasattr(target_shape, "__iter__") else None
        if (
            dims is None
            or not all(
                checks.is_int(d) and (d >= 1 or d == -1)
                for d in dims
            )
            or dims.count(-1) > 1
        ):
            raise ValueError(
                f"Reshape: argument 'target_shape' must be a tuple of positive "
                f"ints with at most one -1, received {target_shape!r}"
            )
        self.target_shape = tuple(int(d) for d in dims)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        shape = _args.single_shape("Reshape", input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if None in shape[1:]:
            size = None
        else:
            size = math.prod(shape[1:])
            if size % known if -1 in self.target_shape else size != known:
                raise ValueError(
                    f"Reshape: cannot reshape inputs of shape {shape} ({size} values per "
                    f"sample) to target_shape {self.target_shape}"
                )
        fill = None if size is None else size // known
        return (shape[0], *(fill if d == -1 else d for d in self.target_shape))

    def check_input_shape(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def call(self, inputs, training: bool = False):
        return ops.reshape(inputs, (inputs.shape[0], *self.target_shape))

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
