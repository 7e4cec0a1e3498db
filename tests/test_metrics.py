"""Metrics against hand-counted batches: matches, ties, top-k, weighting by batch size."""

import functools

import numpy as np
import pytest

from svertka import metrics
from svertka.metrics import (
    BinaryAccuracy,
    CategoricalAccuracy,
    Mean,
    MeanMetricWrapper,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)

P = np.array(
    [
        [0.1, 0.6, 0.3],  # predicts 1
        [0.5, 0.2, 0.3],  # predicts 0
        [0.2, 0.3, 0.5],  # predicts 2
        [0.4, 0.4, 0.2],  # tie 0/1: predicts 0 (first index, as argmax)
    ]
)
LABELS = np.array([1, 2, 2, 1])  # hits: yes, no, yes, no (the tie goes to class 0)
ONE_HOT = np.eye(3)[LABELS]


def test_categorical_accuracy_counts_argmax_matches():
    m = CategoricalAccuracy()
    m.update_state(ONE_HOT, P)
    assert m.result() == 0.5
    assert m.name == "categorical_accuracy"


def test_sparse_categorical_accuracy_takes_n_and_n1_labels_and_float_ids():
    for labels in (LABELS, LABELS[:, None], LABELS.astype(np.float32), LABELS.tolist()):
        m = SparseCategoricalAccuracy()
        m.update_state(labels, P)
        assert m.result() == 0.5


def test_ties_go_to_the_first_index_like_numpy_argmax():
    p = np.array([[0.3, 0.3, 0.3], [0.0, 0.7, 0.7]])
    m = SparseCategoricalAccuracy()
    m.update_state([0, 2], p)
    assert m.result() == 0.5  # row 0 -> class 0 (hit), row 1 -> class 1 (miss)
    assert CategoricalAccuracy()(np.eye(3)[[0, 2]], p) == 0.5


def test_batches_weigh_by_their_size():
    # batch of 2 at 100%, then a batch of 4 at 25%: (2 + 1) / 6, not the mean of 1.0 and 0.25.
    m = SparseCategoricalAccuracy()
    m.update_state([1, 0], P[:2])
    m.update_state([0, 0, 0, 0], np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1.0]]))
    assert m.result() == pytest.approx(3 / 6)
    assert m.count == 6


def test_reset_state_forgets_and_empty_result_is_zero():
    m = CategoricalAccuracy()
    assert m.result() == 0.0
    m.update_state(ONE_HOT, P)
    m.reset_state()
    assert m.result() == 0.0 and m.count == 0
    m.update_state(ONE_HOT[:1], P[:1])
    assert m.result() == 1.0


def test_call_updates_and_returns_running_result():
    m = SparseCategoricalAccuracy()
    assert m([1], P[:1]) == 1.0
    assert m([1], P[1:2]) == 0.5


def test_sample_weight_is_a_weighted_mean():
    m = SparseCategoricalAccuracy()
    m.update_state(LABELS, P, sample_weight=[3.0, 1.0, 0.0, 1.0])  # hits weigh 3 and 0
    assert m.result() == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="sample_weight"):
        m.update_state(LABELS, P, sample_weight=[1.0, 2.0])


def test_segmentation_maps_average_pixels_within_each_sample():
    # sample 0: 4 of 4 pixels right; sample 1: 1 of 4 -> (1 + 0.25) / 2
    p = np.zeros((2, 2, 2, 3))
    p[..., 0] = 1.0
    labels = np.zeros((2, 2, 2), dtype=int)
    labels[1] = [[1, 1], [1, 0]]
    m = SparseCategoricalAccuracy()
    m.update_state(labels, p)
    assert m.result() == pytest.approx(0.625)
    c = CategoricalAccuracy()
    c.update_state(np.eye(3)[labels], p)
    assert c.result() == pytest.approx(0.625)


def test_binary_accuracy_threshold_and_shapes():
    y = np.array([1, 0, 1, 1, 0])
    p = np.array([0.9, 0.5, 0.51, 0.2, 0.1])  # 0.5 is not > 0.5 -> predicts 0
    for t, q in ((y, p), (y[:, None], p), (y, p[:, None]), (y[:, None], p[:, None])):
        m = BinaryAccuracy()
        m.update_state(t, q)
        assert m.result() == pytest.approx(4 / 5)
    m = BinaryAccuracy(threshold=0.0)  # logits
    m.update_state([1, 0, 0], np.array([0.3, -2.0, 1.0]))
    assert m.result() == pytest.approx(2 / 3)
    assert BinaryAccuracy(threshold=0.3).get_config() == {
        "threshold": 0.3,
        "name": "binary_accuracy",
        "dtype": "float32",
    }
    m = BinaryAccuracy()
    m.update_state(np.array([True, False]), np.array([0.7, 0.8]))
    assert m.result() == 0.5


