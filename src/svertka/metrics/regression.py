"""Regression metrics: mean squared, absolute, percentage and logarithmic errors, RMSE."""

from __future__ import annotations

import math

import numpy as np  # noqa: F401 - the examples below use it

from svertka.metrics.base import EPSILON, Mean, _pair, _SampleMean
from svertka.ops.losses import same_rank


def _float_pair(y_true, y_pred):
    """``y_true`` as floats of ``y_pred``'s module, both brought to the same rank (Keras)."""
    t, p, xp = _pair(y_true, y_pred)
    p = p.astype(float)
    t, p = same_rank(t.astype(float), p)
    return t, p, xp


def mean_squared_error(y_true, y_pred):
    """Per-sample ``mean((y_true - y_pred) ** 2)`` over the last axis, as Keras's function.

    >>> mean_squared_error([[0, 1], [0, 0]], np.array([[1, 1], [0, 0]]))
    array([0.5, 0. ])
    """
    t, p, xp = _float_pair(y_true, y_pred)
    return xp.mean((t - p) ** 2, axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Per-sample ``mean(|y_true - y_pred|)`` over the last axis, as Keras's function.

    >>> mean_absolute_error([[0, 1], [0, 0]], np.array([[1, 1], [0, 0]]))
    array([0.5, 0. ])
    """
    t, p, xp = _float_pair(y_true, y_pred)
    return xp.mean(xp.abs(t - p), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))`` over the last axis,
    as Keras's function (a zero target counts with Keras's epsilon, so it is huge).

    >>> mean_absolute_percentage_error([[2, 4]], np.array([[1, 5]]))
    array([37.5])
    """
    t, p, xp = _float_pair(y_true, y_pred)
    return 100.0 * xp.mean(xp.abs((t - p) / xp.maximum(xp.abs(t), EPSILON)), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample ``mean((log(1 + y_pred) - log(1 + y_true)) ** 2)`` over the last axis, both
    floored at 1e-7 first, as Keras's function.

    >>> mean_squared_logarithmic_error([[0.0]], np.array([[np.e - 1]])).round(6)
    array([1.])
    """
    t, p, xp = _float_pair(y_true, y_pred)
    d = xp.log1p(xp.maximum(p, EPSILON)) - xp.log1p(xp.maximum(t, EPSILON))
    return xp.mean(d * d, axis=-1)


class MeanSquaredError(_SampleMean):
    """Mean over samples of ``mean((y_true - y_pred) ** 2)`` over the last axis (Keras's
    ``MeanSquaredError`` metric, ``'mse'``). As in Keras, 1-D ``y_true`` and ``y_pred`` give
    one value for the batch, which counts as one sample; ``(N, 1)`` gives one per sample.

    >>> m = MeanSquaredError()
    >>> m.update_state([[0, 1], [0, 0]], np.array([[1, 1], [0, 0]]))
    >>> m.result()
    0.25
    """

    default_name = "mean_squared_error"

    def _values(self, y_true, y_pred):
        return mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(_SampleMean):
    """Mean over samples of ``mean(|y_true - y_pred|)`` over the last axis (``'mae'``).

    >>> m = MeanAbsoluteError()
    >>> m.update_state([[0, 1], [0, 0]], np.array([[1, 1], [0, 0]]), sample_weight=[1, 0])
    >>> m.result()
    0.5
    """

    default_name = "mean_absolute_error"

    def _values(self, y_true, y_pred):
        return mean_absolute_error(y_true, y_pred)


class MeanAbsolutePercentageError(_SampleMean):
    """Mean over samples of ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))``
    (``'mape'``).

    >>> m = MeanAbsolutePercentageError()
    >>> m.update_state([[2.0], [4.0]], np.array([[1.0], [5.0]]))
    >>> m.result()
    37.5
    """

    default_name = "mean_absolute_percentage_error"

    def _values(self, y_true, y_pred):
        return mean_absolute_percentage_error(y_true, y_pred)


class MeanSquaredLogarithmicError(_SampleMean):
    """Mean over samples of Keras's ``mean_squared_logarithmic_error`` (``'msle'``).

    >>> m = MeanSquaredLogarithmicError()
    >>> m.update_state([[0.0], [0.0]], np.array([[np.e - 1], [0.0]]))
    >>> round(m.result(), 6)
    0.5
    """

    default_name = "mean_squared_logarithmic_error"

    def _values(self, y_true, y_pred):
        return mean_squared_logarithmic_error(y_true, y_pred)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the mean squared error over every element seen (each sample weighing 1 or
    its weight, its elements averaged first), as Keras's ``RootMeanSquaredError``; unlike
    ``MeanSquaredError``, 1-D inputs count one sample per element.

    >>> m = RootMeanSquaredError()
    >>> m.update_state([[0, 1], [0, 0]], np.array([[1, 1], [0, 0]]))
    >>> m.result()
    0.5
    """

    default_name = "root_mean_squared_error"

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p, _ = _float_pair(y_true, y_pred)
        super().update_state((p - t) ** 2, sample_weight)

    def result(self) -> float:
        return math.sqrt(super().result())


