"""Metrics from confusion counts over thresholds: ``Precision``, ``Recall``, ``AUC``."""

from __future__ import annotations

import numpy as np

from svertka import checks
from svertka.metrics.base import (
    EPSILON,
    NEG_INF,
    Metric,
    _divide_no_nan,
    _host,
)
from svertka.ops.losses import same_rank


def _thresholds(owner: str, thresholds, default: float) -> list[float]:
    """Keras's ``parse_init_thresholds``: one number or a list, each in [0, 1]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [
        thresholds]
    if not values:
        raise ValueError(f"{owner}: argument 'thresholds' must hold at least one number in "
                         f"[0, 1], received {thresholds!r}")
    return [checks.finite_float(owner, "thresholds", t, low=0.0, high=1.0) for t in values]


def _evenly_spaced(thresholds) -> bool:
    """Keras's test for thresholds ``i / (T - 1)``, which lets it count by buckets."""
    n = len(thresholds)
    return n >= 3 and bool(np.allclose(thresholds, np.arange(n) / (n - 1), atol=EPSILON))


def _top_k_only(p, k: int):
    """Scores outside the k highest of each row set to -1e10 (ties: first index first)."""
    order = np.argsort(-p, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(p.shape, bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep, p, NEG_INF)


def _confusion(owner, y_true, y_pred, thresholds, sample_weight, *, top_k=None, class_id=None,
               multi_label=False, label_weights=None):
    """Weighted true/false positives and negatives of ``y_pred > threshold`` for each
    threshold, as Keras's ``update_confusion_matrix_variables``: a nonzero label is positive,
    every entry of ``y_pred`` is one prediction (per column with ``multi_label``). Returns
    ``tp, fp, tn, fn`` of shape (T,) or (T, L)."""
    t, p = _host(y_true).astype(float), _host(y_pred).astype(float)
    p, t = same_rank(p, t)
    w = None
    if sample_weight is not None:
        w = _host(sample_weight).astype(float)[..., None]
        _, w = same_rank(t, w, expand_rank_1=False)
    if top_k is not None:
        if p.ndim < 1:
            raise ValueError(f"{owner}: top_k needs 'y_pred' of shape (N, K), received a scalar")
        p = _top_k_only(p, top_k)
    if class_id is not None:
        if p.ndim < 2 or t.ndim < 2:
            raise ValueError(f"{owner}: with class_id, 'y_true' and 'y_pred' must have shape "
                             f"(N, K), received {t.shape} and {p.shape}")
        if class_id >= p.shape[-1]:
            raise ValueError(f"{owner}: argument 'class_id' must be < the number of classes "
                             f"{p.shape[-1]}, received {class_id}")
        t, p = t[..., class_id, None], p[..., class_id, None]
    if t.shape != p.shape:
        raise ValueError(f"{owner}: arguments 'y_true' and 'y_pred' must have the same shape, "
                         f"received {t.shape} and {p.shape}")
    try:
        w = np.ones(p.shape) if w is None else np.broadcast_to(w, p.shape)
    except ValueError:
        raise ValueError(f"{owner}: argument 'sample_weight' must broadcast to 'y_pred' of "
                         f"shape {p.shape} (one weight per sample), received shape "
                         f"{_host(sample_weight).shape}") from None
    if label_weights is not None and not multi_label:
        w = w * np.broadcast_to(label_weights, p.shape)
    if multi_label:
        if p.ndim != 2:
            raise ValueError(f"{owner}: with multi_label=True, 'y_pred' must be (N, L), "
                             f"received {p.shape}")
    else:
        t, p, w = t.reshape(-1, 1), p.reshape(-1, 1), w.reshape(-1, 1)
    pos = t != 0
    n_t, n_labels = len(thresholds), p.shape[1]
    if _evenly_spaced(thresholds):  # Keras's bucket count: same result, linear time
        p = np.clip(p, 0.0, 1.0)
        bucket = np.ceil(p * (n_t - 1)).astype(np.int64) - 1
        if thresholds[0] < 0.0 or thresholds[-1] > 1.0:
            bucket = np.maximum(bucket, 0)
        index = ((bucket + 1) * n_labels + np.arange(n_labels)).reshape(-1)

        def above(weights):  # weight of the entries above each threshold, (T, L)
            sums = np.bincount(index, weights.reshape(-1), minlength=(n_t + 1) * n_labels)
            return np.cumsum(sums.reshape(n_t + 1, n_labels)[:0:-1], axis=0)[::-1]
    else:
        above_t = p[None] > np.asarray(thresholds, float)[:, None, None]  # (T, M, L)

        def above(weights):
            return (above_t * weights[None]).sum(axis=1)
    tp, fp = above(w * pos), above(w * ~pos)
    tn = (w * ~pos).sum(axis=0) - fp
    fn = (w * pos).sum(axis=0) - tp
    if not multi_label:
        return tp[:, 0], fp[:, 0], tn[:, 0], fn[:, 0]
    return tp, fp, tn, fn


class _ThresholdMetric(Metric):
    """Precision and Recall: counts at each threshold, or for the top k / one class."""

    _counts: tuple[str, str]

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        where = type(self).__name__
        self.top_k = None if top_k is None else checks.positive_int(where, "top_k", top_k)
        self.class_id = None if class_id is None else checks.non_negative_int(
            where, "class_id", class_id)
        self.init_thresholds = thresholds
        if isinstance(thresholds, np.ndarray):
            self.init_thresholds = thresholds.tolist()
        self.thresholds = _thresholds(where, thresholds, 0.5 if top_k is None else NEG_INF)
        shape = (len(self.thresholds),)
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        other = self._counts[1]
        setattr(self, other, self.add_variable(shape, "zeros", name=other))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        tp, fp, _, fn = _confusion(type(self).__name__, y_true, y_pred, self.thresholds,
                                   sample_weight, top_k=self.top_k, class_id=self.class_id)
        self.true_positives.assign_add(tp)
        other = self._counts[1]
        getattr(self, other).assign_add(fp if other == "false_positives" else fn)

    def result(self):
        tp = self.true_positives.value.astype(float)
        value = _divide_no_nan(tp, tp + getattr(self, self._counts[1]).value)
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_ThresholdMetric):
    """``tp / (tp + fp)`` where a prediction is positive when ``y_pred > threshold`` (0.5 by
    default; a list of thresholds gives one precision each, as an array) and a label is
    positive when nonzero, every entry of ``y_pred`` counting (Keras's ``Precision``).
    ``top_k``: only each row's k highest scores are positive; ``class_id``: only that column
    counts. ``sample_weight`` weighs each sample (or entry). 0.0 before any positive
    prediction, as Keras.

    >>> m = Precision()
    >>> m.update_state([0, 1, 1, 1], np.array([1.0, 0.0, 1.0, 1.0]))
    >>> round(m.result(), 4)
    0.6667
    """

    default_name = "precision"
    _counts = ("true_positives", "false_positives")


