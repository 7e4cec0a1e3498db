"""Keras-style metrics: stateful objects that accumulate over the batches of an epoch.

``fit`` calls ``update_state(y_true, y_pred)`` after every batch and ``result()`` at the end
of the epoch, then ``reset_state()``. They work on plain arrays (NumPy or CuPy), not on
Tensors: ``y_true`` as the user gave it, ``y_pred`` the model's output. ``result()`` is a
Python float (an array for a metric with several thresholds), where Keras gives a tensor.

As in Keras 3, a ``Metric`` keeps its state in variables made by ``add_variable`` (each with
``assign``, ``assign_add``, ``numpy()``), so a metric written for Keras runs unchanged:
override ``update_state(y_true, y_pred, sample_weight=None)`` and ``result()``; the default
``reset_state()`` sets every variable to zeros, as Keras's does.

Families, with Keras's names, defaults and results:

- means of a per-sample value: the accuracies, ``MeanSquaredError``, ``MeanAbsoluteError``,
  ``MeanAbsolutePercentageError``, ``MeanSquaredLogarithmicError``, ``RootMeanSquaredError``
  and any function ``fn(y_true, y_pred)`` (``MeanMetricWrapper``). Each batch counts by its
  number of samples (or the sum of ``sample_weight``), so the epoch result is the mean over
  all samples, whatever the size of the last batch; extra axes (a segmentation map
  ``(N, H, W, K)``) are averaged within each sample first.
- confusion counts over thresholds: ``Precision``, ``Recall``, ``AUC``.

Shapes: ``N`` samples, ``K`` classes. One-hot targets are ``(N, K)``, class ids ``(N,)`` or
``(N, 1)``.

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

from svertka.metrics.accuracy import (
    BinaryAccuracy,
    CategoricalAccuracy,
    MeanMetricWrapper,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    _AutoAccuracy,
)
from svertka.metrics.base import Mean, Metric, MetricVariable, Sum
from svertka.metrics.confusion import AUC, Precision, Recall
from svertka.metrics.regression import (
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from svertka.naming import snake_case

CLASSES = {cls.__name__: cls for cls in (
    Mean, Sum, MeanMetricWrapper, CategoricalAccuracy, SparseCategoricalAccuracy,
    BinaryAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    RootMeanSquaredError, Precision, Recall, AUC)}
FUNCTIONS = {fn.__name__: fn for fn in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error)}
# Keras's names: each class by its name and in snake case, and the short aliases
_BY_NAME = {
    **{name.lower(): cls for name, cls in CLASSES.items()},
    **{snake_case(name): cls for name, cls in CLASSES.items()},
    "mse": MeanSquaredError, "mae": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
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
    - any other of Keras's names, in any case: a class's (``'AUC'``, ``'Precision'``), its
      snake case (``'mean_squared_error'``, ``'categorical_accuracy'``) or an alias
      (``'mse'``, ``'mae'``, ``'mape'``, ``'msle'``). As in Keras's ``compile``, the metric is
      named by the string asked for, so ``'mse'`` logs as ``mse``.
    - a ``Metric`` instance: returned as it is; a ``Metric`` class: made with its defaults;
      a ``{"class_name": ..., "config": ...}`` dict: ``deserialize``d;
    - any other callable ``fn(y_true, y_pred)``: wrapped in ``MeanMetricWrapper`` and named
      ``fn.__name__`` (in snake case, as Keras).

    >>> get("accuracy", loss="categorical_crossentropy")
    CategoricalAccuracy(name='accuracy')
    >>> get("mse")
    MeanSquaredError(name='mse')
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
        cls = _BY_NAME.get(key)
        if cls is not None and cls is not MeanMetricWrapper:
            return cls(name=identifier)
        known = ["accuracy", "acc", *sorted({snake_case(n) for n in CLASSES} - {
            "mean_metric_wrapper"}), "mse", "mae", "mape", "msle"]
        raise ValueError(
            f"metrics.get: argument 'identifier' must be one of {known} (any case), a "
            f"Metric instance or a function, received {identifier!r}"
        )
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(
        f"metrics.get: argument 'identifier' must be a metric name, a Metric "
        f"instance or a function, received {type(identifier).__name__}"
    )


def serialize(metric) -> dict | str:
    """A metric as JSON data: ``{"class_name": ..., "config": get_config()}`` for a
    ``Metric``, the name of one of this module's functions for such a function (as Keras).

    >>> serialize(AUC(curve="PR"))["config"]["curve"]
    'PR'
    """
    if isinstance(metric, Metric):
        return {"class_name": type(metric).__name__, "config": metric.get_config()}
    if callable(metric) and getattr(metric, "__name__", None) in FUNCTIONS:
        return metric.__name__
    raise TypeError(f"metrics.serialize: argument 'metric' must be a Metric or one of "
                    f"{sorted(FUNCTIONS)}, received {metric!r}")


def deserialize(config, custom_objects: dict | None = None):
    """The metric ``serialize`` described: a class named in this module or in
    ``custom_objects`` (a name, never code, is what the data holds), made with
    ``from_config``; a function's name gives the function. A ``MeanMetricWrapper``'s ``fn``
    is looked up the same way.

    >>> m = deserialize(serialize(Precision(thresholds=[0.3, 0.7], name="p")))
    >>> m.name, m.thresholds
    ('p', [0.3, 0.7])
    """
    custom = dict(custom_objects or {})
    if isinstance(config, str):
        fn = custom.get(config, FUNCTIONS.get(config))
        if fn is None:
            return get(config)
        return fn
    if not (isinstance(config, dict) and isinstance(config.get("class_name"), str)
            and isinstance(config.get("config", {}), dict)):
        raise TypeError(f"metrics.deserialize: argument 'config' must be a dict with "
                        f"'class_name' and 'config', or a name, received {config!r}")
    name = config["class_name"]
    cls = custom.get(name, CLASSES.get(name))
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        raise ValueError(f"metrics.deserialize: class {name!r} is not one of {sorted(CLASSES)}"
                         f" nor a Metric class in custom_objects")
    inner = dict(config.get("config", {}))
    if isinstance(inner.get("fn"), str) and inner["fn"] in custom:
        inner["fn"] = custom[inner["fn"]]
    return cls.from_config(inner)


__all__ = [
    "AUC",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "MetricVariable",
    "Precision",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "Sum",
    "TopKCategoricalAccuracy",
    "deserialize",
    "get",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "serialize",
]