def test_binary_accuracy_averages_several_outputs_per_sample():
    m = BinaryAccuracy()
    m.update_state([[1, 1], [0, 0]], np.array([[0.9, 0.1], [0.1, 0.2]]))  # 0.5 and 1.0
    m.update_state([[1, 1]], np.array([[0.9, 0.9]]))  # 1.0
    assert m.result() == pytest.approx(2.5 / 3)


TOPK_P = np.array(
    [
        [0.1, 0.5, 0.2, 0.15, 0.05],
        [0.3, 0.3, 0.3, 0.05, 0.05],
        [0.0, 0.0, 0.0, 0.0, 1.0],
    ]
)


@pytest.mark.parametrize(
    "k, labels, expected",
    [
        # row 0 ranking: 1, 2, 3, 0, 4; rows 1 (a three-way tie) ranks 0, 1, 2 by index.
        (1, [1, 0, 4], [1, 1, 1]),
        (2, [2, 1, 3], [1, 1, 0]),
        (2, [3, 2, 1], [0, 0, 0]),  # class 2 is third of the tie in row 1
        (3, [3, 2, 1], [1, 1, 1]),  # row 2: 4, 0, 1 -> class 1 is in the top 3
        (3, [0, 3, 2], [0, 0, 0]),
        (5, [4, 4, 3], [1, 1, 1]),
        (9, [4, 4, 3], [1, 1, 1]),
    ],
)
def test_top_k_hand_counted(k, labels, expected):
    m = SparseTopKCategoricalAccuracy(k=k)
    m.update_state(labels, TOPK_P)
    assert m.result() == pytest.approx(np.mean(expected))
    m = TopKCategoricalAccuracy(k=k)
    m.update_state(np.eye(5)[labels], TOPK_P)
    assert m.result() == pytest.approx(np.mean(expected))


def test_top_k_matches_a_stable_sort_and_k1_matches_argmax():
    rng = np.random.default_rng(0)
    p = rng.integers(0, 4, size=(200, 6)).astype(float)  # many ties
    p[rng.random(p.shape) < 0.05] = np.nan
    labels = rng.integers(0, 6, size=200)
    order = np.argsort(-np.nan_to_num(p, nan=np.inf), axis=1, kind="stable")
    for k in (1, 2, 3, 6):
        expected = (order[:, :k] == labels[:, None]).any(axis=1).mean()
        m = SparseTopKCategoricalAccuracy(k=k)
        m.update_state(labels, p)
        assert m.result() == pytest.approx(expected)
    a = SparseCategoricalAccuracy()
    a.update_state(labels, p)
    assert a.result() == pytest.approx((np.argmax(p, axis=1) == labels).mean())
    t1 = SparseTopKCategoricalAccuracy(k=1)
    t1.update_state(labels, p)
    assert t1.result() == a.result()


def test_top_k_defaults_and_config():
    assert SparseTopKCategoricalAccuracy().k == 5
    m = TopKCategoricalAccuracy(k=3, name="top3")
    assert m.get_config() == {"k": 3, "name": "top3", "dtype": "float32"}
    clone = TopKCategoricalAccuracy.from_config(m.get_config())
    assert (clone.k, clone.name) == (3, "top3")


def test_mean_weights_scalars_by_batch_size():
    m = Mean(name="loss")
    m.update_state(2.0, sample_weight=32)
    m.update_state(np.float32(5.0), sample_weight=8)
    assert m.result() == pytest.approx((64 + 40) / 40)
    m.reset_state()
    m.update_state(np.array([1.0, 2.0, 6.0]))
    assert m.result() == pytest.approx(3.0)
    m.update_state(np.array([1.0, 3.0]), sample_weight=np.array([1.0, 3.0]))
    assert m.result() == pytest.approx((9 + 10) / 7)
    assert m.get_config() == {"name": "loss", "dtype": "float32"}
    assert Mean().name == "mean"


