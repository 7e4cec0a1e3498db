"""svertka's metrics against Keras 3 itself on the same random batches: results after each of
several update_state calls, with and without sample_weight, after reset_state, and configs
that each side can read back. Skipped where Keras is not installed."""

import os
import re

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

# Keras's torch backend converts its own tensors with np.array(x, copy=False) (its warning)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
from keras.src.trainers.compile_utils import get_metric as keras_compile_metric  # noqa: E402

from svertka import metrics  # noqa: E402

RNG = np.random.default_rng(22)
SIZES = (7, 16, 5)  # several batches of different sizes, the last one short


def _k(value):
    return np.asarray(keras.ops.convert_to_numpy(value), dtype=float)


def _regression(n, shape=(3,)):
    t = RNG.uniform(0.5, 2.0, (n, *shape)).astype("float32")
    return t, (t + RNG.normal(0, 0.4, t.shape)).astype("float32")


def _binary(n, width=1):
    return (RNG.random((n, width)) < 0.4).astype("float32"), RNG.random((n, width)).astype(
        "float32")


def _logits(n):
    return (RNG.random((n, 1)) < 0.5).astype("float32"), RNG.normal(0, 2, (n, 1)).astype(
        "float32")


def _classes(n, k=5):
    p = RNG.random((n, k)).astype("float32")
    return np.eye(k, dtype="float32")[RNG.integers(0, k, n)], p / p.sum(1, keepdims=True)


def _sparse(n, k=4):
    p = RNG.random((n, k)).astype("float32")
    return RNG.integers(0, k, n).astype("float32")[:, None], p


CASES = [
    ("MeanSquaredError", {}, _regression),
    ("MeanSquaredError", {}, lambda n: _regression(n, (1,))),
    ("MeanSquaredError", {}, lambda n: tuple(a[:, 0] for a in _regression(n, (1,)))),
    ("MeanAbsoluteError", {}, _regression),
    ("MeanAbsoluteError", {}, lambda n: _regression(n, (4, 4, 2))),
    ("MeanAbsolutePercentageError", {}, _regression),
    ("MeanSquaredLogarithmicError", {}, _regression),
    ("RootMeanSquaredError", {}, _regression),
    ("RootMeanSquaredError", {}, lambda n: tuple(a[:, 0] for a in _regression(n, (1,)))),
    ("Precision", {}, _binary),
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, _binary),
    ("Precision", {"thresholds": [0.0, 0.5, 1.0]}, _binary),  # evenly spaced: Keras's buckets
    ("Precision", {"top_k": 2}, _classes),
    ("Precision", {"class_id": 3}, _classes),
    ("Precision", {"top_k": 1, "class_id": 1}, _classes),
    ("Recall", {}, _binary),
    ("Recall", {"thresholds": 0.3}, lambda n: _binary(n, 3)),
    ("Recall", {"top_k": 2}, _classes),
    ("Recall", {"class_id": 0}, _classes),
    ("AUC", {}, _binary),
    ("AUC", {}, lambda n: _binary(n, 3)),
    ("AUC", {"curve": "PR"}, _binary),
    ("AUC", {"num_thresholds": 7}, _binary),
    ("AUC", {"summation_method": "minoring"}, _binary),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, _binary),
    ("AUC", {"curve": "PRGAIN"}, _binary),
    ("AUC", {"thresholds": [0.1, 0.35, 0.6, 0.9]}, _binary),
    ("AUC", {"from_logits": True}, _logits),
    ("AUC", {"multi_label": True}, lambda n: _binary(n, 3)),
    ("AUC", {"multi_label": True, "num_labels": 3, "label_weights": [1.0, 2.0, 0.5]},
     lambda n: _binary(n, 3)),
    ("AUC", {"label_weights": [1.0, 2.0, 0.5]}, lambda n: _binary(n, 3)),
    ("BinaryAccuracy", {}, _binary),
    ("CategoricalAccuracy", {}, _classes),
    ("SparseCategoricalAccuracy", {}, _sparse),
    ("TopKCategoricalAccuracy", {"k": 2}, _classes),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, _sparse),
]


