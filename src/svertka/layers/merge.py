"""Layers that join several inputs, called on a list: ``Add()([a, b])`` (ResNet's shortcut,
SPEC §9), ``Concatenate()([a, b])`` (stacking feature maps along the channels), and the
element-wise ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``; Keras's
functional shortcuts ``add([a, b])``, ``concatenate([a, b])``, ... build and call them.
``Arithmetic`` is what operators on symbolic tensors record (``x / y``, ``2 * x``).

>>> from svertka.layers.core import Input
>>> a, b = Input((8, 8, 16)), Input((8, 8, 4))
>>> Concatenate()([a, b]).shape, Add()([a, a]).shape, add([a, a]).shape
((None, 8, 8, 20), (None, 8, 8, 16), (None, 8, 8, 16))
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from svertka import checks, ops
from svertka.layers.base import Layer


def _shapes(layer: str, input_shape) -> list[tuple]:
    if not isinstance(input_shape, list) or len(input_shape) < 2:
        received = (
            f"a list of {len(input_shape)}"
            if isinstance(input_shape, list)
            else f"one input of shape {tuple(input_shape)}"
        )
        raise ValueError(f"{layer}: expected a list of at least 2 inputs, received {received}")
    return [tuple(s) for s in input_shape]


def _common(dims) -> tuple[bool, int | None]:
    """Whether one axis agrees across inputs (None, unknown, matches anything), and its size."""
    known = {d for d in dims if d is not None}
    return len(known) <= 1, (next(iter(known)) if known else None)


class _Merge(Layer):
    def check_input_shape(self, input_shape) -> None:
        self.compute_output_shape(input_shape)


def _same_shape(layer: str, input_shape) -> tuple:
    """The one shape of element-wise merged inputs (unknown sizes match anything)."""
    shapes = _shapes(layer, input_shape)
    common = [_common(dims) for dims in zip(*shapes)]
    if len({len(s) for s in shapes}) > 1 or not all(ok for ok, _ in common):
        raise ValueError(f"{layer}: expected inputs of one shape, received shapes {shapes}")
    return tuple(size for _, size in common)


class _Elementwise(_Merge):
    """A merge of inputs of one shape folded left to right by ``_fold`` (an op of two)."""

    _fold = staticmethod(ops.add)

    def compute_output_shape(self, input_shape):
        return _same_shape(type(self).__name__, input_shape)

    def call(self, inputs, training: bool = False):
        return functools.reduce(type(self)._fold, inputs)


class Add(_Elementwise):
    """Element-wise sum of inputs of one shape: ``Add()([x, shortcut])``.

    >>> import numpy as np
    >>> Add()([np.ones((1, 2)), np.ones((1, 2))]).numpy().tolist()
    [[2.0, 2.0]]
    """



class Concatenate(_Merge):
    """Join inputs along ``axis`` (the channels by default); every other axis must match.

    >>> import numpy as np
    >>> Concatenate()([np.ones((1, 2)), np.zeros((1, 1))]).numpy().tolist()
    [[1.0, 1.0, 0.0]]
    """

    def __init__(self, axis: int = -1, **kwargs):
        self.axis = checks.integer("Concatenate", "axis", axis)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        shapes = _shapes("Concatenate", input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"Concatenate: expected inputs of one rank, received shapes {shapes}")
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(
                f"Concatenate: argument 'axis' must name a non-batch axis of "
                f"inputs of rank {rank}, received axis={self.axis}"
            )
        axis = self.axis % rank
        out = []
        for a, dims in enumerate(zip(*shapes)):
            if a == axis:
                out.append(None if None in dims else sum(dims))
                continue
            ok, size = _common(dims)
            if not ok:
                raise ValueError(
                    f"Concatenate: inputs must match on every axis but axis "
                    f"{self.axis}, received shapes {shapes}"
                )
            out.append(size)
        return tuple(out)

    def call(self, inputs, training: bool = False):
        return ops.concat(inputs, self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class Subtract(_Elementwise):
    """``a - b`` of exactly two inputs of one shape, as Keras's ``Subtract``.

    >>> import numpy as np
    >>> Subtract()([np.full((1, 2), 3.0), np.ones((1, 2))]).numpy().tolist()
    [[2.0, 2.0]]
    """

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) and len(input_shape) != 2:
            raise ValueError(f"Subtract: expected a list of exactly 2 inputs, received a list "
                             f"of {len(input_shape)}")
        return super().compute_output_shape(input_shape)

    def call(self, inputs, training: bool = False):
        return ops.sub(inputs[0], inputs[1])


class Multiply(_Elementwise):
    """Element-wise product of inputs of one shape (gating, attention masks).

    >>> import numpy as np
    >>> Multiply()([np.full((1, 2), 3.0), np.full((1, 2), 2.0)]).numpy().tolist()
    [[6.0, 6.0]]
    """

    _fold = staticmethod(ops.mul)


class Average(_Elementwise):
    """Element-wise mean of inputs of one shape (ensembles of branches).

    >>> import numpy as np
    >>> Average()([np.zeros((1, 2)), np.full((1, 2), 4.0)]).numpy().tolist()
    [[2.0, 2.0]]
    """

    def call(self, inputs, training: bool = False):
        return ops.mul(super().call(inputs), 1.0 / len(inputs))


class Maximum(_Elementwise):
    """Element-wise maximum of inputs of one shape; on a tie the gradient goes to the first
    of the tied inputs (PyTorch's ``torch.maximum`` splits it).

    >>> import numpy as np
    >>> Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).numpy().tolist()
    [[3.0, 5.0]]
    """

    _fold = staticmethod(ops.maximum)


class Minimum(_Elementwise):
    """Element-wise minimum of inputs of one shape (ties as ``Maximum``).

    >>> import numpy as np
    >>> Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).numpy().tolist()
    [[1.0, 2.0]]
    """

    _fold = staticmethod(ops.minimum)


_ARITHMETIC = {"add": ops.add, "subtract": ops.sub, "multiply": ops.mul, "divide": ops.div}


class Arithmetic(Layer):
    """``x <op> constant`` (``constant <op> x`` with ``reverse``), or ``a <op> b`` of two inputs
    of one shape without a constant: what arithmetic on symbolic tensors records, so that a
    graph with ``2 * x`` or ``x / y`` saves as plain layers (a number, never code).

    ``op`` is ``"add"``, ``"subtract"``, ``"multiply"`` or ``"divide"``.

    >>> import numpy as np
    >>> Arithmetic("subtract", constant=1.0, reverse=True)(np.full((1, 2), 3.0)).numpy().tolist()
    [[-2.0, -2.0]]
    """

    def __init__(self, op: str, constant: float | None = None, reverse: bool = False,
                 **kwargs):
        if op not in _ARITHMETIC:
            raise ValueError(f"Arithmetic: argument 'op' must be one of {sorted(_ARITHMETIC)}, "
                             f"received {op!r}")
        if constant is not None and (isinstance(constant, bool)
                                     or not isinstance(constant, numbers.Real)):
            raise TypeError(f"Arithmetic: argument 'constant' must be a number or None, "
                            f"received {constant!r}")
        self.op = op
        self.constant = None if constant is None else float(constant)
        self.reverse = bool(reverse)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        if self.constant is None:
            if isinstance(input_shape, list) and len(input_shape) != 2:
                raise ValueError(f"Arithmetic: without a constant, expected a list of exactly 2 "
                                 f"inputs, received a list of {len(input_shape)}")
            return _same_shape("Arithmetic", input_shape)
        if isinstance(input_shape, list):
            raise ValueError(f"Arithmetic: with a constant, expected one input, received a "
                             f"list of {len(input_shape)}")
        return tuple(input_shape)

    def check_input_shape(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def call(self, inputs, training: bool = False):
        fn = _ARITHMETIC[self.op]
        if self.constant is None:
            a, b = inputs
        else:
            a, b = inputs, np.asarray(self.constant, dtype=inputs.dtype)
            a, b = (b, a) if self.reverse else (a, b)
        return fn(a, b)

    def get_config(self) -> dict:
        return {**super().get_config(), "op": self.op, "constant": self.constant,
                "reverse": self.reverse}


# -- Keras's functional shortcuts: build the layer and call it on ``inputs`` ----------------
def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``, as ``keras.layers.add``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """``Subtract(**kwargs)(inputs)``, as ``keras.layers.subtract``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """``Multiply(**kwargs)(inputs)``, as ``keras.layers.multiply``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """``Average(**kwargs)(inputs)``, as ``keras.layers.average``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """``Maximum(**kwargs)(inputs)``, as ``keras.layers.maximum``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """``Minimum(**kwargs)(inputs)``, as ``keras.layers.minimum``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis: int = -1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)``, as ``keras.layers.concatenate``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
