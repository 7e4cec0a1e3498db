"""The functional API's placeholder: ``SymbolicTensor`` (Keras's ``KerasTensor``), what
``Input`` returns and what a layer called on one returns instead of computing. Each records its
producing layer and parents, the graph node from which ``svertka.Model(inputs, outputs)`` learns
its architecture; arithmetic on it (``a + b``, ``2 * x``) records merge layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from svertka.layers.base import Layer


class SymbolicTensor:
    """A placeholder with a shape (batch axis ``None``) flowing through the functional API
    (Keras's ``KerasTensor``).

    Arithmetic on it records graph nodes through serialisable layers: ``a + b``, ``a - b``
    and ``a * b`` of two symbolic tensors are ``Add``, ``Subtract`` and ``Multiply``;
    ``a / b`` and any operation with a Python number are an ``Arithmetic`` layer holding the
    number. ``x += y`` rebinds ``x`` to the new node, as in Keras.

    >>> from svertka.layers import Input
    >>> x = Input((4,), name="x")
    >>> y = 2 * x - x
    >>> y.shape, y.dtype, y.ndim, x.name
    ((None, 4), 'float32', 2, 'x')
    """

    dtype = "float32"

    def __init__(self, shape: tuple, layer: Layer | None = None, parents: tuple = (),
                 many: bool = False, index: int | None = None):
        self.shape = tuple(shape)
        self.layer = layer
        self.parents = tuple(parents)
        self.many = many  # the layer was called with a list (Add, Concatenate)
        # a layer of several outputs (a model used as a layer): this node is output ``index``
        # of the call, and ``siblings`` are all of that call's output nodes, in order
        self.index = index
        self.siblings: tuple = ()
        self.call_kwargs: dict = {}  # constant keyword arguments of the call, passed again
        # the layer was called as layer(a, b, ...): the parents are its positional arguments
        self.positional = False
        self._name: str | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def name(self) -> str:
        """The name given to ``Input(name=...)``, else the producing layer's name."""
        if self._name is not None:
            return self._name
        return self.layer.name if self.layer is not None else "input"

    @name.setter
    def name(self, value) -> None:
        self._name = value

    def __repr__(self) -> str:
        owner = self.layer.name if self.layer is not None else "input"
        return f"<SymbolicTensor shape={self.shape} from {owner}>"

    # -- arithmetic builds graph nodes ---------------------------------------------------------
    def _binary(self, other, op: str, reverse: bool = False):
        from svertka.layers import merge

        if isinstance(other, SymbolicTensor):
            pair = [other, self] if reverse else [self, other]
            layer = {"add": merge.Add, "subtract": merge.Subtract,
                     "multiply": merge.Multiply}.get(op)
            return (layer() if layer is not None else merge.Arithmetic(op))(pair)
        if isinstance(other, (bool, np.bool_)) or not isinstance(other, (int, float, np.number)):
            return NotImplemented
        return merge.Arithmetic(op, constant=float(other), reverse=reverse)(self)

    def __add__(self, other):
        return self._binary(other, "add")

    def __radd__(self, other):
        return self._binary(other, "add", reverse=True)

    def __sub__(self, other):
        return self._binary(other, "subtract")

    def __rsub__(self, other):
        return self._binary(other, "subtract", reverse=True)

    def __mul__(self, other):
        return self._binary(other, "multiply")

    def __rmul__(self, other):
        return self._binary(other, "multiply", reverse=True)

    def __truediv__(self, other):
        return self._binary(other, "divide")

    def __rtruediv__(self, other):
        return self._binary(other, "divide", reverse=True)

    def __neg__(self):
        return self._binary(-1.0, "multiply")

    def __pos__(self):
        return self


KerasTensor = SymbolicTensor
