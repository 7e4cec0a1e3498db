"""The metric machinery: ``Metric`` and its variables, sample weighting, ``Mean`` and ``Sum``."""

from __future__ import annotations

import functools
import numbers
import operator

import numpy as np

from svertka import checks
from svertka import initializers as initializers_mod
from svertka.autograd import Tensor
from svertka.backend import get_array_module, to_numpy
from svertka.naming import snake_case
from svertka.ops.losses import class_ids, same_rank

EPSILON = 1e-7  # Keras's backend.epsilon(): MAPE's floor on |y_true|, AUC's end thresholds
NEG_INF = -1e10  # Keras's score for the classes outside the top k


def _array(a, xp):
    """``a`` as an array of the module ``xp`` (moves NumPy labels to the GPU with CuPy preds)."""
    if isinstance(a, Tensor):
        a = a.data
    elif isinstance(a, MetricVariable):
        a = a.value
    return xp.asarray(a)


def _pair(y_true, y_pred):
    y_pred = y_pred.data if isinstance(y_pred, Tensor) else y_pred
    xp = get_array_module(y_pred) if hasattr(y_pred, "shape") else np
    return _array(y_true, xp), _array(y_pred, xp), xp


def _host(a) -> np.ndarray:
    """A NumPy array from a Tensor, a metric variable, a CuPy array or anything array-like."""
    if isinstance(a, Tensor):
        a = a.data
    elif isinstance(a, MetricVariable):
        a = a.value
    return to_numpy(a)


def _divide_no_nan(a, b):
    """``a / b`` with 0 where ``b`` is 0 (Keras's ``ops.divide_no_nan``)."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    out = np.zeros(a.shape)
    np.divide(a, b, out=out, where=b != 0)
    return out


def _sparse_targets(owner: str, t, p):
    """Class ids ``t`` of shape (N,) or (N, 1) checked against predictions ``p`` (N, K): whole
    numbers in [0, K), as int64 (a label 2.9 is an error, not class 2)."""
    if t.ndim == p.ndim and t.ndim > 0 and t.shape[-1] == 1:
        t = t[..., 0]
    if p.ndim < 1 or t.shape != p.shape[:-1]:
        raise ValueError(
            f"{owner}: argument 'y_true' must hold one class id per sample, shape "
            f"{tuple(p.shape[:-1])} or {tuple(p.shape[:-1]) + (1,)} for 'y_pred' of shape "
            f"{tuple(p.shape)}, received {tuple(t.shape)}"
        )
    return class_ids(owner, "y_true", t, p.shape[-1])


def _plain(value):
    """A metric result as fit's logs hold it: a Python float for a scalar, a NumPy array
    otherwise, a dict of those for a dict (whatever ``result()`` returned: a variable, a
    Tensor, a NumPy or CuPy array, a number)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, numbers.Number):
        return float(value)
    a = _host(value)
    return float(a) if a.ndim == 0 else a.astype(float)


class MetricVariable:
    """A metric's state, made by ``Metric.add_variable``: a NumPy array of a fixed shape with
    Keras's variable methods (``assign``, ``assign_add``, ``assign_sub``, ``numpy()``,
    ``.value``, ``.shape``, ``.dtype``, ``.name``). Arithmetic, comparisons, indexing and
    ``np.asarray`` act on its value, so ``v.assign(v + x)`` works as in Keras.

    >>> v = Metric().add_variable(shape=(2,), initializer="ones", name="hits")
    >>> v.assign_add([1.0, 2.0])
    >>> v.numpy(), float(v[1] * 2)
    (array([2., 3.], dtype=float32), 6.0)
    """

    trainable = False

    def __init__(self, value, name: str, initializer):
        self._value = value
        self.name = name
        self.initializer = initializer

    @property
    def value(self) -> np.ndarray:
        return self._value

    @property
    def shape(self) -> tuple:
        return self._value.shape

    @property
    def dtype(self) -> str:
        return str(self._value.dtype)

    def numpy(self) -> np.ndarray:
        return self._value.copy()

    def assign(self, value) -> None:
        """Replace the value; a scalar fills every element, any other shape must match."""
        a = _host(value).astype(self._value.dtype)
        if a.shape != self.shape:
            if a.size != 1:
                raise ValueError(
                    f"MetricVariable '{self.name}': assign expects a value of shape "
                    f"{self.shape} (or a scalar), received shape {a.shape}"
                )
            a = np.full(self.shape, a.reshape(()), dtype=a.dtype)
        self._value = a

    def assign_add(self, value) -> None:
        self.assign(self._value + _host(value))

    def assign_sub(self, value) -> None:
        self.assign(self._value - _host(value))

    def __array__(self, dtype=None, copy=None):
        return self._value if dtype is None else self._value.astype(dtype)

    def __float__(self) -> float:
        return float(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __getitem__(self, key):
        return self._value[key]

    def __repr__(self) -> str:
        return f"<MetricVariable name={self.name} shape={self.shape} dtype={self.dtype}>"


def _binary(op, reflected=False):
    def method(self, other):
        other = _host(other) if isinstance(other, (Tensor, MetricVariable)) else other
        return op(other, self._value) if reflected else op(self._value, other)
    return method


for _name, _op in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("pow", operator.pow), ("mod", operator.mod)):
    setattr(MetricVariable, f"__{_name}__", _binary(_op))
    setattr(MetricVariable, f"__r{_name}__", _binary(_op, reflected=True))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(MetricVariable, f"__{_name}__", _binary(getattr(operator, _name)))