def test_wrapped_function_is_averaged_per_sample():
    def abs_error(y_true, y_pred):
        return np.abs(np.asarray(y_true) - y_pred)

    m = metrics.get(abs_error)
    assert isinstance(m, MeanMetricWrapper) and m.name == "abs_error"
    m.update_state([0.0, 1.0], np.array([1.0, 1.0]))
    m.update_state([0.0], np.array([4.0]))
    assert m.result() == pytest.approx(5 / 3)


@pytest.mark.parametrize(
    "metric, y_true, y_pred, match",
    [
        (CategoricalAccuracy(), LABELS, P, r"same shape \(N, K\), received \(4,\) and \(4, 3\)"),
        (SparseCategoricalAccuracy(), ONE_HOT, P, r"one class id per sample.*received \(4, 3\)"),
        (BinaryAccuracy(), [1, 0], np.zeros(3), r"same shape, received \(2,\) and \(3,\)"),
        (SparseTopKCategoricalAccuracy(k=2), [0, 1, 2, 3], P, r"\[0, 3\).*\[0, 3\]"),
        (TopKCategoricalAccuracy(), LABELS, P, r"same shape"),
    ],
)
def test_shape_errors_name_metric_and_shapes(metric, y_true, y_pred, match):
    with pytest.raises(ValueError, match=type(metric).__name__ + ".*" + match):
        metric.update_state(y_true, y_pred)


@pytest.mark.parametrize(
    "bad, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError),
                   ("3", TypeError)])
def test_bad_k_rejected(bad, error):
    with pytest.raises(error, match="TopKCategoricalAccuracy: argument 'k' must be a positive int"):
        TopKCategoricalAccuracy(k=bad)


def test_k_of_any_integer_type():
    assert TopKCategoricalAccuracy(k=np.int64(2)).k == 2
    assert type(SparseTopKCategoricalAccuracy(k=np.uint8(3)).k) is int


def test_bad_threshold_rejected():
    with pytest.raises(TypeError, match="BinaryAccuracy: argument 'threshold'"):
        BinaryAccuracy(threshold="high")
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="BinaryAccuracy: argument 'threshold'"):
            BinaryAccuracy(threshold=bad)


@pytest.mark.parametrize(
    "metric", [SparseCategoricalAccuracy(), SparseTopKCategoricalAccuracy(k=2),
               metrics.get("accuracy", loss="sparse_categorical_crossentropy")],
    ids=lambda m: type(m).__name__)
def test_sparse_labels_must_be_whole_numbers(metric):
    p = np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]])
    with pytest.raises(ValueError, match=r"argument 'y_true' must hold integer class ids.*2\.9"):
        metric.update_state(np.array([2.9, 0.0]), p)
    with pytest.raises(ValueError, match="argument 'y_true'.*nan"):
        metric.update_state(np.array([np.nan, 0.0]), p)
    with pytest.raises(TypeError, match="argument 'y_true' must hold integer class ids"):
        metric.update_state(np.array([True, False]), p)
    metric.update_state(np.array([2.0, 0.0]), p)  # whole numbers as floats are class ids
    assert metric.result() == 1.0
    with pytest.raises(ValueError, match=r"class ids in 'y_true' must lie in \[0, 3\)"):
        metric.update_state(np.array([3, 0]), p)


@pytest.mark.parametrize(
    "loss, cls",
    [
        ("categorical_crossentropy", CategoricalAccuracy),
        ("sparse_categorical_crossentropy", SparseCategoricalAccuracy),
        ("binary_crossentropy", BinaryAccuracy),
        ("BCE", BinaryAccuracy),
    ],
)
def test_get_accuracy_from_loss_name(loss, cls):
    for identifier in ("accuracy", "acc"):
        m = metrics.get(identifier, loss=loss)
        assert type(m) is cls
        assert m.name == identifier


def test_get_accuracy_from_loss_function_and_logits():
    def binary_crossentropy(y_true, y_pred, from_logits=False):
        return 0.0

    assert metrics.get("accuracy", loss=binary_crossentropy).threshold == 0.5
    logits = functools.partial(binary_crossentropy, from_logits=True)
    assert metrics.get("accuracy", loss=logits).threshold == 0.0

    class CategoricalCrossentropy:
        from_logits = True

    m = metrics.get("accuracy", loss=CategoricalCrossentropy())
    assert type(m) is CategoricalAccuracy