PARAMS = [pytest.param(*case, weighted, id=f"{case[0]}-{i}-{'w' if weighted else 'u'}")
          for i, case in enumerate(CASES) for weighted in (False, True)
          if not (weighted and i == 2)]  # Keras cannot weigh MSE's one value per 1-D batch


@pytest.mark.parametrize("name, kwargs, data, weighted", PARAMS)
def test_metric_matches_keras(name, kwargs, data, weighted):
    ours = getattr(metrics, name)(**kwargs)
    theirs = getattr(keras.metrics, name)(**kwargs)
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)  # Keras numbers later instances
    for step, n in enumerate([*SIZES, None, SIZES[0]]):
        if n is None:  # reset in the middle: both start again
            ours.reset_state()
            theirs.reset_state()
            assert np.allclose(ours.result(), _k(theirs.result()))
            continue
        y_true, y_pred = data(n)
        sw = RNG.uniform(0.0, 2.0, n).astype("float32") if weighted else None
        ours.update_state(y_true, y_pred, sample_weight=sw)
        theirs.update_state(y_true, y_pred, sample_weight=sw)
        np.testing.assert_allclose(ours.result(), _k(theirs.result()), rtol=2e-5, atol=1e-6,
                                   err_msg=f"{name}{kwargs} after update {step + 1}")


@pytest.mark.parametrize("name, kwargs, data", CASES[4:5] + CASES[9:10] + CASES[20:21],
                         ids=["mae-maps", "precision", "auc"])
def test_per_entry_sample_weights_match_keras(name, kwargs, data):
    ours = getattr(metrics, name)(**kwargs)
    theirs = getattr(keras.metrics, name)(**kwargs)
    for n in SIZES:
        y_true, y_pred = data(n)
        sw = RNG.uniform(0.0, 2.0, y_true.shape[:2]).astype("float32")
        ours.update_state(y_true, y_pred, sample_weight=sw)
        theirs.update_state(y_true, y_pred, sample_weight=sw)
        np.testing.assert_allclose(ours.result(), _k(theirs.result()), rtol=2e-5)


def test_mean_and_sum_match_keras():
    for name in ("Mean", "Sum"):
        ours, theirs = getattr(metrics, name)(), getattr(keras.metrics, name)()
        for values, sw in ((RNG.random(6), None), (RNG.random((4, 3)), RNG.random(4)),
                           (RNG.random((3, 2)), RNG.random((3, 2))), (2.5, 4.0)):
            ours.update_state(values, sample_weight=sw)
            theirs.update_state(values, sample_weight=sw)
            np.testing.assert_allclose(ours.result(), _k(theirs.result()), rtol=1e-5)


def test_configs_round_trip_both_ways():
    made = [("AUC", {"curve": "PR", "num_thresholds": 50, "from_logits": True}),
            ("AUC", {"thresholds": [0.2, 0.4, 0.9]}),
            ("Precision", {"thresholds": [0.3, 0.6], "name": "p"}),
            ("Recall", {"top_k": 3, "class_id": 1}),
            ("MeanSquaredError", {"name": "mse"}), ("MeanAbsolutePercentageError", {}),
            ("RootMeanSquaredError", {}), ("BinaryAccuracy", {"threshold": 0.3}),
            ("TopKCategoricalAccuracy", {"k": 3})]
    for name, kwargs in made:
        ours = getattr(metrics, name)(**kwargs)
        theirs = getattr(keras.metrics, name)(**kwargs)
        config = ours.get_config()
        assert set(config) == set(theirs.get_config()), name
        for key, value in theirs.get_config().items():
            if key == "name":
                value = re.sub(r"_\d+$", "", value)
            assert config[key] == value, (name, key)
        from_theirs = getattr(metrics, name).from_config(theirs.get_config())
        assert from_theirs.get_config() == theirs.get_config()
        back = getattr(keras.metrics, name).from_config(config)
        assert back.get_config() == config