MetricVariable.__neg__ = lambda self: -self._value
MetricVariable.__abs__ = lambda self: abs(self._value)
MetricVariable.__hash__ = object.__hash__


class Metric:
    """Base class, as Keras 3's ``keras.metrics.Metric``: state in ``add_variable`` variables,
    ``update_state`` to add a batch, ``result`` to read, ``reset_state`` to start again.

    Subclass it the Keras way: call ``super().__init__(name=name, **kwargs)`` first, make the
    state with ``self.add_variable(shape=(), initializer="zeros", name=...)``, override
    ``update_state(y_true, y_pred, sample_weight=None)`` and ``result()``. The default
    ``reset_state`` sets every variable (those of metrics held as attributes too) to zeros,
    as Keras's does (not back to its initializer). Whatever ``result`` returns (a variable,
    a Tensor, an array) reaches callers as a Python float, or an array if not a scalar.

    >>> class Hits(Metric):
    ...     def __init__(self, name="hits", **kwargs):
    ...         super().__init__(name=name, **kwargs)
    ...         self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
    ...     def update_state(self, y_true, y_pred, sample_weight=None):
    ...         self.hits.assign_add(np.sum(np.asarray(y_true) == (y_pred > 0.5)))
    ...     def result(self):
    ...         return self.hits
    >>> m = Hits()
    >>> m.update_state([1, 0, 1], np.array([0.9, 0.2, 0.1]))
    >>> m.result()
    2.0
    """

    def __init__(self, dtype=None, name: str | None = None):
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"{type(self).__name__}: argument 'name' must be a string, "
                f"received {type(name).__name__}"
            )
        default = getattr(type(self), "default_name", None) or snake_case(type(self).__name__)
        self.name = name or default
        self._dtype = _dtype_name(type(self).__name__, dtype)
        self._variables: list[MetricVariable] = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("result")
        if fn is not None and not getattr(fn, "_plain_result", False):
            @functools.wraps(fn)
            def result(self):
                return _plain(fn(self))

            result._plain_result = True
            cls.result = result

    @property
    def dtype(self) -> str:
        """The dtype of the result, as in Keras (``'float32'`` by default)."""
        return self._dtype

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name: str | None = None) -> MetricVariable:
        """A state variable of ``shape`` set by ``initializer`` (a name such as ``'zeros'`` or
        ``'ones'``, a number or a callable ``(shape, dtype) -> array``), of the metric's
        dtype unless ``dtype`` is given. ``aggregation`` is accepted for Keras's signature
        (svertka trains on one device)."""
        where = f"{type(self).__name__}.add_variable"
        if not hasattr(self, "_variables"):
            raise RuntimeError(
                f"{where}: call super().__init__() in {type(self).__name__}.__init__ "
                f"before making variables"
            )
        if isinstance(shape, numbers.Integral):
            shape = (shape,)
        try:
            shape = tuple(int(checks.non_negative_int(where, "shape", d)) for d in shape)
        except TypeError:
            raise TypeError(f"{where}: argument 'shape' must be a tuple of non-negative "
                            f"ints, received {shape!r}") from None
        dtype = _dtype_name(where, dtype or self._dtype)
        if initializer is None:
            initializer = "zeros"
        if isinstance(initializer, numbers.Number) and not isinstance(initializer, bool):
            value = np.full(shape, initializer, dtype=dtype)
        else:
            value = np.asarray(_host(initializers_mod.get(initializer)(shape, dtype)))
            if value.shape != shape:
                raise ValueError(f"{where}: initializer {initializer!r} gave shape "
                                 f"{value.shape}, expected {shape}")
        variable = MetricVariable(value.astype(dtype), name or "variable", initializer)
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None) -> MetricVariable:
        """Keras's older name for ``add_variable``."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list[MetricVariable]:
        """This metric's variables, then those of the metrics it holds as attributes."""
        out = list(self.__dict__.get("_variables", []))
        for value in self.__dict__.values():
            if isinstance(value, Metric) and value is not self:
                out.extend(value.variables)
        return out

    def reset_state(self) -> None:
        """Forget every batch seen so far (``fit`` calls this at the start of each epoch)."""
        for v in self.variables:
            v.assign(np.zeros(v.shape))

    def update_state(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"{type(self).__name__}: override update_state()")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__}: override result()")

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the running result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        try:
            config = self.get_config()
        except Exception:  # a subclass whose get_config needs more than its constructor
            config = {"name": self.name}
        config.pop("dtype", None)
        args = ", ".join(f"{k}={v!r}" for k, v in config.items())
        return f"{type(self).__name__}({args})"


