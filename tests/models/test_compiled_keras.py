"""compile/fit/evaluate with several inputs and outputs, sample and class weights, against
Keras 3 itself on the same weights and data: the same log names and the same values."""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

import svertka  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RNG = np.random.default_rng(0)
X1 = RNG.normal(size=(10, 4)).astype("float32")
X2 = RNG.normal(size=(10, 3)).astype("float32")
YA = RNG.integers(0, 3, size=(10,))
YB = RNG.normal(size=(10, 1)).astype("float32")
SW = RNG.uniform(0.2, 2, size=10).astype("float32")


def two_headed(mod):
    a, b = mod.Input((4,), name="img"), mod.Input((3,), name="meta")
    h = mod.layers.Dense(5, activation="relu", name="hidden")(mod.layers.Concatenate()([a, b]))
    return mod.Model([a, b], [mod.layers.Dense(3, activation="softmax", name="cls")(h),
                              mod.layers.Dense(1, name="reg")(h)])


def pair(build, **compile_args):
    km, sm = build(keras), build(svertka)
    sm.set_weights([w.astype("float32") for w in km.get_weights()])
    for m in (km, sm):
        m.compile("sgd", **compile_args)
    return km, sm


def same_logs(k: dict, s: dict, rel=1e-5):
    assert sorted(k) == sorted(s)
    for name in k:
        assert s[name] == pytest.approx(float(k[name]), rel=rel, abs=1e-6), name


@pytest.mark.parametrize("weights", [None, [SW, SW]])
def test_two_outputs_with_loss_and_metric_dicts_log_as_keras(weights):
    km, sm = pair(two_headed, loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5},
                  metrics={"cls": ["accuracy"], "reg": ["mae"]}, weighted_metrics={"reg": ["mse"]})
    args = ({"img": X1, "meta": X2}, [YA, YB])
    same_logs(km.evaluate(*args, sample_weight=weights, verbose=0, return_dict=True),
              sm.evaluate(*args, sample_weight=weights, verbose=0, return_dict=True))


def test_one_loss_for_two_outputs_and_list_losses_train_as_keras():
    km, sm = pair(two_headed, loss=["sparse_categorical_crossentropy", "mae"],
                  loss_weights=[0.3, 2.0], metrics=[["accuracy"], None])
    hk = km.fit([X1, X2], [YA, YB], epochs=2, batch_size=4, shuffle=False, verbose=0).history
    hs = sm.fit([X1, X2], [YA, YB], epochs=2, batch_size=4, shuffle=False, verbose=0).history
    for name in hk:
        assert hs[name] == pytest.approx([float(v) for v in hk[name]], rel=1e-4), name


def single(mod):
    return mod.Sequential([mod.Input((4,)), mod.layers.Dense(3, activation="softmax")])


def test_class_weight_and_weighted_metrics_train_as_keras():
    km, sm = pair(single, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    hk = km.fit(X1, YA, class_weight=cw, epochs=2, batch_size=4, shuffle=False, verbose=0)
    hs = sm.fit(X1, YA, class_weight=cw, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for name in hk.history:
        assert hs.history[name] == pytest.approx([float(v) for v in hk.history[name]],
                                                 rel=1e-4), name


@pytest.mark.parametrize("loss", ["mse", "categorical_crossentropy", "huber"])
def test_sample_weight_in_fit_and_evaluate_as_keras(loss):
    km, sm = pair(single, loss=loss)
    y = np.eye(3, dtype="float32")[YA]
    hk = km.fit(X1, y, sample_weight=SW, epochs=2, batch_size=3, shuffle=False, verbose=0)
    hs = sm.fit(X1, y, sample_weight=SW, epochs=2, batch_size=3, shuffle=False, verbose=0)
    assert hs.history["loss"] == pytest.approx([float(v) for v in hk.history["loss"]], rel=1e-4)
    assert sm.evaluate(X1, y, sample_weight=SW, verbose=0) == pytest.approx(
        float(km.evaluate(X1, y, sample_weight=SW, verbose=0)), rel=1e-5)


def test_train_test_and_predict_on_batch_as_keras():
    # Keras 3 resets the metrics at each call: every value is the batch's own
    km, sm = pair(two_headed, loss=["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae"]])
    for rows in (slice(0, 10), slice(0, 4), slice(3, 9)):
        args = ([X1[rows], X2[rows]], [YA[rows], YB[rows]])
        k = km.train_on_batch(*args, sample_weight=[SW[rows], SW[rows]])
        s = sm.train_on_batch(*args, sample_weight=[SW[rows], SW[rows]])
        assert len(s) == len(k) and s == pytest.approx([float(v) for v in k], rel=1e-5)
        same_logs(km.test_on_batch(*args, return_dict=True),
                  sm.test_on_batch(*args, return_dict=True))
    for a, b in zip(km.get_weights(), sm.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(km.predict_on_batch([X1, X2]), sm.predict_on_batch([X1, X2])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_train_on_batch_with_class_weight_and_one_loss_returns_a_float_as_keras():
    def one(mod):
        x = mod.Input((4,))
        return mod.Model(x, mod.layers.Dense(3, activation="softmax")(x))

    km, sm = pair(one, loss="sparse_categorical_crossentropy")
    weights = {0: 0.5, 1: 2.0, 2: 1.0}
    k = km.train_on_batch(X1, YA, class_weight=weights)
    s = sm.train_on_batch(X1, YA, class_weight=weights)
    assert isinstance(s, float) and s == pytest.approx(float(k), rel=1e-5)
    with pytest.raises(ValueError, match="class_weight"):
        sm.train_on_batch(X1, YA, sample_weight=SW, class_weight=weights)
    with pytest.raises(ValueError, match=r"train_on_batch: argument 'x' must be one non-empty"):
        sm.train_on_batch(X1[:0], YA[:0])
