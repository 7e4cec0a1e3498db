"""The Keras layer lifecycle: ``__init__`` keeps the config, ``build(input_shape)`` makes the
weights on the first call, ``call`` computes, ``get_config`` returns what ``__init__`` needs.

A layer called on a ``SymbolicTensor`` (what ``Input`` returns; see ``symbolic``) records a graph
node instead of computing: that is how ``svertka.Model(inputs, outputs)`` learns its
architecture. The call context a call runs in (its ``training`` flag, its ``add_loss``
generation) is in ``calling``. Here too: layer naming (``unique_name``) and ``weight_budget``.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import math
import threading
from collections import defaultdict

import numpy as np

from svertka import checks
from svertka.autograd import Tensor
from svertka.backend import asarray
from svertka.layers.calling import _call_spec, _context, call_scope, in_call
from svertka.layers.symbolic import SymbolicTensor
from svertka.naming import snake_case

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




def unique_name(base: str) -> str:
    """``conv2d``, ``conv2d_1``, ... as Keras names layers."""
    n = next(_name_counts[base])
    return base if n == 0 else f"{base}_{n}"


def reset_names() -> None:
    """Start layer naming afresh (``conv2d`` again), as ``keras.backend.clear_session``."""
    _name_counts.clear()


def _is_users(cls) -> bool:
    """A class defined outside svertka (a user's ``Layer`` or ``Model`` subclass)."""
    return not cls.__module__.startswith("svertka.")


def _plain(value, tuples: bool = True) -> bool:
    """Whether ``value`` is JSON-plain (what an automatic config may hold): None, bool, int,
    float, str, and lists (and tuples, unless ``tuples`` is False: JSON gives them back as
    lists) and str-keyed dicts of them."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple) if tuples else list):
        return all(_plain(v, tuples) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, tuples) for k, v in value.items())
    return False


_CONTAINERS = (list, tuple, dict)


def _layers_in(value, out: list) -> None:
    """The layers in an attribute's value: a layer, or lists/tuples/dicts holding layers."""
    if isinstance(value, Layer):
        out.append(value)
    elif isinstance(value, _CONTAINERS):
        for v in value.values() if isinstance(value, dict) else value:
            if isinstance(v, Layer):
                out.append(v)
            elif isinstance(v, _CONTAINERS):
                _layers_in(v, out)


class Layer:
    """Base class of every layer; subclasses override ``build``, ``call``, ``get_config`` and
    ``compute_output_shape`` (and ``window`` when they slide a window over the image).

    Written the Keras way, a layer needs only ``__init__`` and ``call``: weights come from
    ``add_weight`` (in ``__init__`` or ``build``), sublayers assigned as attributes (also in
    lists and dicts) are tracked, their weights counted and trained with the layer's, and
    without ``compute_output_shape`` the output shape comes from running ``call`` on a zero
    batch. ``call`` receives ``training`` only if it names it.

    >>> import numpy as np
    >>> from svertka.layers import Dense
    >>> class MLPBlock(Layer):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.hidden = [Dense(8, activation="relu"), Dense(8, activation="relu")]
    ...         self.out = Dense(1)
    ...     def call(self, x):
    ...         for layer in self.hidden:
    ...             x = layer(x)
    ...         return self.out(x)
    >>> block = MLPBlock()
    >>> block(np.ones((2, 4), np.float32)).shape, len(block.weights), block.count_params()
    ((2, 1), 6, 121)
    """

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        # the tracking state exists before __init__, so that attributes assigned before
        # super().__init__() (svertka's layers do) are tracked too
        self._weights: list[tuple[str, Tensor, bool]] = []  # (name, tensor, trainable)
        self._regularizers: list = []  # (tensor, regulariser) pairs, summed into the loss
        self._losses: list = []  # add_loss values of the call numbered _losses_generation
        self._losses_generation = self._call_generation = 0
        self._node: SymbolicTensor | None = None  # output of the latest symbolic call
        # the constructor's arguments, for the automatic config of a user's subclass
        self._init_args = (args, kwargs) if _is_users(cls) else ((), {})
        self._trainable = True
        self.built = False
        return self

    def __init__(self, name: str | None = None, trainable: bool = True,
                 input_shape: tuple | None = None, **kwargs):
        kwargs.pop("dtype", None)  # accepted for Keras compatibility; weights are float32
        kwargs.pop("autocast", None)
        kwargs.pop("batch_size", None)
        input_dim = kwargs.pop("input_dim", None)
        activity_regularizer = kwargs.pop("activity_regularizer", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        if input_shape is None and input_dim is not None:
            input_shape = (input_dim,)
        if input_shape is None and batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = trainable
        if activity_regularizer is not None:
            from svertka import regularizers

            activity_regularizer = regularizers.get(activity_regularizer)
        # Keras's activity regulariser: a loss on the layer's output, per sample of the batch
        self.activity_regularizer = activity_regularizer
        # Keras lets the first layer of a Sequential declare its input (without batch axis)
        self.declared_input_shape = tuple(input_shape) if input_shape is not None else None
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None

    # -- weights -------------------------------------------------------------------------
    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable: bool = True,
                   regularizer=None, constraint=None, name: str | None = None) -> Tensor:
        """Create, register and return a weight tensor of ``shape``, as Keras 3's
        ``add_weight(shape=None, initializer=None, dtype=None, trainable=True,
        regularizer=None, constraint=None, name=None)``: ``initializer`` None is
        ``"glorot_uniform"`` for float weights (``"zeros"`` for others), ``name`` None an
        automatic ``variable``, ``variable_1``, ... of the layer. Positional arguments are
        Keras's ``(shape, initializer, dtype)``, or svertka's ``(name, shape, initializer,
        trainable, regularizer, dtype)`` when the first is a string.

        Under ``weight_budget`` the tensor is left uninitialised and counted against the
        budget (see there).

        >>> layer = Layer(name="lin")
        >>> w = layer.add_weight(shape=(3, 2), initializer="ones")
        >>> b = layer.add_weight(shape=(2,), initializer="zeros", name="b")
        >>> layer.weight_names, w.shape
        (['variable', 'b'], (3, 2))
        """
        from svertka import initializers

        op = f"{self.name}.add_weight" if hasattr(self, "name") else "Layer.add_weight"
        if args and isinstance(args[0], str):  # svertka's order: name, shape, initializer, ...
            legacy = ("name", "shape", "initializer", "trainable", "regularizer", "dtype")
            if len(args) > len(legacy):
                raise TypeError(f"{op}: takes at most {len(legacy)} positional arguments "
                                f"(name, shape, ...), received {len(args)}")
            given = dict(zip(legacy, args))
            name, shape = given["name"], given.get("shape", shape)
            initializer = given.get("initializer", initializer or "zeros")
            trainable = given.get("trainable", trainable)
            regularizer = given.get("regularizer", regularizer)
            dtype = given.get("dtype", dtype)
        elif args:  # Keras's order: shape, initializer, dtype
            if len(args) > 3:
                raise TypeError(f"{op}: takes at most 3 positional arguments (shape, "
                                f"initializer, dtype), received {len(args)}")
            keywords = {"shape": shape, "initializer": initializer, "dtype": dtype}
            for key in list(keywords)[:len(args)]:
                if keywords[key] is not None:
                    raise TypeError(f"{op}: argument '{key}' was given both positionally and "
                                    f"as a keyword")
            shape = args[0]
            initializer = args[1] if len(args) > 1 else initializer
            dtype = args[2] if len(args) > 2 else dtype
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.kind == "f" else "zeros"
        if name is None:
            taken = {n for n, _, _ in self._weights}
            name = next(n for n in (f"variable_{i}" if i else "variable"
                                    for i in itertools.count()) if n not in taken)
        shape = () if shape is None else tuple(shape)
        if not all(checks.is_int(d) and d >= 0 for d in shape):
            raise ValueError(f"{op}: weight '{name}' has shape {shape}; expected non-negative "
                             f"ints (a weight's shape must be fully known)")
        shape = tuple(int(d) for d in shape)
        budget = getattr(_loading, "budget", None)
        if budget is None:
            data = initializers.get(initializer)(shape, dtype)
        else:
            size = math.prod(shape)
            if size > budget:
                raise ValueError(f"{op}: weight '{name}' of shape {shape} "
                                 f"needs {size:,} values, more than the {budget:,} left in the "
                                 f"budget of this load")
            _loading.budget = budget - size
            data = np.empty(shape, dtype)
        owner = getattr(self, "name", type(self).__name__)
        trainable = bool(trainable) and dtype.kind == "f"
        tensor = Tensor(asarray(data, dtype=dtype), requires_grad=trainable and self._trainable,
                        name=f"{owner}/{name}")
        if constraint is not None:
            if not callable(constraint):
                raise TypeError(f"{owner}.add_weight: argument 'constraint' must be a callable "
                                f"of the weight (Keras's constraint objects are), received "
                                f"{constraint!r}")
            tensor.constraint = constraint  # fit applies it after each update, as Keras
        self._weights.append((name, tensor, trainable))
        if regularizer is not None:
            from svertka import regularizers

            self._regularizers.append((tensor, regularizers.get(regularizer)))
        return tensor

    add_variable = add_weight

    # -- sublayers -------------------------------------------------------------------------
    def _children(self) -> list[Layer]:
        """The layers held in attributes (also in lists, tuples and dicts), in assignment
        order, each once."""
        found: list[Layer] = []
        for key, value in vars(self).items():
            if key != "_node":
                _layers_in(value, found)
        out, seen = [], {id(self)}
        for layer in found:
            if id(layer) not in seen:
                seen.add(id(layer))
                out.append(layer)
        return out

    def _flatten_layers(self, include_self: bool = True) -> list[Layer]:
        """This layer and all its sublayers, depth first, each once."""
        out, seen = [], set()

        def visit(layer):
            if id(layer) in seen:
                return
            seen.add(id(layer))
            out.append(layer)
            for child in layer._children():
                visit(child)

        visit(self)
        return out if include_self else out[1:]

    def _weight_entries(self) -> list[tuple[str, Tensor, bool]]:
        """``(name, tensor, trainable)`` of the layer's own weights, then its sublayers'
        (names prefixed ``sublayer/``), each tensor once: Keras's order."""
        out, seen = [], set()
        for entry in self._weights:
            if id(entry[1]) not in seen:
                seen.add(id(entry[1]))
                out.append(entry)
        for child in self._children():
            for n, t, tr in child._weight_entries():
                if id(t) not in seen:
                    seen.add(id(t))
                    out.append((f"{child.name}/{n}", t, tr and child.trainable))
        return out

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (False) or unfreeze the layer and its sublayers: their weights stop or start
        receiving gradients."""
        self._trainable = bool(value)
        for _, t, trainable in self._weights:
            t.requires_grad = trainable and self._trainable
        for child in self._children():
            child.trainable = value

    @property
    def weights(self) -> list[Tensor]:
        return [t for _, t, _ in self._weight_entries()]

    @property
    def weight_names(self) -> list[str]:
        return [n for n, _, _ in self._weight_entries()]

    @property
    def trainable_weights(self) -> list[Tensor]:
        if not self.trainable:
            return []
        own = [t for _, t, tr in self._weights if tr]
        seen = {id(t) for t in own}
        for child in self._children():
            for t in child.trainable_weights:
                if id(t) not in seen:
                    seen.add(id(t))
                    own.append(t)
        return own

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        trainable = {id(t) for t in self.trainable_weights}
        return [t for t in self.weights if id(t) not in trainable]

    @property
    def regularizers(self) -> list:
        """``(weight, regulariser)`` pairs of the layer and its sublayers (each once)."""
        return [pair for layer in self._flatten_layers() for pair in layer._regularizers]

    def get_weights(self) -> list[np.ndarray]:
        return [t.numpy().copy() for t in self.weights]

    def set_weights(self, arrays) -> None:
        entries = self._weight_entries()
        arrays = list(arrays)
        if len(arrays) != len(entries):
            raise ValueError(f"{self.name}.set_weights: expected {len(entries)} arrays, "
                             f"received {len(arrays)}")
        for (n, t, _), a in zip(entries, arrays):
            if tuple(np.shape(a)) != tuple(t.shape):
                raise ValueError(f"{self.name}.set_weights: weight '{n}' has shape {t.shape}, "
                                 f"received an array of shape {tuple(np.shape(a))}")
        for (_, t, _), a in zip(entries, arrays):
            t.data = asarray(a, dtype=t.dtype).copy()

    def count_params(self) -> int:
        """The layer's own weight values plus each sublayer's ``count_params`` (a layer may
        count its own way: ``TableConv2D`` counts only its connected weights)."""
        own = {id(t): t.size for _, t, _ in self._weights}
        return int(sum(own.values()) + sum(child.count_params() for child in self._children()))

    # -- losses ------------------------------------------------------------------------------
    def add_loss(self, value) -> None:
        """Add a scalar loss (a Tensor computed in ``call``; a list of them) to the training
        loss, as Keras: ``layer.losses`` holds those of the latest call, cleared when the
        next outermost call starts.

        >>> import numpy as np
        >>> from svertka import ops
        >>> class ActivityRegularization(Layer):
        ...     def call(self, inputs):
        ...         self.add_loss(1e-2 * ops.sum(inputs))
        ...         return inputs
        >>> layer = ActivityRegularization()
        >>> _ = layer(np.ones((2, 3), np.float32))
        >>> [round(float(loss.numpy()), 4) for loss in layer.losses]
        [0.06]
        """
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if not isinstance(v, Tensor):
                if not isinstance(v, (int, float, np.number, np.ndarray)):
                    raise TypeError(f"{self.name}.add_loss: argument 'value' must be a scalar "
                                    f"Tensor (or a number), received {v!r}")
                v = Tensor(asarray(np.float32(v)))
            if v.size != 1:
                raise ValueError(f"{self.name}.add_loss: argument 'value' must be a scalar, "
                                 f"received a tensor of shape {tuple(v.shape)}")
            generation = (getattr(_context, "generation", 0) if in_call()
                          else self._call_generation)
            if self._losses_generation != generation:  # the first loss of a new call
                self._losses, self._losses_generation = [], generation
            self._call_generation = generation
            self._losses.append(v)

    @property
    def losses(self) -> list[Tensor]:
        """The ``add_loss`` values of the latest call (this layer's and its sublayers'), then
        the regularisation penalties of the trainable weights, as Keras's ``losses``."""
        from svertka import ops

        current = self._call_generation
        layers = self._flatten_layers()  # one walk of the layer tree (read every batch by fit)
        out = [v for layer in layers if layer._losses_generation == current
               for v in layer._losses]
        for weight, regularizer in (pair for layer in layers for pair in layer._regularizers):
            if weight.requires_grad:
                penalty = regularizer(weight)
                out.append(penalty if isinstance(penalty, Tensor) else ops.sum(penalty))
        return out


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
        outputs=base.get_layer("fc2").output)`` (a list for a layer of several outputs).

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
        node = self._last_node("output")
        return list(node.siblings) if node.index is not None else node

    @property
    def input(self):
        """The SymbolicTensor(s) the most recent symbolic call received (a list for a layer
        called on a list, such as ``Add``); see ``output``."""
        node = self._last_node("input")
        return list(node.parents) if node.many else node.parents[0]

    # -- lifecycle -----------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Make the weights for inputs of ``input_shape`` (batch axis first, may be None)."""
        self.built = True

    def call(self, inputs, training: bool = False):
        raise NotImplementedError(f"{type(self).__name__}: a layer must define call(self, "
                                  f"inputs, ...)")

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape``: the input's for svertka's shape-keeping
        layers; for a user's layer without its own ``compute_output_shape``, what ``call``
        returns on a zero batch."""
        if _is_users(type(self)):
            return self._run_for_shape(input_shape, (), {})
        return input_shape

    def _infers_shape(self) -> bool:
        return _is_users(type(self)) and (
            type(self).compute_output_shape is Layer.compute_output_shape)

    def _run_for_shape(self, input_shape, args, kwargs):
        """Run ``call`` on zero batches of ``input_shape`` (batch 1, unknown sizes 32 and 64)
        under no_grad; the output's shape(s) with the batch axis None, and None where an
        output size followed an unknown input size."""
        from svertka.autograd import no_grad

        many = isinstance(input_shape, list)
        shapes = input_shape if many else [input_shape]
        unknown = any(d is None for s in shapes for d in tuple(s)[1:])

        unknown = unknown or any(d is None for a in args for d in a.shape[1:])

        def zeros(s, fill):
            return Tensor(asarray(np.zeros(tuple(1 if i == 0 else (fill if d is None else d)
                                                 for i, d in enumerate(s)), np.float32)))

        def run(fill):
            xs = [zeros(s, fill) for s in shapes]
            extra = [zeros(a.shape, fill) for a in args]  # symbolic positional arguments
            kept = ("_losses", "_losses_generation", "_call_generation")
            saved = [(layer, [getattr(layer, k) for k in kept])
                     for layer in self._flatten_layers()]
            try:
                with no_grad():
                    out = self(xs if many else xs[0], *extra, training=False, **kwargs)
            except Exception as e:
                raise ValueError(
                    f"{self.name}: could not infer the output shape by running call() on a "
                    f"zero batch for input shape {input_shape}; define "
                    f"compute_output_shape(input_shape) in {type(self).__name__}. call() "
                    f"raised {type(e).__name__}: {e}") from e
            finally:  # the zero batch's losses are not the layer's
                for layer, values in saved:
                    for k, v in zip(kept, values):
                        setattr(layer, k, v)
            return out

        def shape_of(out, what):
            if isinstance(out, (list, tuple)):
                return [shape_of(o, what) for o in out]
            if not hasattr(out, "shape"):
                raise ValueError(f"{self.name}: call() returned {type(out).__name__} on a zero "
                                 f"batch; expected a tensor or a list of tensors ({what})")
            s = tuple(out.shape)
            return (None, *s[1:]) if s else s

        first = shape_of(run(32), "output shape")
        if not unknown:
            return first
        second = shape_of(run(64), "output shape")

        def merge(a, b):
            if isinstance(a, list):
                return [merge(x, y) for x, y in zip(a, b)]
            return tuple(x if x == y else None for x, y in zip(a, b))

        return merge(first, second)

    def window(self):
        """``(kernel, strides, dilation, padding)`` as pairs over (H, W) for layers that slide a
        window over the image (for receptive fields and tiling checks); None otherwise."""
        return None

    def get_config(self) -> dict:
        """The arguments that rebuild the layer. For a user's subclass without its own
        ``get_config``, Keras 3's automatic config: these plus the arguments its
        ``__init__`` received, which must be JSON-plain (else ``NotImplementedError``)."""
        config = {"name": self.name, "trainable": self._trainable}
        if self.declared_input_shape is not None:
            config["input_shape"] = list(self.declared_input_shape)
        if getattr(self, "activity_regularizer", None) is not None:
            from svertka import regularizers

            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        cls = type(self)
        if _is_users(cls) and cls.get_config is Layer.get_config:
            config.update(self._auto_config())
        return config

    def _auto_config(self) -> dict:
        cls = type(self)
        args, kwargs = self._init_args
        try:
            bound = inspect.signature(cls.__init__).bind(self, *args, **kwargs)
        except TypeError as e:
            raise NotImplementedError(f"{cls.__name__}.get_config: could not match the "
                                      f"constructor arguments to __init__ ({e}); define "
                                      f"get_config()") from e
        out = {}
        params = inspect.signature(cls.__init__).parameters
        for key, value in list(bound.arguments.items())[1:]:
            kind = params[key].kind
            items = value.items() if kind is inspect.Parameter.VAR_KEYWORD else [(key, value)]
            if kind is inspect.Parameter.VAR_POSITIONAL:
                if value:
                    raise NotImplementedError(f"{cls.__name__}.get_config: __init__ received "
                                              f"*{key}; define get_config()")
                continue
            for k, v in items:
                if not _plain(v):
                    raise NotImplementedError(
                        f"{cls.__name__}.get_config: argument {k!r} of __init__ is "
                        f"{type(v).__name__} {v!r}, which is not JSON-plain, so the layer "
                        f"cannot be configured automatically; define get_config() (and "
                        f"from_config) in {cls.__name__}")
                out[k] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    def check_input_shape(self, input_shape) -> None:
        """Raise when a built layer is called on inputs its weights cannot take (e.g. another
        number of channels); runs on every call after the one that built the layer."""

    def _ensure_built(self, input_shape) -> None:
        if self.built and self.input_shape is not None:
            self.check_input_shape(input_shape)
        else:  # the first call (build() may have run already, called by the user)
            self.input_shape = input_shape
            if not self.built:
                self.build(input_shape)
            self.built = True
            if not self._infers_shape():
                self.output_shape = self.compute_output_shape(input_shape)

    def __call__(self, inputs, *args, training=None, mask=None, **kwargs):
        many = isinstance(inputs, (list, tuple))
        items = list(inputs) if many else [inputs]
        if any(isinstance(t, SymbolicTensor) for t in (*items, *args)):
            return self._symbolic_call(inputs, items, many, args, training, kwargs)
        tensors = [t if isinstance(t, Tensor) else Tensor(asarray(t)) for t in items]
        args = tuple(Tensor(asarray(a)) if isinstance(a, np.ndarray) else a for a in args)
        shapes = [(None, *t.shape[1:]) for t in tensors]
        self._ensure_built(shapes if many else shapes[0])
        spec = _call_spec(type(self))
        if spec.mask and mask is not None:
            kwargs["mask"] = mask
        with call_scope(self, training) as flag:
            if spec.training and flag is not None:
                kwargs["training"] = flag
            out = self.call(tensors if many else tensors[0], *args, **kwargs)
            regularizer = getattr(self, "activity_regularizer", None)
            if regularizer is not None:  # as Keras: the penalty of each output over its batch
                from svertka import ops

                for y in out if isinstance(out, (list, tuple)) else [out]:
                    penalty = regularizer(y)
                    self.add_loss(ops.div(penalty, float(len(y))) if y.ndim else penalty)
            return out

    def _symbolic_call(self, inputs, items, many, args, training, kwargs):
        """Record a graph node (several for a layer of several outputs). Called as
        ``layer(a, b)`` on symbolic tensors (Keras's ``LogisticEndpoint(targets, logits)``),
        the node's parents are the positional arguments."""
        if (args and (many or not all(isinstance(a, SymbolicTensor) for a in (inputs, *args)))
                or any(isinstance(v, (SymbolicTensor, Tensor, np.ndarray))
                       for v in kwargs.values())):
            raise ValueError(f"{self.name}: called on symbolic tensors with arguments a graph "
                             f"node cannot record; it records one input, a list of inputs, or "
                             f"several symbolic tensors as positional arguments, and constant "
                             f"keyword arguments")
        shapes = [t.shape for t in items]
        shape = shapes if many else shapes[0]
        self._ensure_built(shape)
        if self._infers_shape():  # once per input shape: a Sequential rewires on every add
            key = repr((shape, [a.shape for a in args], sorted(kwargs.items())))
            cache = self.__dict__.setdefault("_shape_cache", {})
            if key not in cache:
                cache[key] = self._run_for_shape(shape, args, kwargs)
            out_shape = self.output_shape = cache[key]
        else:
            out_shape = self.compute_output_shape(shape)
        return self._make_nodes(out_shape, [*items, *args], many, kwargs, bool(args))

    def _make_nodes(self, out_shape, items, many, kwargs=None, positional=False):
        several = isinstance(out_shape, list) and all(
            isinstance(s, (list, tuple)) for s in out_shape)
        if not several:
            node = SymbolicTensor(out_shape, self, tuple(items), many)
            node.call_kwargs, node.positional = dict(kwargs or {}), positional
            self._node = node
            return node
        nodes = tuple(SymbolicTensor(tuple(s), self, tuple(items), many, index=k)
                      for k, s in enumerate(out_shape))
        for node in nodes:
            node.siblings = nodes
            node.call_kwargs, node.positional = dict(kwargs or {}), positional
        self._node = nodes[0]
        return list(nodes)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"