@pytest.mark.parametrize(
    "y_true, y_pred, expected",
    [
        (ONE_HOT, P, 0.5),  # same shape, 3 columns: categorical
        (LABELS, P, 0.5),  # 1-D ids: sparse
        (LABELS[:, None], P, 0.5),  # (N, 1) ids: sparse
        ([1, 0, 1], np.array([[0.8], [0.6], [0.3]]), 1 / 3),  # one column: binary
        ([[1], [0]], np.array([[0.8], [0.3]]), 1.0),
    ],
)
def test_get_accuracy_without_known_loss_decides_at_first_update(y_true, y_pred, expected):
    for loss in (None, "softmax_cross_entropy", "mean_squared_error"):
        m = metrics.get("accuracy", loss=loss)
        assert m.name == "accuracy"
        m.update_state(y_true, y_pred)
        assert m.result() == pytest.approx(expected)


def test_auto_accuracy_keeps_its_choice_across_batches_and_resets():
    m = metrics.get("accuracy", loss="softmax_cross_entropy")
    m.update_state(LABELS, P)
    m.update_state(LABELS[:2], P[:2])
    assert m.result() == pytest.approx(3 / 6)
    m.reset_state()
    assert m.result() == 0.0
    with pytest.raises(ValueError, match="SparseCategoricalAccuracy"):
        m.update_state(ONE_HOT, P)  # sparse was chosen; one-hot labels now are an error


@pytest.mark.parametrize(
    "name, cls",
    [
        ("categorical_accuracy", CategoricalAccuracy),
        ("sparse_categorical_accuracy", SparseCategoricalAccuracy),
        ("binary_accuracy", BinaryAccuracy),
        ("top_k_categorical_accuracy", TopKCategoricalAccuracy),
        ("sparse_top_k_categorical_accuracy", SparseTopKCategoricalAccuracy),
    ],
)
def test_get_by_name(name, cls):
    m = metrics.get(name, loss="binary_crossentropy")
    assert type(m) is cls and m.name == name


def test_get_passes_instances_through():
    m = TopKCategoricalAccuracy(k=2)
    assert metrics.get(m) is m
    assert type(metrics.get(CategoricalAccuracy)) is CategoricalAccuracy


def test_get_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as info:
        metrics.get("f1_score")
    text = str(info.value)
    assert "argument 'identifier'" in text and "'f1_score'" in text
    assert "'auc'" in text and "'mse'" in text
    assert "sparse_top_k_categorical_accuracy" in text and "'accuracy'" in text
    with pytest.raises(TypeError, match="received int"):
        metrics.get(3)


# ---- Keras 3 metrics: regression, confusion, variables, subclassing, names, configs ----

import json  # noqa: E402

import svertka as keras  # noqa: E402
from svertka.metrics import (  # noqa: E402
    AUC,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Metric,
    Precision,
    Recall,
    RootMeanSquaredError,
    Sum,
)


def _fresh(metric):
    return type(metric).from_config(metric.get_config())


