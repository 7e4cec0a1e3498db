"""Accuracies (categorical, sparse, binary, top-k) and ``MeanMetricWrapper`` for any function."""

from __future__ import annotations

import numpy as np

from svertka import checks
from svertka.autograd import Tensor
from svertka.backend import get_array_module
from svertka.metrics.base import (
    Metric,
    MetricVariable,
    _host,
    _pair,
    _SampleMean,
    _sparse_targets,
)
from svertka.naming import snake_case
from svertka.ops.losses import same_rank


class CategoricalAccuracy(_SampleMean):
    """Share of samples whose predicted class (argmax of ``y_pred``) is the argmax of the
    one-hot (or soft) ``y_true``; both ``(N, K)``.

    >>> import numpy as np
    >>> CategoricalAccuracy()([[0, 1], [1, 0]], np.array([[0.2, 0.8], [0.3, 0.7]]))
    0.5
    """

    default_name = "categorical_accuracy"

    def _values(self, y_true, y_pred):
        t, p, xp = _pair(y_true, y_pred)
        if t.shape != p.shape or p.ndim < 1:
            raise ValueError(
                f"{type(self).__name__}: arguments 'y_true' and 'y_pred' must have "
                f"the same shape (N, K), received {tuple(t.shape)} and "
                f"{tuple(p.shape)}"
            )
        return xp.argmax(t, axis=-1) == xp.argmax(p, axis=-1)


class SparseCategoricalAccuracy(_SampleMean):
    """Share of samples whose predicted class (argmax of ``y_pred`` (N, K)) equals the integer
    label ``y_true`` (N,) or (N, 1).

    >>> import numpy as np
    >>> SparseCategoricalAccuracy()([1, 0], np.array([[0.2, 0.8], [0.3, 0.7]]))
    0.5
    """

    default_name = "sparse_categorical_accuracy"

    def _values(self, y_true, y_pred):
        t, p, xp = _pair(y_true, y_pred)
        t = _sparse_targets(type(self).__name__, t, p)
        return xp.argmax(p, axis=-1) == t