class Recall(_ThresholdMetric):
    """``tp / (tp + fn)``, with ``Precision``'s arguments and rules (Keras's ``Recall``).

    >>> m = Recall()
    >>> m.update_state([0, 1, 1, 1], np.array([1.0, 0.0, 1.0, 1.0]))
    >>> round(m.result(), 4)
    0.6667
    """

    default_name = "recall"
    _counts = ("true_positives", "false_negatives")


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Area under the ROC (``curve="ROC"``) or precision-recall (``"PR"``) curve, from
    confusion counts at ``num_thresholds`` evenly spaced thresholds (or the given
    ``thresholds``, with -1e-7 and 1 + 1e-7 added at the ends), as Keras's ``AUC``:
    ``summation_method="interpolation"`` (trapezoids; for PR, Davis & Goadrich's
    interpolation), ``"minoring"`` or ``"majoring"`` (left or right Riemann sums).
    Predictions are probabilities (clipped to [0, 1]), or logits with ``from_logits=True``;
    a nonzero label is positive. ``multi_label=True`` computes one AUC per column of
    ``(N, L)`` and averages them (weighted by ``label_weights``); otherwise every entry is a
    prediction (``label_weights`` then weighs the columns' entries).

    >>> m = AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], np.array([0.0, 0.5, 0.3, 0.9]))
    >>> m.result()
    0.75
    """

    default_name = "auc"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(name=name, dtype=dtype)
        where = "AUC"
        key = curve.lower() if isinstance(curve, str) else curve
        if key not in _CURVES:
            raise ValueError(f"{where}: argument 'curve' must be one of ['ROC', 'PR', "
                             f"'PRGAIN'], received {curve!r}")
        self.curve = _CURVES[key]
        key = summation_method.lower() if isinstance(summation_method, str) else None
        if key not in _SUMMATIONS:
            raise ValueError(f"{where}: argument 'summation_method' must be one of "
                             f"{list(_SUMMATIONS)}, received {summation_method!r}")
        self.summation_method = key
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_thresholds(where, thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
        else:
            self.num_thresholds = checks.integer(where, "num_thresholds", num_thresholds,
                                                 low=2)
            inner = [(i + 1) / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)]
        self._thresholds = [0.0 - EPSILON, *inner, 1.0 + EPSILON]
        self.multi_label = checks.flag(where, "multi_label", multi_label)
        self.num_labels = None if num_labels is None else checks.positive_int(
            where, "num_labels", num_labels)
        if self.num_labels is not None and not self.multi_label:
            raise ValueError(f"{where}: argument 'num_labels' is needed only with "
                             f"multi_label=True, received {num_labels!r}")
        self.label_weights = None if label_weights is None else np.asarray(
            label_weights, float)
        self._from_logits = checks.flag(where, "from_logits", from_logits)
        self._built = False
        if not self.multi_label or self.num_labels:
            self._build(self.num_labels)

    @property
    def thresholds(self) -> list[float]:
        """Every threshold, the two end points included."""
        return list(self._thresholds)

    def _build(self, num_labels) -> None:
        shape = (self.num_thresholds, num_labels) if self.multi_label else (self.num_thresholds,)
        for name in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, name, self.add_variable(shape, "zeros", name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        p = _host(y_pred).astype(float)
        if not self._built:
            if p.ndim != 2:
                raise ValueError(f"AUC: with multi_label=True, 'y_pred' must be (N, L), "
                                 f"received {p.shape}")
            self._build(p.shape[1])
        if self._from_logits:
            p = 1.0 / (1.0 + np.exp(-p))
        counts = _confusion("AUC", y_true, p, self._thresholds, sample_weight,
                            multi_label=self.multi_label,
                            label_weights=None if self.multi_label else self.label_weights)
        for variable, value in zip((self.true_positives, self.false_positives,
                                    self.true_negatives, self.false_negatives), counts):
            variable.assign_add(value)

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def _average(self, by_threshold):
        """Sum over thresholds; with multi_label, the (weighted) mean of the labels' AUCs."""
        by_label = by_threshold.sum(axis=0)
        if not self.multi_label:
            return float(by_label)
        if self.label_weights is None:
            return float(by_label.mean())
        return float(_divide_no_nan((by_label * self.label_weights).sum(),
                                    self.label_weights.sum()))

    def _interpolate_pr(self, tp, fp, fn):
        """Davis & Goadrich's interpolated PR area, as Keras's ``interpolate_pr_auc``."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return _divide_no_nan(slope * (dtp + intercept * np.log(ratio)),
                              np.maximum(tp[1:] + fn[1:], 0))

    def result(self) -> float:
        if not self._built:
            return 0.0
        tp, fp, tn, fn = (v.value.astype(float) for v in (
            self.true_positives, self.false_positives, self.true_negatives,
            self.false_negatives))
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._average(self._interpolate_pr(tp, fp, fn))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:  # PRGAIN, with Keras's fixes for no true positives and negative gains
            scale = _divide_no_nan(tp + fn, tn + fp)
            x = np.maximum(np.where(tp == 0, 0.0, 1.0 - scale * _divide_no_nan(fn, tp)), 0.0)
            y = np.where(tp == 0, 1.0, 1.0 - scale * _divide_no_nan(fp, tp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self) -> dict:
        config = {"name": self.name, "dtype": self.dtype, "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self._thresholds[1:-1]
        return config