@pytest.mark.parametrize(
    "metric, y_true, y_pred, sample_weight, expected",
    [
        # the examples of Keras's docstrings, with Keras's documented results
        (MeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], None, 0.25),
        (MeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], [1, 0], 0.5),
        (MeanAbsoluteError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], None, 0.25),
        (MeanAbsoluteError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], [1, 0], 0.5),
        (MeanAbsolutePercentageError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], None, 2.5e8),
        (MeanAbsolutePercentageError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], [1, 0], 5e8),
        (RootMeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], None, 0.5),
        (RootMeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], [1, 0], 0.5 ** 0.5),
        (MeanSquaredLogarithmicError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], None,
         np.log(2) ** 2 / 4),
        (Precision(), [0, 1, 1, 1], [1, 0, 1, 1], None, 2 / 3),
        (Precision(), [0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0], 1.0),
        (Precision(top_k=2), [0, 0, 1, 1], [1, 1, 1, 1], None, 0.0),  # ties: first two
        (Precision(top_k=4), [0, 0, 1, 1], [1, 1, 1, 1], None, 0.5),
        (Precision(thresholds=0.7), [[0], [1], [1]], [[0.8], [0.6], [0.9]], None, 0.5),
        (Precision(class_id=2), np.eye(3)[[2, 2, 0]], np.eye(3)[[2, 1, 2]], None, 0.5),
        (Recall(), [0, 1, 1, 1], [1, 0, 1, 1], None, 2 / 3),
        (Recall(), [0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0], 1.0),
        (Recall(top_k=1), np.eye(3)[[2, 1]], [[0.1, 0.5, 0.4], [0.2, 0.7, 0.1]], None, 0.5),
        (Recall(class_id=2), np.eye(3)[[2, 2, 0]], np.eye(3)[[2, 1, 2]], None, 0.5),
        (AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], None, 0.75),
        (AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [1, 0, 0, 1], 1.0),
        (AUC(), [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], None, 1.0),
        (AUC(), [0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], None, 0.0),
        (AUC(curve="PR"), [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], None, 1.0),
        (AUC(from_logits=True), [0, 0, 1, 1], [-3.0, -1.0, 2.0, 5.0], None, 1.0),
        # thresholds -1e-7, 0.5, 1 + 1e-7: ROC points (1, 1), (0, 0.5), (0, 0); the one step
        # from FPR 1 to 0 is 0.5 high (minoring), 1 (majoring), 0.75 (trapezoid, above)
        (AUC(num_thresholds=3, summation_method="minoring"), [0, 0, 1, 1],
         [0, 0.5, 0.3, 0.9], None, 0.5),
        (AUC(num_thresholds=3, summation_method="majoring"), [0, 0, 1, 1],
         [0, 0.5, 0.3, 0.9], None, 1.0),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Metric) else None,
)
def test_keras_documented_values(metric, y_true, y_pred, sample_weight, expected):
    metric = _fresh(metric)
    metric.update_state(np.asarray(y_true), np.asarray(y_pred, float), sample_weight)
    assert metric.result() == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert isinstance(metric.result(), float)


def test_means_weigh_samples_across_batches_and_reset():
    m = MeanSquaredError()
    m.update_state([[0.0], [0.0]], np.array([[1.0], [3.0]]))  # 1 and 9
    m.update_state([[0.0]], np.array([[2.0]]), sample_weight=[2.0])  # 4, weighing 2
    assert m.result() == pytest.approx((1 + 9 + 8) / 4)
    assert (m.total, m.count) == (18.0, 4.0)
    m.reset_state()
    assert m.result() == 0.0
    # as Keras: 1-D y_true and y_pred are one row, so the batch counts as one sample ...
    m.update_state([0.0, 0.0], np.array([1.0, 3.0]))
    assert (m.result(), m.count) == (5.0, 1.0)
    # ... where RootMeanSquaredError counts each element
    r = RootMeanSquaredError()
    r.update_state([0.0, 0.0], np.array([1.0, 3.0]))
    assert (r.result(), r.count) == (pytest.approx(5.0 ** 0.5), 2.0)


def test_mape_floors_zero_targets_at_keras_epsilon():
    m = MeanAbsolutePercentageError()
    m.update_state([[0.0]], np.array([[1e-7]]))
    assert m.result() == pytest.approx(100.0)


def test_precision_recall_several_thresholds_give_arrays():
    y, p = [1, 0, 1, 1], np.array([0.2, 0.4, 0.6, 0.9])
    m = Precision(thresholds=[0.1, 0.5, 0.95])
    m.update_state(y, p)
    np.testing.assert_allclose(m.result(), [3 / 4, 2 / 2, 0.0])  # no positive: 0, as Keras
    r = Recall(thresholds=[0.1, 0.5, 0.95])
    r.update_state(y, p)
    np.testing.assert_allclose(r.result(), [3 / 3, 2 / 3, 0.0])
    assert m.true_positives.numpy().tolist() == [3.0, 2.0, 0.0]
    assert m.false_positives.numpy().tolist() == [1.0, 0.0, 0.0]
    m.reset_state()
    assert m.true_positives.numpy().tolist() == [0.0] * 3


def test_auc_many_thresholds_approaches_the_exact_roc_area():
    rng = np.random.default_rng(1)
    y = rng.random(400) < 0.4
    p = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    pos, neg = p[y], p[~y]
    exact = ((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None])).mean()
    m = AUC(num_thresholds=2000)
    m.update_state(y[:150], p[:150])  # two batches: the counts add up
    m.update_state(y[150:], p[150:])
    assert m.result() == pytest.approx(exact, abs=2e-3)
    assert AUC().result() == 0.0


