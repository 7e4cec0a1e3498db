"""The function forms under Keras's names, for ``compile(loss="...")``: each returns the
batch mean (Keras's return one value per sample; use the class with ``reduction=None``)."""

from __future__ import annotations

import numpy as np

from svertka import ops
from svertka.autograd import Tensor
from svertka.backend import get_array_module
from svertka.losses.classes import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from svertka.ops._inputs import float_input
from svertka.ops.losses import class_ids


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                             axis=-1) -> Tensor:
    """Cross-entropy of ``y_pred`` (probabilities, or logits) against one-hot ``y_true``,
    averaged over the batch (``CategoricalCrossentropy``)."""
    if not label_smoothing and axis == -1 and _shape(y_true) == _shape(y_pred):
        return ops.categorical_crossentropy(y_true, y_pred, from_logits=bool(from_logits))
    return CategoricalCrossentropy(from_logits, label_smoothing, axis)(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1) -> Tensor:
    """As ``categorical_crossentropy`` with integer class ids ``y_true`` of shape (N,) (floats
    holding whole numbers are accepted; 2.9 is an error, not class 2)."""
    data = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    if ignore_class is not None or axis != -1 or len(_shape(y_pred)) != 2 \
            or data.size != _shape(y_pred)[0]:
        return SparseCategoricalCrossentropy(from_logits, ignore_class, axis=axis)(y_true,
                                                                                 y_pred)
    xp = get_array_module(data)
    labels = xp.asarray(data).reshape(-1)
    if from_logits:
        return ops.softmax_cross_entropy(y_pred, labels)
    y_pred = float_input("sparse_categorical_crossentropy", y_pred, "y_pred")
    k = y_pred.shape[-1]
    labels = class_ids("sparse_categorical_crossentropy", "y_true", labels, k)
    onehot = xp.zeros((labels.size, k), dtype=y_pred.dtype)
    onehot[xp.arange(labels.size), labels] = 1
    return ops.categorical_crossentropy(onehot, y_pred)


def softmax_cross_entropy(y_true, y_pred) -> Tensor:
    """Cross-entropy straight from logits ``y_pred`` (class ids or one-hot ``y_true``)."""
    return ops.softmax_cross_entropy(y_pred, y_true)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                        axis=-1) -> Tensor:
    """Binary cross-entropy averaged over every element (``BinaryCrossentropy``)."""
    if not label_smoothing and _shape(y_true) == _shape(y_pred):
        return ops.binary_crossentropy(y_true, y_pred, from_logits=bool(from_logits))
    return BinaryCrossentropy(from_logits, label_smoothing, axis)(y_true, y_pred)


def mean_squared_error(y_true, y_pred) -> Tensor:
    """``mean((y_pred - y_true) ** 2)`` over every element (``MeanSquaredError``)."""
    if _shape(y_true) == _shape(y_pred):
        return ops.mean_squared_error(y_true, y_pred)
    return MeanSquaredError()(y_true, y_pred)


def mean_absolute_error(y_true, y_pred) -> Tensor:
    """``MeanAbsoluteError``'s batch mean."""
    return MeanAbsoluteError()(y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred) -> Tensor:
    """``MeanAbsolutePercentageError``'s batch mean."""
    return MeanAbsolutePercentageError()(y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred) -> Tensor:
    """``MeanSquaredLogarithmicError``'s batch mean."""
    return MeanSquaredLogarithmicError()(y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1) -> Tensor:
    """``CosineSimilarity``'s batch mean."""
    return CosineSimilarity(axis)(y_true, y_pred)


def huber(y_true, y_pred, delta=1.0) -> Tensor:
    """``Huber``'s batch mean.

    >>> import numpy as np
    >>> huber(np.zeros((1, 2)), np.array([[0.5, 3.0]]), delta=2.0).item()  # (0.125 + 4) / 2
    2.0625
    """
    return Huber(delta)(y_true, y_pred)


def log_cosh(y_true, y_pred) -> Tensor:
    """``LogCosh``'s batch mean."""
    return LogCosh()(y_true, y_pred)


def hinge(y_true, y_pred) -> Tensor:
    """``Hinge``'s batch mean."""
    return Hinge()(y_true, y_pred)


def squared_hinge(y_true, y_pred) -> Tensor:
    """``SquaredHinge``'s batch mean."""
    return SquaredHinge()(y_true, y_pred)


def categorical_hinge(y_true, y_pred) -> Tensor:
    """``CategoricalHinge``'s batch mean."""
    return CategoricalHinge()(y_true, y_pred)


def kl_divergence(y_true, y_pred) -> Tensor:
    """``KLDivergence``'s batch mean."""
    return KLDivergence()(y_true, y_pred)


def poisson(y_true, y_pred) -> Tensor:
    """``Poisson``'s batch mean."""
    return Poisson()(y_true, y_pred)


# fit's divergence guard: these average -log p over clipped probabilities (see
# CategoricalCrossentropy.clamped_terms); with logits or label smoothing they do not, but the
# function form used by name is the plain one
categorical_crossentropy.clamped_terms = True
sparse_categorical_crossentropy.clamped_terms = True

