"""Keras 3's loss classes, each a ``LossFunctionWrapper`` over its per-sample maths."""

from __future__ import annotations

from svertka import checks
from svertka.losses.base import Loss, LossFunctionWrapper, _extra
from svertka.losses.maths import (
    _binary_crossentropy,
    _categorical_crossentropy,
    _categorical_hinge,
    _cosine_similarity,
    _hinge,
    _huber,
    _kl_divergence,
    _log_cosh,
    _mae,
    _mape,
    _mse,
    _msle,
    _poisson,
    _sparse_categorical_crossentropy,
    _squared_hinge,
)


class MeanSquaredError(LossFunctionWrapper):
    """``mean((y_true - y_pred) ** 2)`` over the last axis.

    >>> import numpy as np
    >>> MeanSquaredError()(np.array([[0.0, 1.0], [0.0, 0.0]]),
    ...                    np.array([[1.0, 1.0], [1.0, 0.0]])).item()
    0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(_mse, name=name, reduction=reduction, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """``mean(|y_true - y_pred|)`` over the last axis.

    >>> import numpy as np
    >>> MeanAbsoluteError()(np.array([[0.0, 1.0]]), np.array([[1.0, -1.0]])).item()
    1.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(_mae, name=name, reduction=reduction, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """``100 mean(|(y_true - y_pred) / max(|y_true|, 1e-7)|)`` over the last axis.

    >>> import numpy as np
    >>> MeanAbsolutePercentageError()(np.array([[2.0, 4.0]]), np.array([[1.0, 5.0]])).item()
    37.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error",
                 dtype=None):
        super().__init__(_mape, name=name, reduction=reduction, dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2)``, eps = 1e-7.

    >>> import numpy as np
    >>> l = MeanSquaredLogarithmicError()(np.array([[0.0]]), np.array([[np.e - 1]])).item()
    >>> round(l, 6)
    1.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error",
                 dtype=None):
        super().__init__(_msle, name=name, reduction=reduction, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred))`` along ``axis``: -1 for vectors
    pointing the same way, 0 for orthogonal ones or a zero vector.

    >>> import numpy as np
    >>> round(CosineSimilarity()(np.array([[0.0, 1.0], [1.0, 1.0]]),
    ...                          np.array([[1.0, 0.0], [2.0, 2.0]])).item(), 6)
    -0.5
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        self.axis = checks.integer(type(self).__name__, "axis", axis)
        super().__init__(_cosine_similarity, name=name, reduction=reduction, dtype=dtype,
                         axis=self.axis)

    def get_config(self) -> dict:
        return _extra(Loss.get_config(self), axis=(self.axis, -1))


class Huber(LossFunctionWrapper):
    """``0.5 e^2`` where ``|e| <= delta``, ``delta |e| - 0.5 delta^2`` beyond (e = y_pred -
    y_true), averaged over the last axis: quadratic near zero, linear for outliers.

    >>> import numpy as np
    >>> Huber(delta=1.0)(np.zeros((1, 2)), np.array([[0.5, 3.0]])).item()  # (0.125 + 2.5) / 2
    1.3125
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        self.delta = checks.finite_float(type(self).__name__, "delta", delta, 0.0, low_open=True)
        super().__init__(_huber, name=name, reduction=reduction, dtype=dtype, delta=self.delta)

    def get_config(self) -> dict:
        return _extra(Loss.get_config(self), delta=(self.delta, 1.0))


class LogCosh(LossFunctionWrapper):
    """``mean(log(cosh(y_pred - y_true)))`` over the last axis, computed without overflow.

    >>> import numpy as np
    >>> round(LogCosh()(np.zeros((1, 1)), np.array([[1.0]])).item(), 6)  # log(cosh(1))
    0.433781
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(_log_cosh, name=name, reduction=reduction, dtype=dtype)


class Hinge(LossFunctionWrapper):
    """``mean(max(1 - y_true * y_pred, 0))``; labels -1/1 (0/1 labels are converted).

    >>> import numpy as np
    >>> Hinge()(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])).item()  # (0.5 + 1.5) / 2
    1.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(_hinge, name=name, reduction=reduction, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """``mean(max(1 - y_true * y_pred, 0) ** 2)``; labels -1/1 (0/1 labels are converted).

    >>> import numpy as np
    >>> SquaredHinge()(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]])).item()
    1.25
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(_squared_hinge, name=name, reduction=reduction, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` for one-hot labels.

    >>> import numpy as np
    >>> CategoricalHinge()(np.array([[0.0, 1.0]]), np.array([[0.6, 0.4]])).item()
    1.2
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(_categorical_hinge, name=name, reduction=reduction, dtype=dtype)


class KLDivergence(LossFunctionWrapper):
    """``sum(y_true * log(y_true / y_pred))`` over the last axis, both clipped to [1e-7, 1].

    >>> import numpy as np
    >>> round(KLDivergence()(np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]])).item(), 6)
    0.143841
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(_kl_divergence, name=name, reduction=reduction, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """``mean(y_pred - y_true * log(y_pred + 1e-7))`` over the last axis.

    >>> import numpy as np
    >>> round(Poisson()(np.array([[1.0]]), np.array([[np.e]])).item(), 6)
    1.718282
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(_poisson, name=name, reduction=reduction, dtype=dtype)


def _probabilistic(loss, from_logits, label_smoothing):
    where = type(loss).__name__
    loss.from_logits = checks.flag(where, "from_logits", from_logits)
    loss.label_smoothing = checks.finite_float(where, "label_smoothing", label_smoothing,
                                               0.0, 1.0)


class BinaryCrossentropy(LossFunctionWrapper):
    """``-(t log p + (1 - t) log(1 - p))`` averaged along ``axis``, for 0/1 labels.

    ``from_logits=True`` takes logits z (recommended): ``softplus(z) - t z``, stable for any
    z. Otherwise p is clipped to ``[1e-7, 1 - 1e-7]``. ``label_smoothing`` s moves the
    labels towards 0.5: ``t (1 - s) + s / 2``. Labels (N,) meet predictions (N, 1).

    >>> import numpy as np
    >>> bce = BinaryCrossentropy(from_logits=True)
    >>> round(bce(np.array([0, 1, 0, 0]), np.array([-18.6, 0.51, 2.94, -12.8])).item(), 3)
    0.865
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        _probabilistic(self, from_logits, label_smoothing)
        self.axis = checks.integer(type(self).__name__, "axis", axis)
        super().__init__(_binary_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=self.from_logits, label_smoothing=self.label_smoothing,
                         axis=self.axis)

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalCrossentropy(LossFunctionWrapper):
    """``-sum(y_true * log p)`` along ``axis`` for one-hot (or soft) labels.

    ``from_logits=True`` takes logits and uses the stable ``log_softmax``; otherwise p is
    divided by its sum and clipped to ``[1e-7, 1 - 1e-7]``. ``label_smoothing`` s gives
    ``y_true (1 - s) + s / K`` for K classes.

    >>> import numpy as np
    >>> cce = CategoricalCrossentropy()
    >>> round(cce(np.array([[0, 1, 0], [0, 0, 1]]),
    ...           np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])).item(), 4)
    1.1769
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        _probabilistic(self, from_logits, label_smoothing)
        self.axis = checks.integer(type(self).__name__, "axis", axis)
        super().__init__(_categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=self.from_logits, label_smoothing=self.label_smoothing,
                         axis=self.axis)

    def get_config(self) -> dict:
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}

    @property
    def clamped_terms(self) -> bool:
        """Each sample's loss is a sum of -log p with p clipped to [1e-7, 1 - 1e-7]: a
        stuck run sits at a multiple of -log(1e-7) (fit's divergence guard reads this)."""
        return not self.from_logits and not self.label_smoothing


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy with integer class ids for labels: shape (N,) or (N, 1) for
    predictions (N, K), (N, H, W) for a segmentation map (N, H, W, K).

    ``from_logits=True`` takes logits (stable ``log_softmax``). ``ignore_class`` names a
    label (a "void" pixel, say) whose positions give no loss and no gradient and are left
    out of the mean.

    >>> import numpy as np
    >>> scce = SparseCategoricalCrossentropy()
    >>> round(scce(np.array([1, 2]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])).item(), 4)
    1.1769
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        where = type(self).__name__
        self.from_logits = checks.flag(where, "from_logits", from_logits)
        self.ignore_class = (None if ignore_class is None
                             else checks.integer(where, "ignore_class", ignore_class))
        self.axis = checks.integer(where, "axis", axis)
        super().__init__(_sparse_categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=self.from_logits,
                         ignore_class=self.ignore_class, axis=self.axis)

    @property
    def clamped_terms(self) -> bool:
        """As ``CategoricalCrossentropy.clamped_terms``."""
        return not self.from_logits

    def get_config(self) -> dict:
        config = {**Loss.get_config(self), "from_logits": self.from_logits,
                  "ignore_class": self.ignore_class}
        return _extra(config, axis=(self.axis, -1))


# The function forms: the batch mean (what compile trains on). The four oldest keep their
# fused kernels (one pass forward and backward) where their arguments allow.
