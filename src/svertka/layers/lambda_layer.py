"""``Lambda``: a layer that applies a plain function of ``svertka.ops``.

Saving. A model file holds names and numbers, never code (no pickle, no eval), so a Lambda
can only be saved when its function has a name svertka can look up: one of the functions
exported by ``svertka.ops`` (``ops.l2_normalize``, ``ops.relu``, ...), found in the fixed
table ``saveable_functions()`` by name, with keyword ``arguments`` made of JSON values. Any
other callable (a ``lambda``, a local ``def``, a ``functools.partial``) works for training
and inference, but ``get_config`` (and so ``model.save``) raises a ValueError that says so;
for such a function write a Layer subclass and register it with
``svertka.layers.register``.

Output shape. Without ``output_shape`` the layer runs its function on zeros of the input's
shape with a batch of 1 (with ``no_grad``), twice: with 2 and then 3 in place of each axis of
unknown size (None); an output axis whose size differs between the two runs is unknown
(None) too. Give ``output_shape`` (without the batch axis) for a function that cannot run on
zeros or where the input is too large to probe. ``get_config`` of a built Lambda records
the output shape it found, so loading a model file never runs the function (a Lambda in a
file without ``output_shape`` is refused).

>>> import numpy as np
>>> from svertka import ops
>>> from svertka.layers import Input
>>> layer = Lambda(ops.l2_normalize, arguments={"axis": -1})
>>> layer(Input((None, 8))).shape
(None, None, 8)
>>> layer.get_config()["function"]
'l2_normalize'
"""

from __future__ import annotations

import json
import math

import numpy as np

from svertka import checks
from svertka.autograd import Tensor, no_grad
from svertka.layers.base import Layer, _loading

PROBE_LIMIT = 1 << 22  # values in one probe input; larger inputs need output_shape
_PROBES = (2, 3)  # sizes standing in for unknown axes; two, to tell fixed outputs from not


def saveable_functions() -> dict:
    """The functions a saved Lambda may name: every callable in ``svertka.ops.__all__``."""
    from svertka import ops

    table = {name: getattr(ops, name) for name in ops.__all__}
    return {name: fn for name, fn in table.items() if callable(fn)}


def _function_name(function):
    """The table's name for ``function``, or None when it has none."""
    name = getattr(function, "__name__", None)
    return name if saveable_functions().get(name) is function else None


class Lambda(Layer):
    """Apply ``function(inputs, **arguments)``: a function of svertka ops, no weights.

    ``function`` is a callable or the name of a function of ``svertka.ops``; ``arguments``
    are keyword arguments passed on each call; ``output_shape`` is the output's shape without
    the batch axis (probed on zeros when not given, see the module's notes). Only a function
    of ``svertka.ops`` can be saved (see the module's notes).

    >>> import numpy as np
    >>> from svertka import ops
    >>> Lambda(lambda t: ops.l2_normalize(t, axis=-1))(np.array([[3.0, 4.0]])).numpy().tolist()
    [[0.6, 0.8]]
    """

    def __init__(self, function, output_shape=None, arguments: dict | None = None, **kwargs):
        if isinstance(function, str):
            table = saveable_functions()
            if function not in table:
                raise ValueError(f"Lambda: argument 'function' must be a callable or the name "
                                 f"of a function of svertka.ops, received {function!r}")
            function = table[function]
        if not callable(function):
            raise TypeError(f"Lambda: argument 'function' must be a callable or the name of a "
                            f"function of svertka.ops, received {function!r}")
        if arguments is not None and (
            not isinstance(arguments, dict) or not all(isinstance(k, str) for k in arguments)
        ):
            raise TypeError(f"Lambda: argument 'arguments' must be a dict of keyword "
                            f"arguments, received {arguments!r}")
        if output_shape is not None:
            dims = tuple(output_shape) if hasattr(output_shape, "__iter__") else None
            if dims is None or not all(d is None or (checks.is_int(d) and d >= 0)
                                       for d in dims):
                raise ValueError(f"Lambda: argument 'output_shape' must be a tuple of "
                                 f"non-negative ints (or None) without the batch axis, "
                                 f"received {output_shape!r}")
            output_shape = tuple(None if d is None else int(d) for d in dims)
        self.function = function
        self.arguments = dict(arguments or {})
        self.declared_output_shape = output_shape
        self._probed: dict = {}
        super().__init__(**kwargs)

    def call(self, inputs, training: bool = False):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self.declared_output_shape is not None:
            return (None, *self.declared_output_shape)
        key = repr(input_shape)
        if self._probed.get(key) is None:  # a call probes once, not once per shape query
            if getattr(_loading, "budget", None) is not None:
                raise ValueError(f"{self.name}: a Lambda read from a model file must carry "
                                 f"its output_shape; loading runs no function")
            many = isinstance(input_shape, list)
            outs = [self._probe(input_shape if many else [input_shape], many, size).shape[1:]
                    for size in _PROBES]
            self._probed = {key: (None, *(i if i == j else None for i, j in zip(*outs)))}
        return self._probed[key]

    def _probe(self, shapes, many: bool, size: int):
        """The function's output on zeros of ``shapes`` (batch 1, unknown axes ``size``)."""
        filled = [(1, *(size if d is None else d for d in s[1:])) for s in shapes]
        if any(math.prod(s) > PROBE_LIMIT for s in filled):
            raise ValueError(f"{self.name}: input shape {shapes} is too large to probe the "
                             f"output shape on zeros (more than {PROBE_LIMIT:,} values); pass "
                             f"Lambda(..., output_shape=...)")
        xs = [Tensor(np.zeros(s, np.float32)) for s in filled]
        with no_grad(), np.errstate(all="ignore"):
            y = self.function(xs if many else xs[0], **self.arguments)
        if not hasattr(y, "shape"):
            raise TypeError(f"{self.name}: the function must return a Tensor, received "
                            f"{type(y).__name__}")
        return y

    def get_config(self) -> dict:
        name = _function_name(self.function)
        if name is None:
            raise ValueError(
                f"{self.name}.get_config: a Lambda can be saved only when its function is one "
                f"of svertka.ops (saved by name: model files hold no code), received "
                f"{self.function!r}; pass e.g. Lambda(ops.l2_normalize, arguments={{'axis': "
                f"-1}}), or write a Layer subclass and register it with "
                f"svertka.layers.register"
            )
        try:
            arguments = json.loads(json.dumps(self.arguments, allow_nan=False))
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}.get_config: argument 'arguments' must hold JSON "
                             f"values (finite numbers, strings, lists) to be saved, received "
                             f"{self.arguments!r}") from None
        shape = self.declared_output_shape
        if shape is None and self.output_shape is not None:
            shape = self.output_shape[1:]  # saved, so that loading need not run the function
        return {**super().get_config(), "function": name,
                "output_shape": None if shape is None else list(shape),
                "arguments": arguments}
