"""Keras-style metrics: stateful objects that accumulate over the batches of an epoch.

``fit`` calls ``update_state(y_true, y_pred)`` after every batch and ``result()`` at the end
of the epoch, then ``reset_state()``. They work on plain arrays (NumPy or CuPy), not on
Tensors: ``y_true`` as the user gave it, ``y_pred`` the model's output. Each batch counts by
its number of samples, so the epoch result is the accuracy over all samples, whatever the size
of the last batch.

Shapes: ``N`` samples, ``K`` classes. One-hot targets are ``(N, K)``, class ids ``(N,)`` or
``(N, 1)``; extra middle axes (a segmentation map ``(N, H, W, K)``) are averaged per sample.

Ties: the predicted class is the first maximal score, as ``numpy.argmax`` (NaN counts as the
largest value, again as ``argmax``). The top-k metrics rank with the same rule, a stable sort,
so ``k=1`` gives exactly the argmax accuracy. (``tf.math.in_top_k`` instead counts every class
tied with the k-th score as inside, which scores a constant output as 100% correct.)

>>> import numpy as np
>>> m = get("accuracy", loss="sparse_categorical_crossentropy")
>>> m.update_state([0, 1], np.array([[0.9, 0.1], [0.8, 0.2]]))
>>> m.update_state([1], np.array([[0.3, 0.7]]))
>>> m.name, round(m.result(), 4)
('accuracy', 0.6667)
"""

from __future__ import annotations

import functools
import re

import numpy as np

from svertka import checks
from svertka.autograd import Tensor
from svertka.backend import get_array_module
from svertka.ops.losses import class_ids


def _array(a, xp):
    """``a`` as an array of the module ``xp`` (moves NumPy labels to the GPU with CuPy preds)."""
    if isinstance(a, Tensor):
        a = a.data
    return xp.asarray(a)


def _pair(y_true, y_pred):
    y_pred = y_pred.data if isinstance(y_pred, Tensor) else y_pred
    xp = get_array_module(y_pred) if hasattr(y_pred, "shape") else np
    return _array(y_true, xp), _array(y_pred, xp), xp