def test_auc_multi_label_averages_labels_and_builds_at_first_batch():
    y = np.array([[0, 1], [0, 0], [1, 1], [1, 0]])
    # label 0 ranks perfectly (AUC 1); label 1: 3 of 4 positive-negative pairs right (0.75)
    p = np.array([[0.1, 0.9], [0.2, 0.8], [0.8, 0.7], [0.9, 0.6]])
    m = AUC(multi_label=True)
    assert m.variables == []
    m.update_state(y, p)
    assert m.true_positives.shape == (200, 2)
    assert m.result() == pytest.approx((1.0 + 0.75) / 2, abs=1e-6)
    w = AUC(multi_label=True, num_labels=2, label_weights=[3.0, 1.0])
    w.update_state(y, p)
    assert w.result() == pytest.approx((3 * 1.0 + 0.75) / 4, abs=1e-6)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: AUC(curve="DET"), ValueError, r"AUC: argument 'curve' must be one of"),
        (lambda: AUC(summation_method="mean"), ValueError, "argument 'summation_method'"),
        (lambda: AUC(num_thresholds=1), ValueError, "argument 'num_thresholds'"),
        (lambda: AUC(num_labels=3), ValueError, "only with multi_label=True"),
        (lambda: Precision(thresholds=1.5), ValueError, r"Precision: argument 'thresholds'"),
        (lambda: Recall(top_k=0), ValueError, r"Recall: argument 'top_k'"),
        (lambda: Precision(class_id=-1), ValueError, "argument 'class_id'"),
    ],
)
def test_bad_confusion_arguments_name_class_and_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_confusion_shape_errors():
    with pytest.raises(ValueError, match=r"Precision: arguments 'y_true' and 'y_pred' must have "
                                         r"the same shape, received \(3,\) and \(2,\)"):
        Precision().update_state([1, 0, 1], np.array([0.3, 0.8]))
    with pytest.raises(ValueError, match=r"Recall: argument 'class_id' must be < the number"):
        Recall(class_id=5).update_state(np.eye(3), np.eye(3))
    with pytest.raises(ValueError, match="Precision: argument 'sample_weight'"):
        Precision().update_state([1, 0, 1], np.array([0.3, 0.8, 0.2]), sample_weight=[1, 2])