def _dtype_name(where: str, dtype) -> str:
    if dtype is None:
        return "float32"
    if isinstance(dtype, dict) and isinstance(dtype.get("config"), dict):  # a Keras policy
        dtype = dtype["config"].get("name")
    try:
        return str(np.dtype(dtype))
    except TypeError:
        raise TypeError(f"{where}: argument 'dtype' must be a NumPy dtype or its name, "
                        f"received {dtype!r}") from None


def _reduce_samplewise(owner: str, values, sample_weight, reduce="mean"):
    """Keras's ``reduce_to_samplewise_values``: per-sample values (N,) (means, or sums with
    ``reduce="sum"``, over the extra axes) times their weights, and the weight of each sample
    (None without weights)."""
    xp = get_array_module(values)
    values = values.astype(float)
    w = None
    if sample_weight is not None:
        w = _array(sample_weight, xp).astype(float)
        values, w = same_rank(values, w)
        if values.ndim > w.ndim:
            values = getattr(values, reduce)(axis=tuple(range(w.ndim, values.ndim)))
        elif values.ndim == 0 and w.ndim == 1:  # one batch value standing for N samples
            values = xp.broadcast_to(values, w.shape)
        try:
            w = xp.broadcast_to(w, values.shape)
        except ValueError:
            raise ValueError(
                f"{owner}: argument 'sample_weight' must broadcast to the values' shape "
                f"{tuple(values.shape)} (one weight per sample), received shape "
                f"{tuple(w.shape)}"
            ) from None
        values = values * w
        if w.ndim > 1:
            w = getattr(w, reduce)(axis=tuple(range(1, w.ndim)))
    if values.ndim > 1:
        values = getattr(values, reduce)(axis=tuple(range(1, values.ndim)))
    return values, w


class Mean(Metric):
    """Running (weighted) mean; ``fit`` uses it for the epoch loss.

    ``update_state(values, sample_weight=None)``, as Keras: an array ``(N, ...)`` adds one
    value per sample (the mean of its extra axes), each weighing 1 or its weight; a scalar
    counts as one sample (with ``sample_weight=batch_size`` it stands for the whole batch,
    so a short last batch counts less). ``total`` and ``count`` read the sums as floats.

    >>> m = Mean(name="loss")
    >>> m.update_state(1.0, sample_weight=3)
    >>> m.update_state(3.0, sample_weight=1)
    >>> m.result()
    1.5
    """

    default_name = "mean"

    def __init__(self, name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        # float64 sums whatever the result's dtype: an epoch of float32 losses adds up exactly
        self._total = self.add_variable((), "zeros", dtype="float64", name="total")
        self._count = self.add_variable((), "zeros", dtype="float64", name="count")

    @property
    def total(self) -> float:
        return float(self._total.value)

    @total.setter
    def total(self, value) -> None:
        self._total.assign(value)

    @property
    def count(self) -> float:
        return float(self._count.value)

    @count.setter
    def count(self, value) -> None:
        self._count.assign(value)

    def update_state(self, values, sample_weight=None) -> None:
        values = _host(values) if isinstance(values, MetricVariable) else values
        values = values.data if isinstance(values, Tensor) else values
        xp = get_array_module(values) if hasattr(values, "shape") else np
        values, w = _reduce_samplewise(type(self).__name__, xp.asarray(values), sample_weight)
        self._total.assign_add(float(values.sum()))
        n = float(w.sum()) if w is not None else (values.shape[0] if values.ndim else 1)
        self._count.assign_add(n)

    def result(self) -> float:
        """The mean so far (0.0 before any sample, as Keras)."""
        return self.total / self.count if self.count else 0.0


class Sum(Metric):
    """Running (weighted) sum, as ``keras.metrics.Sum``.

    >>> m = Sum()
    >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    >>> m.result()
    4.0
    """

    default_name = "sum"

    def __init__(self, name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", dtype="float64", name="total")

    def update_state(self, values, sample_weight=None) -> None:
        values = _host(values)
        values, _ = _reduce_samplewise(type(self).__name__, values, sample_weight, "sum")
        self.total.assign_add(float(values.sum()))

    def result(self) -> float:
        return float(self.total)


class _SampleMean(Mean):
    """A mean of per-sample values ``self._values(y_true, y_pred)``, shape ``(N, ...)``."""

    def _values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add one batch: its per-sample values, each weighing 1 (or ``sample_weight``)."""
        super().update_state(self._values(y_true, y_pred), sample_weight)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


