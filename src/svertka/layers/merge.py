"""Layers that join several inputs, called on a list: ``Add()([a, b])`` (ResNet's shortcut,
SPEC §9) and ``Concatenate()([a, b])`` (stacking feature maps along the channels).

>>> from svertka.layers.core import Input
>>> a, b = Input((8, 8, 16)), Input((8, 8, 4))
>>> Concatenate()([a, b]).shape, Add()([a, a]).shape
((None, 8, 8, 20), (None, 8, 8, 16))
"""

from __future__ import annotations

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


class Add(_Merge):
    """Element-wise sum of inputs of one shape: ``Add()([x, shortcut])``.

    >>> import numpy as np
    >>> Add()([np.ones((1, 2)), np.ones((1, 2))]).numpy().tolist()
    [[2.0, 2.0]]
    """

    def compute_output_shape(self, input_shape):
        shapes = _shapes("Add", input_shape)
        common = [_common(dims) for dims in zip(*shapes)]
        if len({len(s) for s in shapes}) > 1 or not all(ok for ok, _ in common):
            raise ValueError(f"Add: expected inputs of one shape, received shapes {shapes}")
        return tuple(size for _, size in common)

    def call(self, inputs, training: bool = False):
        y = inputs[0]
        for x in inputs[1:]:
            y = ops.add(y, x)
        return y


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