class CategoricalTruePositives(Metric):
    """As in Keras's "training with built-in methods" guide (keras.ops spelled with NumPy)."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.reshape(np.argmax(y_pred, axis=1), (-1, 1))
        values = (np.asarray(y_true).astype("int32") == y_pred.astype("int32"))
        values = values.astype("float32")
        if sample_weight is not None:
            values = np.multiply(values, np.reshape(sample_weight, (-1, 1)))
        self.true_positives.assign_add(np.sum(values))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        self.true_positives.assign(0.0)


def test_subclassed_metric_counts_and_resets():
    m = CategoricalTruePositives()
    assert m.name == "categorical_true_positives" and m.dtype == "float32"
    m.update_state(np.array([[1], [0]]), P[:2])  # predicts 1, 0: both right
    m.update_state(np.array([[2]]), P[2:3], sample_weight=[0.5])
    assert m.result() == 2.5 and isinstance(m.result(), float)
    assert m([[0]], P[3:4]) == 3.5  # __call__ updates and returns the result
    assert [v.name for v in m.variables] == ["ctp"]
    m.reset_state()
    assert m.result() == 0.0
    assert m.get_config() == {"name": "categorical_true_positives", "dtype": "float32"}
    assert type(m).from_config(m.get_config()).name == m.name


def test_subclassed_metric_in_compile_and_fit():
    rng = np.random.default_rng(0)
    x = rng.random((40, 4)).astype("float32")
    y = (x[:, :1] > 0.5).astype("int64")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[CategoricalTruePositives()])
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    hits = history.history["categorical_true_positives"]
    assert len(hits) == 2 and all(0 <= h <= 40 and h == int(h) for h in hits)
    out = model.predict(x, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)  # reset, then one pass
    assert logs["categorical_true_positives"] == (np.argmax(out, 1) == y[:, 0]).sum()

    binary = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    binary.compile(optimizer="adam", loss="binary_crossentropy",
                   metrics=[Precision(), Recall(), AUC(name="a")])
    binary.fit(x, y, batch_size=16, epochs=1, verbose=0)
    logs = binary.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted, positive = binary.predict(x, verbose=0)[:, 0] > 0.5, y[:, 0] == 1
    tp = (predicted & positive).sum()
    assert logs["precision"] == pytest.approx(tp / max(predicted.sum(), 1))
    assert logs["recall"] == pytest.approx(tp / positive.sum())
    assert 0.0 <= logs["a"] <= 1.0


def my_fn(y_true, y_pred):
    return np.mean(np.abs(y_true - y_pred), axis=-1)


def test_function_and_class_metrics_in_compile_and_fit():
    rng = np.random.default_rng(0)
    x = rng.random((32, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=[my_fn, "mae", metrics.AUC, "mse"])
    history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    out = model.predict(x, verbose=0)
    assert set(history.history) >= {"loss", "my_fn", "mae", "auc", "mse"}
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["my_fn"] == pytest.approx(np.abs(y - out).mean(), rel=1e-5)
    assert logs["my_fn"] == pytest.approx(logs["mae"], rel=1e-6)
    assert logs["mse"] == pytest.approx(logs["loss"], rel=1e-5)


def test_metric_variable_api():
    m = Metric(name="holder")
    v = m.add_variable(shape=(3,), initializer="ones", name="v")
    assert (v.shape, v.dtype, v.name, v.trainable) == ((3,), "float32", "v", False)
    v.assign_add(keras.autograd.Tensor(np.array([1.0, 2.0, 3.0])))  # Tensors are accepted
    assert v.numpy().tolist() == [2.0, 3.0, 4.0]
    v.assign(v * 2 - 1)  # arithmetic gives arrays
    assert v.value.tolist() == [3.0, 5.0, 7.0] and float(v[2]) == 7.0 and len(v) == 3
    v.assign_sub(1)
    assert np.asarray(v).tolist() == [2.0, 4.0, 6.0]
    v.numpy()[0] = 100.0  # numpy() is a copy
    assert v.value[0] == 2.0
    v.assign(0.5)  # a scalar fills
    assert v.numpy().tolist() == [0.5] * 3
    with pytest.raises(ValueError, match=r"MetricVariable 'v': assign expects a value of "
                                         r"shape \(3,\).*received shape \(2,\)"):
        v.assign([1.0, 2.0])
    s = m.add_variable(shape=(), initializer=7, dtype="float64", name="s")
    c = m.add_weight(shape=(2,), initializer=lambda shape, dtype: np.full(shape, 3, dtype))
    assert (float(s), s.dtype, c.numpy().tolist()) == (7.0, "float64", [3.0, 3.0])
    assert m.variables == [v, s, c]
    m.reset_state()  # to zeros, as Keras (not back to the initializer)
    assert [x.numpy().tolist() for x in m.variables] == [[0.0] * 3, 0.0, [0.0, 0.0]]
    with pytest.raises(NotImplementedError, match="Metric: override update_state"):
        m.update_state([1], [1])


def test_add_variable_before_super_init_is_explained():
    class Broken(Metric):
        def __init__(self):
            self.v = self.add_variable(shape=(), initializer="zeros")

    with pytest.raises(RuntimeError, match=r"Broken.add_variable: call super\(\).__init__\(\)"):
        Broken()
    with pytest.raises(TypeError, match="argument 'shape'"):
        Metric().add_variable(shape=(2.5,))
    with pytest.raises(TypeError, match="Metric: argument 'dtype'"):
        Metric(dtype="pixels")


def test_results_of_any_kind_become_floats_or_arrays():
    class Several(Metric):
        def update_state(self, *args, **kwargs):
            pass

        def result(self):
            return {"t": keras.autograd.Tensor(np.array(2.0)), "a": np.array([1, 2]), "n": 3}

    assert Several().result() == {"t": 2.0, "a": pytest.approx([1.0, 2.0]), "n": 3.0}
    assert Several().name == "several"


def test_sum_is_weighted_and_sums_extra_axes():
    m = Sum()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    m.update_state(np.ones((2, 3)))
    assert m.result() == 10.0


@pytest.mark.parametrize(
    "identifier, cls",
    [("mse", MeanSquaredError), ("MSE", MeanSquaredError), ("mean_squared_error",
                                                             MeanSquaredError),
     ("MeanSquaredError", MeanSquaredError), ("mae", MeanAbsoluteError),
     ("mean_absolute_error", MeanAbsoluteError), ("mape", MeanAbsolutePercentageError),
     ("mean_absolute_percentage_error", MeanAbsolutePercentageError),
     ("msle", MeanSquaredLogarithmicError), ("root_mean_squared_error", RootMeanSquaredError),
     ("auc", AUC), ("AUC", AUC), ("precision", Precision), ("Recall", Recall),
     ("recall", Recall), ("CategoricalAccuracy", CategoricalAccuracy)],
)
def test_get_keras_names_named_as_asked(identifier, cls):
    m = metrics.get(identifier)
    assert type(m) is cls and m.name == identifier  # as Keras's compile names them


def test_get_functions_classes_and_dicts():
    m = metrics.get(my_fn)
    assert isinstance(m, MeanMetricWrapper) and m.name == "my_fn"

    def maxAbsError(y_true, y_pred):  # noqa: N802
        return np.max(np.abs(np.asarray(y_true) - y_pred), axis=-1)

    m = metrics.get(maxAbsError)
    assert m.name == "max_abs_error"  # snake case, as Keras
    m.update_state([[0.0, 1.0]], np.array([[2.0, 1.5]]))
    m.update_state([[0.0, 0.0]], np.array([[1.0, 1.0]]))
    assert m.result() == 1.5
    assert metrics.get(functools.partial(my_fn)).name == "partial"
    tensor_fn = metrics.get(lambda t, p: keras.autograd.Tensor(np.abs(np.asarray(t) - p)))
    tensor_fn.update_state([1.0, 2.0], np.array([1.0, 0.0]))
    assert tensor_fn.result() == 1.0
    auc = metrics.get(AUC)
    assert type(auc) is AUC and auc.name == "auc"
    d = metrics.get({"class_name": "Precision", "config": {"thresholds": 0.3, "name": "p"}})
    assert (type(d), d.name, d.thresholds) == (Precision, "p", [0.3])


ROUND_TRIP = [
    AUC(num_thresholds=31, curve="PR", summation_method="majoring", from_logits=True,
        name="pr"),
    AUC(thresholds=[0.25, 0.5, 0.8]),
    AUC(multi_label=True, num_labels=2, label_weights=[1.0, 3.0]),
    Precision(thresholds=[0.2, 0.6], name="p"), Precision(top_k=2, class_id=1),
    Recall(thresholds=0.4), MeanSquaredError(name="m"), MeanAbsoluteError(),
    MeanAbsolutePercentageError(), MeanSquaredLogarithmicError(), RootMeanSquaredError(),
    BinaryAccuracy(threshold=0.3), TopKCategoricalAccuracy(k=2), Mean(name="loss"),
    MeanMetricWrapper(metrics.mean_absolute_error, name="wrapped"),
]


@pytest.mark.parametrize("metric", ROUND_TRIP, ids=lambda m: type(m).__name__)
def test_json_round_trip_gives_the_same_metric(metric):
    text = json.dumps(metrics.serialize(metric))
    clone = metrics.deserialize(json.loads(text))
    assert type(clone) is type(metric) and clone.get_config() == metric.get_config()
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    p = np.array([[0.7, 0.2], [0.4, 0.9], [0.6, 0.3]])
    for m in (metric, clone):
        m.reset_state()
        if isinstance(m, Mean) and type(m) is Mean:
            m.update_state(p)
        else:
            m.update_state(y, p)
    np.testing.assert_array_equal(clone.result(), metric.result())


def test_custom_functions_and_classes_need_custom_objects():
    config = json.loads(json.dumps(metrics.serialize(metrics.get(my_fn))))
    assert config == {"class_name": "MeanMetricWrapper",
                      "config": {"name": "my_fn", "dtype": "float32", "fn": "my_fn"}}
    with pytest.raises(ValueError, match="function 'my_fn' is not one of"):
        metrics.deserialize(config)
    assert metrics.deserialize(config, custom_objects={"my_fn": my_fn}).fn is my_fn
    config = metrics.serialize(CategoricalTruePositives(name="ctp"))
    with pytest.raises(ValueError, match="'CategoricalTruePositives' is not one of"):
        metrics.deserialize(config)
    clone = metrics.deserialize(config, custom_objects={
        "CategoricalTruePositives": CategoricalTruePositives})
    assert type(clone) is CategoricalTruePositives and clone.name == "ctp"
    assert metrics.serialize(metrics.mean_squared_error) == "mean_squared_error"
    assert metrics.deserialize("mean_squared_error") is metrics.mean_squared_error
    with pytest.raises(TypeError, match="metrics.serialize: argument 'metric'"):
        metrics.serialize(my_fn)