def _same_rank(y_true, y_pred):
    """Drop a trailing axis of length 1 from whichever side has one more axis ((N, 1) vs (N,))."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    return y_true, y_pred


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


class Metric:
    """Base class: a weighted running mean of per-sample values.

    Subclasses implement ``_values(y_true, y_pred)`` returning one value per sample, shape
    ``(N, ...)``; trailing axes are averaged within each sample. ``update_state`` accepts an
    optional ``sample_weight`` of shape ``(N,)`` (Keras's weighted mean).
    """

    default_name = "metric"

    def __init__(self, name: str | None = None):
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"{type(self).__name__}: argument 'name' must be a string, "
                f"received {type(name).__name__}"
            )
        self.name = name or self.default_name
        self.reset_state()

    def reset_state(self) -> None:
        """Forget every batch seen so far (``fit`` calls this at the start of each epoch)."""
        self.total = 0.0
        self.count = 0.0

    def _values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add one batch: its per-sample values, each weighing 1 (or ``sample_weight``)."""
        values = self._values(y_true, y_pred)
        self._accumulate(values, sample_weight)

    def _accumulate(self, values, sample_weight) -> None:
        xp = get_array_module(values)
        n = values.shape[0] if values.ndim else 1
        if values.ndim > 1:  # (N, ...): each sample weighs 1 whatever its number of pixels
            values = values.mean(axis=tuple(range(1, values.ndim)))
        values = values.reshape(n)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += n
            return
        w = _array(sample_weight, xp).astype(float).reshape(-1)
        if w.shape[0] == 1:
            w = xp.broadcast_to(w, (n,))
        if w.shape[0] != n:
            raise ValueError(
                f"{type(self).__name__}: argument 'sample_weight' must hold one "
                f"weight per sample ({n}), received shape {tuple(w.shape)}"
            )
        self.total += float((values * w).sum())
        self.count += float(w.sum())

    def result(self) -> float:
        """The mean so far, as a Python float (0.0 before any sample, as Keras)."""
        return self.total / self.count if self.count else 0.0

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        """Update with one batch and return the running result."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Mean(Metric):
    """Running (weighted) mean of scalars or arrays; ``fit`` uses it for the epoch loss.

    ``update_state(values, sample_weight=None)``: a scalar batch loss is passed with
    ``sample_weight=batch_size`` so a short last batch counts less; an array adds all its
    elements, each weighing 1 (or its weight).

    >>> m = Mean(name="loss")
    >>> m.update_state(1.0, sample_weight=3)
    >>> m.update_state(3.0, sample_weight=1)
    >>> m.result()
    1.5
    """

    default_name = "mean"

    def update_state(self, values, sample_weight=None) -> None:
        values = values.data if isinstance(values, Tensor) else values
        xp = get_array_module(values) if hasattr(values, "shape") else np
        v = xp.asarray(values, dtype=float).reshape(-1)
        if sample_weight is None:
            self.total += float(v.sum())
            self.count += v.shape[0]
            return
        w = _array(sample_weight, xp).astype(float).reshape(-1)
        if v.shape[0] == 1:  # one value standing for w.size samples
            v = xp.broadcast_to(v, w.shape)
        elif w.shape[0] == 1:
            w = xp.broadcast_to(w, v.shape)
        if v.shape != w.shape:
            raise ValueError(
                f"Mean: argument 'sample_weight' must be a scalar or hold one weight "
                f"per value ({v.shape[0]}), received {w.shape[0]}"
            )
        self.total += float((v * w).sum())
        self.count += float(w.sum())

    def __call__(self, values, sample_weight=None) -> float:
        self.update_state(values, sample_weight)
        return self.result()


class CategoricalAccuracy(Metric):
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


class SparseCategoricalAccuracy(Metric):
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


class BinaryAccuracy(Metric):
    """Share of entries where ``y_pred > threshold`` equals the 0/1 ``y_true``.

    Use ``threshold=0`` when the model outputs logits rather than sigmoid probabilities.
    ``(N,)`` and ``(N, 1)`` are interchangeable; with several outputs per sample the entries
    of a sample are averaged first.

    >>> import numpy as np
    >>> BinaryAccuracy()([1, 0, 1, 1], np.array([0.9, 0.4, 0.2, 0.6]))
    0.75
    """

    default_name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5, name: str | None = None):
        self.threshold = checks.finite_float("BinaryAccuracy", "threshold", threshold)
        super().__init__(name)

    def _values(self, y_true, y_pred):
        t, p, _ = _pair(y_true, y_pred)
        t, p = _same_rank(t, p)
        if t.shape != p.shape:
            raise ValueError(
                f"BinaryAccuracy: arguments 'y_true' and 'y_pred' must have the "
                f"same shape, received {tuple(t.shape)} and {tuple(p.shape)}"
            )
        if p.ndim == 0:
            t, p = t.reshape(1), p.reshape(1)
        return t == (p > self.threshold)

    def get_config(self) -> dict:
        return {"threshold": self.threshold, "name": self.name}


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


class SparseTopKCategoricalAccuracy(Metric):
    """Share of samples whose integer label is among the k highest scores of ``y_pred``.

    >>> import numpy as np
    >>> SparseTopKCategoricalAccuracy(k=2)([2, 0], np.array([[0.1, 0.5, 0.4], [0.1, 0.5, 0.4]]))
    0.5
    """

    default_name = "sparse_top_k_categorical_accuracy"

    def __init__(self, k: int = 5, name: str | None = None):
        self.k = checks.positive_int(type(self).__name__, "k", k)
        super().__init__(name)

    def _targets(self, t, p, xp):
        return _sparse_targets(type(self).__name__, t, p)

    def _values(self, y_true, y_pred):
        t, p, xp = _pair(y_true, y_pred)
        return _in_top_k(p, self._targets(t, p, xp), self.k, xp)

    def get_config(self) -> dict:
        return {"k": self.k, "name": self.name}


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


class MeanMetricWrapper(Metric):
    """Wraps a function ``fn(y_true, y_pred) -> per-sample values`` as a metric (how Keras
    accepts plain functions in ``metrics=[...]``)."""

    def __init__(self, fn, name: str | None = None):
        if not callable(fn):
            raise TypeError(
                f"MeanMetricWrapper: argument 'fn' must be callable, received {type(fn).__name__}"
            )
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def _values(self, y_true, y_pred):
        values = self.fn(y_true, y_pred)
        values = values.data if isinstance(values, Tensor) else values
        xp = get_array_module(values) if hasattr(values, "shape") else np
        values = xp.asarray(values, dtype=float)
        return values.reshape(1) if values.ndim == 0 else values

    def get_config(self) -> dict:
        return {"fn": self.fn, "name": self.name}


class _AutoAccuracy(Metric):
    """'accuracy' with an unknown loss: chooses binary, sparse or categorical accuracy from the
    shapes of the first batch, as Keras does, then keeps that choice."""

    default_name = "accuracy"

    def __init__(self, name: str | None = None):
        self.inner: Metric | None = None
        super().__init__(name)

    def _values(self, y_true, y_pred):
        if self.inner is None:
            t, p, _ = _pair(y_true, y_pred)
            if p.ndim <= 1 or p.shape[-1] == 1:
                self.inner = BinaryAccuracy(name=self.name)
            elif t.ndim < p.ndim or t.shape[-1] == 1:
                self.inner = SparseCategoricalAccuracy(name=self.name)
            else:
                self.inner = CategoricalAccuracy(name=self.name)
        return self.inner._values(y_true, y_pred)

    def __repr__(self) -> str:
        chosen = type(self.inner).__name__ if self.inner else "undecided"
        return f"Accuracy(name={self.name!r}, {chosen})"


_BY_NAME = {
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
}
_ACCURACY_FOR_LOSS = {
    "categorical_crossentropy": CategoricalAccuracy,
    "cce": CategoricalAccuracy,
    "sparse_categorical_crossentropy": SparseCategoricalAccuracy,
    "scce": SparseCategoricalAccuracy,
    "binary_crossentropy": BinaryAccuracy,
    "bce": BinaryAccuracy,
}


def _loss_name_and_logits(loss) -> tuple[str | None, bool]:
    """The snake_case name of a loss (string, function, partial or object) and whether it was
    configured with ``from_logits=True``."""
    if loss is None:
        return None, False
    if isinstance(loss, str):
        return loss.lower(), False
    from_logits = bool(getattr(loss, "from_logits", False))
    if isinstance(loss, functools.partial):
        from_logits = bool(loss.keywords.get("from_logits", from_logits))
        loss = loss.func
    name = getattr(loss, "__name__", None) or type(loss).__name__
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return name, from_logits


def get(identifier, loss=None) -> Metric:
    """Resolve a metric identifier as ``compile(metrics=[...])`` does in Keras.

    - ``'accuracy'`` / ``'acc'``: the accuracy that fits ``loss`` (a name, a loss function or
      a loss object): categorical for ``categorical_crossentropy``, sparse for
      ``sparse_categorical_crossentropy``, binary for ``binary_crossentropy`` (threshold 0
      when the loss takes logits). Any other loss (``softmax_cross_entropy`` takes both label
      forms) decides from the first batch: a one-column output is binary, labels with fewer
      axes or one column are sparse, labels shaped as the output are categorical. The metric
      keeps the name it was asked by (``'accuracy'`` or ``'acc'``), so the logs read
      ``accuracy`` / ``val_accuracy`` as in Keras.
    - ``'categorical_accuracy'``, ``'sparse_categorical_accuracy'``, ``'binary_accuracy'``,
      ``'top_k_categorical_accuracy'``, ``'sparse_top_k_categorical_accuracy'``: that metric.
    - a ``Metric`` instance: returned as it is; a plain function ``fn(y_true, y_pred)``:
      wrapped in ``MeanMetricWrapper``.

    >>> get("accuracy", loss="categorical_crossentropy")
    CategoricalAccuracy(name='accuracy')
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            loss_name, from_logits = _loss_name_and_logits(loss)
            cls = _ACCURACY_FOR_LOSS.get(loss_name)
            if cls is BinaryAccuracy:
                return BinaryAccuracy(name=identifier, threshold=0.0 if from_logits else 0.5)
            return cls(name=identifier) if cls else _AutoAccuracy(name=identifier)
        if key in _BY_NAME:
            return _BY_NAME[key]()
        known = ["accuracy", "acc", *_BY_NAME]
        raise ValueError(
            f"metrics.get: argument 'identifier' must be one of {known}, a Metric "
            f"instance or a function, received {identifier!r}"
        )
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(
        f"metrics.get: argument 'identifier' must be a metric name, a Metric "
        f"instance or a function, received {type(identifier).__name__}"
    )


__all__ = [
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "Mean",
    "MeanMetricWrapper",
    "Metric",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "get",
]