@pytest.mark.parametrize("identifier", ["mse", "MSE", "mae", "mape", "msle",
                                        "mean_squared_error", "MeanSquaredError",
                                        "root_mean_squared_error", "auc", "AUC",
                                        "precision", "recall", "Precision",
                                        "categorical_accuracy", "binary_accuracy"])
def test_names_resolve_as_keras_compile_does(identifier):
    y_true, y_pred = _binary(4)
    theirs = keras_compile_metric(identifier, y_true, y_pred)
    ours = metrics.get(identifier)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.name == theirs.name


def test_function_metric_named_and_averaged_as_keras():
    def maxAbsError(y_true, y_pred):  # noqa: N802 - Keras snake-cases the name
        return np.max(np.abs(y_true - y_pred), axis=-1)

    def batch_mean(y_true, y_pred):  # one value per batch: each batch counts once
        return float(np.mean(y_pred))

    for fn in (maxAbsError, batch_mean):
        ours = metrics.get(fn)
        theirs = keras_compile_metric(fn, *_regression(2))
        assert ours.name == theirs.name
        for n in SIZES:
            y_true, y_pred = _regression(n)
            ours.update_state(y_true, y_pred)
            theirs.update_state(y_true, y_pred)
        np.testing.assert_allclose(ours.result(), _k(theirs.result()), rtol=1e-5)


def test_per_entry_weights_keras_rejects_are_an_error_here_too():
    y_true, y_pred = _regression(4)
    sw = np.ones((4, 3), "float32")  # MSE has one value per sample: 3 weights each is wrong
    with pytest.raises(RuntimeError):
        keras.metrics.MeanSquaredError().update_state(y_true, y_pred, sample_weight=sw)
    with pytest.raises(ValueError, match="MeanSquaredError: argument 'sample_weight'"):
        metrics.MeanSquaredError().update_state(y_true, y_pred, sample_weight=sw)


class KerasTruePositives(keras.metrics.Metric):
    """Keras's "training with built-in methods" guide's metric, as written there, plus a
    variable initialised to ones (to see what reset_state does with it)."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")
        self.batches = self.add_variable(shape=(2,), name="batches", initializer="ones")

    def update_state(self, y_true, y_pred, sample_weight=None):
        ops = keras.ops
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            values = ops.multiply(values, ops.reshape(sample_weight, (-1, 1)))
        self.true_positives.assign_add(ops.sum(values))
        self.batches.assign(self.batches + 1.0)

    def result(self):
        return self.true_positives.value + self.batches[0] - self.batches[1]


class OurTruePositives(metrics.Metric):
    """The same with NumPy in place of keras.ops (svertka's ops have no argmax/cast yet)."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")
        self.batches = self.add_variable(shape=(2,), name="batches", initializer="ones")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.reshape(np.argmax(y_pred, axis=1), (-1, 1))
        values = (y_true.astype("int32") == y_pred.astype("int32")).astype("float32")
        if sample_weight is not None:
            values = values * np.reshape(sample_weight, (-1, 1))
        self.true_positives.assign_add(np.sum(values))
        self.batches.assign(self.batches + 1.0)

    def result(self):
        return self.true_positives.value + self.batches[0] - self.batches[1]


def test_subclassed_metric_matches_keras_and_resets_to_zeros():
    ours, theirs = OurTruePositives(), KerasTruePositives()
    for n in (*SIZES, None, 6):
        if n is None:
            ours.reset_state()
            theirs.reset_state()  # to zeros, the "ones" variable too
            assert [v.numpy().tolist() for v in ours.variables] == [
                _k(v).tolist() for v in theirs.variables] == [0.0, [0.0, 0.0]]
            continue
        y_true, y_pred = _sparse(n)
        sw = RNG.uniform(0, 2, n).astype("float32")
        ours.update_state(y_true, y_pred, sample_weight=sw)
        theirs.update_state(y_true, y_pred, sample_weight=sw)
        assert ours.result() == pytest.approx(float(_k(theirs.result())), rel=1e-5)
    assert ours.get_config() == theirs.get_config()
    assert [(v.name, v.shape, v.dtype) for v in ours.variables] == [
        (v.name, tuple(v.shape), v.dtype) for v in theirs.variables]