class BinaryAccuracy(_SampleMean):
    """Share of entries where ``y_pred > threshold`` equals the 0/1 ``y_true``.

    Use ``threshold=0`` when the model outputs logits rather than sigmoid probabilities.
    ``(N,)`` and ``(N, 1)`` are interchangeable; with several outputs per sample the entries
    of a sample are averaged first.

    >>> import numpy as np
    >>> BinaryAccuracy()([1, 0, 1, 1], np.array([0.9, 0.4, 0.2, 0.6]))
    0.75
    """

    default_name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5, name: str | None = None, dtype=None):
        self.threshold = checks.finite_float("BinaryAccuracy", "threshold", threshold)
        super().__init__(name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        t, p, _ = _pair(y_true, y_pred)
        t, p = same_rank(t, p, expand_rank_1=False)
        if t.shape != p.shape:
            raise ValueError(
                f"BinaryAccuracy: arguments 'y_true' and 'y_pred' must have the "
                f"same shape, received {tuple(t.shape)} and {tuple(p.shape)}"
            )
        if p.ndim == 0:
            t, p = t.reshape(1), p.reshape(1)
        return t == (p > self.threshold)

    def get_config(self) -> dict:
        return {"threshold": self.threshold, "name": self.name, "dtype": self.dtype}


def _in_top_k(p, target, k, xp):
    """Whether class ``target`` (N,) is among the first k of a stable descending sort of ``p``
    (N, K): fewer than k classes rank before it, those ranking before being strictly larger,
    or equal with a smaller index (NaN counting as the largest value, as ``argmax``)."""
    classes = xp.arange(p.shape[-1])
    s = xp.take_along_axis(p, target[..., None], axis=-1)  # (N, 1): the target's score
    p_nan, s_nan = xp.isnan(p), xp.isnan(s)
    greater = (p > s) | (p_nan & ~s_nan)
    equal = (p == s) | (p_nan & s_nan)
    before = greater | (equal & (classes < target[..., None]))
    return before.sum(axis=-1) < k


class SparseTopKCategoricalAccuracy(_SampleMean):
    """Share of samples whose integer label is among the k highest scores of ``y_pred``.

    >>> import numpy as np
    >>> SparseTopKCategoricalAccuracy(k=2)([2, 0], np.array([[0.1, 0.5, 0.4], [0.1, 0.5, 0.4]]))
    0.5
    """

    default_name = "sparse_top_k_categorical_accuracy"

    def __init__(self, k: int = 5, name: str | None = None, dtype=None):
        self.k = checks.positive_int(type(self).__name__, "k", k)
        super().__init__(name=name, dtype=dtype)

    def _targets(self, t, p, xp):
        return _sparse_targets(type(self).__name__, t, p)

    def _values(self, y_true, y_pred):
        t, p, xp = _pair(y_true, y_pred)
        return _in_top_k(p, self._targets(t, p, xp), self.k, xp)

    def get_config(self) -> dict:
        return {"k": self.k, "name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(SparseTopKCategoricalAccuracy):
    """Share of samples whose one-hot class (argmax of ``y_true``) is among the k highest
    scores of ``y_pred``; both ``(N, K)``.

    >>> import numpy as np
    >>> TopKCategoricalAccuracy(k=1)([[0, 1], [1, 0]], np.array([[0.2, 0.8], [0.3, 0.7]]))
    0.5
    """

    default_name = "top_k_categorical_accuracy"

    def _targets(self, t, p, xp):
        if t.shape != p.shape or p.ndim < 1:
            raise ValueError(
                f"{type(self).__name__}: arguments 'y_true' and 'y_pred' must have "
                f"the same shape (N, K), received {tuple(t.shape)} and "
                f"{tuple(p.shape)}"
            )
        return xp.argmax(t, axis=-1)


class MeanMetricWrapper(_SampleMean):
    """Wraps a function ``fn(y_true, y_pred, **kwargs)`` returning per-sample values (or one
    value for the batch, which then counts as one sample, as in Keras) as a mean metric: how
    ``compile(metrics=[fn])`` takes a plain function. ``fn`` gets NumPy arrays and may return
    an array, a Tensor or a number. The name defaults to the function's, in snake case (Keras
    names it so in ``compile``); ``kwargs`` are passed on to ``fn``.

    >>> def abs_error(y_true, y_pred):
    ...     return np.abs(np.asarray(y_true) - y_pred)
    >>> m = MeanMetricWrapper(abs_error)
    >>> m.update_state([0.0, 1.0], np.array([1.0, 1.0]))
    >>> m.name, m.result()
    ('abs_error', 0.5)
    """

    def __init__(self, fn, name: str | None = None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: argument 'fn' must be callable, received "
                            f"{type(fn).__name__}")
        self.fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or _function_name(fn), dtype=dtype)

    def _values(self, y_true, y_pred):
        values = self.fn(y_true, y_pred, **self._fn_kwargs)
        values = _host(values) if isinstance(values, MetricVariable) else values
        values = values.data if isinstance(values, Tensor) else values
        xp = get_array_module(values) if hasattr(values, "shape") else np
        return xp.asarray(values, dtype=float)

    def get_config(self) -> dict:
        """The function by its name (resolved again by ``from_config`` among this module's
        functions, or through ``deserialize(custom_objects=...)``): a name, never code."""
        return {"name": self.name, "dtype": self.dtype, "fn": _function_name(self.fn),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict) -> MeanMetricWrapper:
        from svertka.metrics import FUNCTIONS  # the registry, built after this module

        config = dict(config)
        fn = config.pop("fn")
        if isinstance(fn, str):
            if fn not in FUNCTIONS:
                raise ValueError(
                    f"MeanMetricWrapper.from_config: function {fn!r} is not one of "
                    f"{sorted(FUNCTIONS)}; pass it with deserialize(custom_objects=...)"
                )
            fn = FUNCTIONS[fn]
        return cls(fn, **config)


def _function_name(fn) -> str:
    """Keras's ``get_object_name`` for a function: its ``__name__`` in snake case."""
    if hasattr(fn, "__name__"):
        return snake_case(fn.__name__)
    return snake_case(type(fn).__name__)


class _AutoAccuracy(_SampleMean):
    """'accuracy' with an unknown loss: chooses binary, sparse or categorical accuracy from the
    shapes of the first batch, as Keras does, then keeps that choice."""

    default_name = "accuracy"

    def __init__(self, name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._chosen: list[Metric] = []  # in a list: only its rule is used, not its state

    @property
    def inner(self) -> Metric | None:
        return self._chosen[0] if self._chosen else None

    def _values(self, y_true, y_pred):
        if not self._chosen:
            t, p, _ = _pair(y_true, y_pred)
            if p.ndim <= 1 or p.shape[-1] == 1:
                self._chosen.append(BinaryAccuracy(name=self.name))
            elif t.ndim < p.ndim or t.shape[-1] == 1:
                self._chosen.append(SparseCategoricalAccuracy(name=self.name))
            else:
                self._chosen.append(CategoricalAccuracy(name=self.name))
        return self.inner._values(y_true, y_pred)

    def __repr__(self) -> str:
        chosen = type(self.inner).__name__ if self.inner else "undecided"
        return f"Accuracy(name={self.name!r}, {chosen})"


