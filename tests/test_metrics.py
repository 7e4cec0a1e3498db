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
    assert m.get_config() == {"k": 3, "name": "top3"}
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
    assert m.get_config() == {"name": "loss"}
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
        metrics.get("precision")
    text = str(info.value)
    assert "argument 'identifier'" in text and "'precision'" in text
    assert "sparse_top_k_categorical_accuracy" in text and "'accuracy'" in text
    with pytest.raises(TypeError, match="received int"):
        metrics.get(3)
