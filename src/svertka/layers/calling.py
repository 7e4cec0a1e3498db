"""The call context: what an outer layer call tells the layers it calls, on this thread. A
call's ``training`` flag (explicit, else inherited from the enclosing call, else ``call``'s
default) and the generation of ``add_loss`` values are kept here; ``_call_spec`` reads once per
class whether its ``call`` takes ``training`` and ``mask``.
"""

from __future__ import annotations

import inspect
import itertools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from svertka.layers.base import Layer

_context = threading.local()  # .depth: calls in progress on this thread; .training: their flag
# .generation: the number of the outermost call in progress; add_loss values are kept per call
_generations = itertools.count(1)


class _CallSpec:
    """What a class's ``call`` accepts, read once per class (Keras passes ``training`` and
    ``mask`` only to a ``call`` that names them)."""

    def __init__(self, cls):
        params = inspect.signature(cls.call).parameters
        self.training = "training" in params
        self.mask = "mask" in params
        default = params["training"].default if self.training else None
        self.training_default = None if default is inspect.Parameter.empty else default


_specs: dict = {}


def _call_spec(cls) -> _CallSpec:
    spec = _specs.get(cls)
    if spec is None:
        spec = _specs[cls] = _CallSpec(cls)
    return spec


class call_scope:  # noqa: N801 - used as a function, ``with call_scope(layer, training)``
    """Run ``layer``'s call in the call context and yield its ``training`` flag: the explicit
    value, else the flag of the call this one is nested in, else the default of ``call``'s
    ``training`` argument (Keras's rule); sublayers called inside inherit it. Each outermost
    call starts a new generation of ``add_loss`` values: a layer's ``losses`` are those of
    its latest call (no walk over the sublayers on every call). A class, not a generator:
    it is entered on every layer call."""

    __slots__ = ("layer", "training", "depth", "outer")

    def __init__(self, layer: Layer, training):
        self.layer, self.training = layer, training

    def __enter__(self):
        depth = self.depth = getattr(_context, "depth", 0)
        outer = self.outer = getattr(_context, "training", None) if depth else None
        training = self.training
        if training is None:
            training = (outer if outer is not None
                        else _call_spec(type(self.layer)).training_default)
        if depth == 0:
            _context.generation = next(_generations)
        self.layer._call_generation = _context.generation
        _context.depth, _context.training = depth + 1, training if training is not None else outer
        return training

    def __exit__(self, *exc) -> None:
        _context.depth, _context.training = self.depth, self.outer


def in_call() -> bool:
    """Whether a layer's call is in progress on this thread (a model called inside another)."""
    return getattr(_context, "depth", 0) > 0
