"""The Keras layer lifecycle: ``__init__`` keeps the config, ``build(input_shape)`` makes the
weights on the first call, ``call`` computes, ``get_config`` returns what ``__init__`` needs.

A layer called on a ``SymbolicTensor`` (what ``Input`` returns) records a graph node instead of
computing: that is how ``svertka.Model(inputs, outputs)`` learns its architecture.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import re
import threading
from collections import defaultdict

import numpy as np

from svertka import checks
from svertka.autograd import Tensor
from svertka.backend import asarray

_name_counts: defaultdict[str, itertools.count] = defaultdict(itertools.count)
_loading = threading.local()  # .budget: weight values left to create, while weight_budget holds


@contextlib.contextmanager
def weight_budget(values: int):
    """Build layers whose weights are about to be overwritten (by a loaded file), safely.

    Inside the block, on this thread, ``add_weight`` runs no initialiser (so no random draws
    and no float64 temporaries) and makes its arrays with ``np.empty``, whose pages cost
    nothing until written; and it refuses, before allocating, to create more than ``values``
    weight values in all. A file that declares a model far larger than the arrays it
    holds is thus rejected at its first oversized weight, not after gigabytes.

    >>> from svertka.layers import Dense, Input
    >>> with weight_budget(10):
    ...     Dense(1000, name="d")(Input((5,)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: d.add_weight: weight 'kernel' of shape (5, 1000) needs 5,000 values, more ...
    """
    previous = getattr(_loading, "budget", None)
    _loading.budget = int(values)
    try:
        yield
    finally:
        _loading.budget = previous


def _snake(name: str) -> str:
    """Keras's ``to_snake_case``: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, ReLU -> re_lu."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    """``conv2d``, ``conv2d_1``, ... as Keras names layers."""
    n = next(_name_counts[base])
    return base if n == 0 else f"{base}_{n}"


def reset_names() -> None:
    """Start layer naming afresh (``conv2d`` again), as ``keras.backend.clear_session``."""
    _name_counts.clear()


class SymbolicTensor:
    """A placeholder with a shape (batch axis ``None``) flowing through the functional API."""

    def __init__(self, shape: tuple, layer: Layer | None = None, parents: tuple = (),
                 many: bool = False):
        self.shape = tuple(shape)
        self.layer = layer
        self.parents = tuple(parents)
        self.many = many  # the layer was called with a list (Add, Concatenate)

    def __repr__(self) -> str:
        owner = self.layer.name if self.layer is not None else "input"
        return f"<SymbolicTensor shape={self.shape} from {owner}>"


class Layer:
    """Base class of every layer; subclasses override ``build``, ``call``, ``get_config`` and
    ``compute_output_shape`` (and ``window`` when they slide a window over the image)."""

    def __init__(self, name: str | None = None, trainable: bool = True,
                 input_shape: tuple | None = None, **kwargs):
        kwargs.pop("dtype", None)  # accepted for Keras compatibility; weights are float32
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        self.name = name or unique_name(_snake(type(self).__name__))
        self._trainable = trainable
        # Keras lets the first layer of a Sequential declare its input (without batch axis)
        self.declared_input_shape = tuple(input_shape) if input_shape is not None else None
        self.built = False
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self._weights: list[tuple[str, Tensor, bool]] = []  # (name, tensor, trainable)
        self.regularizers: list = []  # (tensor, regulariser) pairs, summed into the loss
        self._node: SymbolicTensor | None = None  # output of the latest symbolic call

    # -- weights -------------------------------------------------------------------------
    def add_weight(self, name: str, shape: tuple, initializer="zeros", trainable: bool = True,
                   regularizer=None, dtype=np.float32) -> Tensor:
        """Create, register and return a weight tensor of ``shape``.

        Under ``weight_budget`` the tensor is left uninitialised and counted against the
        budget (see there)."""
        from svertka import initializers

        budget = getattr(_loading, "budget", None)
        if budget is None:
            data = initializers.get(initializer)(tuple(shape), dtype)
        else:
            shape = tuple(shape)
            if not all(checks.is_int(d) and d >= 0 for d in shape):
                raise ValueError(f"{self.name}.add_weight: weight '{name}' has shape {shape}; "
                                 f"expected non-negative ints")
            shape = tuple(int(d) for d in shape)
            size = math.prod(shape)
            if size > budget:
                raise ValueError(f"{self.name}.add_weight: weight '{name}' of shape {shape} "
                                 f"needs {size:,} values, more than the {budget:,} left in the "
                                 f"budget of this load")
            _loading.budget = budget - size
            data = np.empty(shape, dtype)
        tensor = Tensor(asarray(data), requires_grad=trainable and self._trainable,
                        name=f"{self.name}/{name}")
        self._weights.append((name, tensor, trainable))
        if regularizer is not None:
            from svertka import regularizers

            self.regularizers.append((tensor, regularizers.get(regularizer)))
        return tensor

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (False) or unfreeze the layer: its weights stop or start receiving gradients."""
        self._trainable = bool(value)
        for _, t, trainable in self._weights:
            t.requires_grad = trainable and self._trainable

    @property
    def weights(self) -> list[Tensor]:
        return [t for _, t, _ in self._weights]

    @property
    def weight_names(self) -> list[str]:
        return [n for n, _, _ in self._weights]

    @property
    def trainable_weights(self) -> list[Tensor]:
        return [t for _, t, tr in self._weights if tr and self._trainable]

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        return [t for _, t, tr in self._weights if not (tr and self._trainable)]

    def get_weights(self) -> list[np.ndarray]:
        return [t.numpy().copy() for t in self.weights]

    def set_weights(self, arrays) -> None:
        if len(arrays) != len(self._weights):
            raise ValueError(f"{self.name}.set_weights: expected {len(self._weights)} arrays, "
                             f"received {len(arrays)}")
        for (n, t, _), a in zip(self._weights, arrays):
            if tuple(a.shape) != tuple(t.shape):
                raise ValueError(f"{self.name}.set_weights: weight '{n}' has shape {t.shape}, "
                                 f"received an array of shape {tuple(a.shape)}")
            t.data = asarray(a, dtype=t.dtype).copy()

    def count_params(self) -> int:
        return int(sum(t.size for t in self.weights))

    # -- graph -----------------------------------------------------------------------------
    def _last_node(self, what: str) -> SymbolicTensor:
        node = getattr(self, "_node", None)
        if node is None:
            raise ValueError(f"Layer {self.name!r}: '{what}' is only defined once the layer has "
                             f"been called on a symbolic tensor (Input(...) or a layer's "
                             f"output); this layer has not been, so it has no node in a graph")
        return node

    @property
    def output(self):
        """The SymbolicTensor of the layer's most recent call on symbolic tensors: its node in
        the graph it was last wired into, for ``Model(inputs=base.input,
        outputs=base.get_layer("fc2").output)``.

        Keras 3 keeps the first call's node; svertka keeps the latest, so a layer of a
        ``Sequential`` (which rewires its layers whenever one is added or popped) answers with
        its node in the model's current graph. A layer called on several graphs answers for the
        last. Raises ``ValueError`` naming the layer before any symbolic call (Keras raises
        ``AttributeError``, which ``hasattr`` and ``__getattr__`` would swallow).

        >>> from svertka.layers import Dense, Input
        >>> d = Dense(3, name="d")
        >>> y = d(Input((4,)))
        >>> d.output is y, d.input.shape
        (True, (None, 4))
        """
        return self._last_node("output")

    @property
    def input(self):
        """The SymbolicTensor(s) the most recent symbolic call received (a list for a layer
        called on a list, such as ``Add``); see ``output``."""
        node = self._last_node("input")
        return list(node.parents) if node.many else node.parents[0]

    # -- lifecycle -----------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Make the weights for inputs of ``input_shape`` (batch axis first, may be None)."""

    def call(self, inputs, training: bool = False):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape

    def window(self):
        """``(kernel, strides, dilation, padding)`` as pairs over (H, W) for layers that slide a
        window over the image (for receptive fields and tiling checks); None otherwise."""
        return None

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self._trainable}
        if self.declared_input_shape is not None:
            config["input_shape"] = list(self.declared_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    def check_input_shape(self, input_shape) -> None:
        """Raise when a built layer is called on inputs its weights cannot take (e.g. another
        number of channels); runs on every call after the one that built the layer."""

    def _ensure_built(self, input_shape) -> None:
        if self.built:
            self.check_input_shape(input_shape)
        else:
            self.input_shape = input_shape
            self.build(input_shape)
            self.built = True
            self.output_shape = self.compute_output_shape(input_shape)

    def __call__(self, inputs, training: bool = False):
        many = isinstance(inputs, (list, tuple))
        items = list(inputs) if many else [inputs]
        if any(isinstance(t, SymbolicTensor) for t in items):
            shapes = [t.shape for t in items]
            shape = shapes if many else shapes[0]
            self._ensure_built(shape)
            self._node = SymbolicTensor(self.compute_output_shape(shape), self, tuple(items), many)
            return self._node
        tensors = [t if isinstance(t, Tensor) else Tensor(asarray(t)) for t in items]
        shapes = [(None, *t.shape[1:]) for t in tensors]
        self._ensure_built(shapes if many else shapes[0])
        return self.call(tensors if many else tensors[0], training=training)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"
