"""compile's losses, loss weights and metrics per output; sample and class weights;
steps_per_epoch, validation_freq and the evaluate/predict callbacks: Keras 3's documented
behaviour, checked against values worked out here from the model's own outputs."""

import numpy as np
import pytest

import svertka
from svertka import callbacks, layers, ops

RNG = np.random.default_rng(1)
X = RNG.normal(size=(12, 4)).astype("float32")
Y = RNG.normal(size=(12, 2)).astype("float32")
Z = RNG.normal(size=(12, 1)).astype("float32")


def two_outputs():
    x = svertka.Input((4,), name="x")
    h = layers.Dense(6, activation="tanh", name="h")(x)
    return svertka.Model(x, [layers.Dense(2, name="p")(h), layers.Dense(1, name="q")(h)])


def test_loss_weights_give_the_weighted_sum_and_each_output_is_logged():
    m = two_outputs()
    m.compile("sgd", loss=["mse", "mae"], loss_weights=[2.0, 0.25])
    p, q = m.predict(X)
    mse = float(np.mean((p - Y) ** 2))
    mae = float(np.mean(np.abs(q - Z)))
    logs = m.evaluate(X, [Y, Z], verbose=0, return_dict=True)
    assert logs["p_loss"] == pytest.approx(mse, rel=1e-5)
    assert logs["q_loss"] == pytest.approx(mae, rel=1e-5)
    assert logs["loss"] == pytest.approx(2.0 * mse + 0.25 * mae, rel=1e-5)
    assert m.metrics_names == ["loss", "p_loss", "q_loss"]


def test_a_dict_loss_may_leave_an_output_without_loss_and_targets():
    m = two_outputs()
    m.compile("sgd", loss={"q": "mse"}, metrics={"q": ["mae"]})
    q = m.predict(X)[1]
    logs = m.evaluate(X, {"q": Z}, verbose=0, return_dict=True)
    assert logs == pytest.approx({"loss": float(np.mean((q - Z) ** 2)),
                                  "q_mae": float(np.mean(np.abs(q - Z)))}, rel=1e-5)


def test_predict_returns_one_array_per_output():
    p, q = two_outputs().predict(X, batch_size=5)
    assert p.shape == (12, 2) and q.shape == (12, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"loss": ["mse"]}, r"argument 'loss' must have one entry per output \(2: \['p', 'q'\]\)"),
    ({"loss": {"r": "mse"}}, r"argument 'loss' names outputs \['r'\]"),
    ({"loss": "mse", "loss_weights": "big"}, "argument 'loss_weights' must be a float"),
    ({"loss": "mse", "metrics": {"z": ["mae"]}}, r"argument 'metrics' names outputs \['z'\]"),
    ({"loss": "mse", "metrics": "mae"}, "argument 'metrics' must be a list"),
])
def test_compile_rejects_losses_and_metrics_that_do_not_fit_the_outputs(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        two_outputs().compile("sgd", **kwargs)


def test_targets_must_match_the_outputs():
    m = two_outputs()
    m.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match=r"'y' must hold one array per model output \(2"):
        m.fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match="the output 'q' has a loss but no targets"):
        m.fit(X, {"p": Y}, verbose=0)


def single():
    return svertka.Sequential([svertka.Input((4,)), layers.Dense(2)])


def test_sample_weights_weigh_each_sample_over_the_batch_size():
    m = single()
    m.compile("sgd", loss="mse", weighted_metrics=["mae"])
    w = np.linspace(0.0, 2.0, 12).astype("float32")
    err = m.predict(X) - Y
    logs = m.evaluate(X, Y, sample_weight=w, batch_size=12, verbose=0, return_dict=True)
    # Keras's sum_over_batch_size: the weighted sum over the number of samples
    assert logs["loss"] == pytest.approx(float(np.sum(w * np.mean(err ** 2, -1)) / 12), rel=1e-5)
    # a weighted metric divides by the sum of the weights
    assert logs["mae"] == pytest.approx(float(np.sum(w * np.mean(np.abs(err), -1)) / w.sum()),
                                        rel=1e-5)
    assert m.evaluate(X, Y, sample_weight=np.zeros(12), verbose=0) == [0.0, 0.0]


def test_zero_sample_weights_train_nothing():
    m = single()
    m.compile("sgd", loss="mse")
    before = m.get_weights()
    m.fit(X, Y, sample_weight=np.zeros((12, 1)), epochs=2, verbose=0)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_class_weight_multiplies_each_samples_loss_by_its_class_weight():
    m = svertka.Sequential([svertka.Input((4,)), layers.Dense(3, activation="softmax")])
    m.compile("sgd", loss="sparse_categorical_crossentropy")
    y = np.array([0, 1, 2] * 4)
    probs = m.predict(X)
    ce = -np.log(probs[np.arange(12), y])
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    w = np.array([cw[c] for c in y])
    h = m.fit(X, y, class_weight=cw, batch_size=12, epochs=1, shuffle=False, verbose=0)
    assert h.history["loss"][0] == pytest.approx(float(np.sum(w * ce) / 12), rel=1e-5)


def test_class_weight_and_sample_weight_together_are_refused_as_in_keras():
    m = svertka.Sequential([svertka.Input((4,)), layers.Dense(3, activation="softmax")])
    m.compile("sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="'class_weight' cannot be used together with sample "
                                         "weights"):
        m.fit(X, np.arange(12) % 3, class_weight={0: 2.0}, sample_weight=np.ones(12), verbose=0)


@pytest.mark.parametrize("weights, message", [
    (np.ones(5), r"must have shape \(12,\) or \(12, 1\), one weight per sample"),
    (-np.ones(12), "must hold finite weights >= 0"),
    (np.full(12, np.nan), "must hold finite weights >= 0"),
    (np.array(["a"] * 12), "must be an array of numbers"),
])
def test_bad_sample_weights_are_refused(weights, message):
    m = single()
    m.compile("sgd", loss="mse")
    with pytest.raises((ValueError, TypeError), match=f"fit: argument 'sample_weight' .*{message}"):
        m.fit(X, Y, sample_weight=weights, verbose=0)


class Count(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            calls = object.__getattribute__(self, "calls")
            return lambda *args: calls.append((name, *args[:-1]))
        return object.__getattribute__(self, name)


def test_steps_per_epoch_and_validation_freq():
    m = single()
    m.compile("sgd", loss="mse")
    cb = Count()
    h = m.fit(X, Y, batch_size=2, steps_per_epoch=3, epochs=4, validation_data=(X, Y),
              validation_freq=2, callbacks=[cb], verbose=0)
    trained = [c for c in cb.calls if c[0] == "on_train_batch_end"]
    assert len(trained) == 12 and [c[1] for c in trained[:4]] == [0, 1, 2, 0]
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2
    assert [c[0] for c in cb.calls].count("on_test_begin") == 2  # validation runs the test hooks


def test_evaluate_and_predict_call_their_hooks_in_keras_order():
    m = single()
    m.compile("sgd", loss="mse")
    cb = Count()
    m.evaluate(X, Y, batch_size=5, callbacks=[cb], verbose=0)
    assert [c[0] for c in cb.calls] == [
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_batch_begin",
        "on_test_batch_end", "on_test_batch_begin", "on_test_batch_end", "on_test_end"]
    seen = []

    class Outputs(callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append((batch, logs["outputs"].shape))

    m.predict(X, batch_size=5, callbacks=[Outputs()])
    assert seen == [(0, (5, 2)), (1, (5, 2)), (2, (2, 2))]


class Penalty(layers.Layer):
    def call(self, x):
        self.add_loss(ops.mean(ops.square(x)))
        return x


def test_compile_without_loss_trains_on_add_loss_terms_alone():
    x = svertka.Input((4,))
    m = svertka.Model(x, Penalty()(layers.Dense(3)(x)))
    m.compile(optimizer=svertka.optimizers.SGD(0.1))
    h = m.fit(X, epochs=5, batch_size=12, verbose=0)
    assert np.all(np.diff(h.history["loss"]) < 0)


def test_fit_with_no_loss_at_all_says_so():
    m = single()
    m.compile("sgd")
    with pytest.raises(ValueError, match="no loss to compute; give compile"):
        m.fit(X, Y, verbose=0)


def test_a_model_of_two_outputs_saves_and_loads_with_its_compile_settings(tmp_path):
    m = two_outputs()
    m.compile("adam", loss={"p": "mse", "q": "mae"}, loss_weights={"p": 1.0, "q": 0.3},
              metrics={"p": ["mae"]}, weighted_metrics={"q": ["mse"]})
    m.fit(X, [Y, Z], epochs=1, verbose=0)
    m.save(tmp_path / "m.svk")
    back = svertka.load_model(tmp_path / "m.svk")
    assert back._compile_config == m._compile_config
    assert back.evaluate(X, [Y, Z], verbose=0, return_dict=True) == pytest.approx(
        m.evaluate(X, [Y, Z], verbose=0, return_dict=True))
    # the file's compile settings are checked before anything is built
    import json
    import zipfile

    with zipfile.ZipFile(tmp_path / "m.svk") as z:
        index = json.loads(z.read("svertka.json"))
        entries = {n: z.read(n) for n in z.namelist()}
    index["compile"]["loss_weights"] = {"p": "heavy"}
    entries["svertka.json"] = json.dumps(index).encode()
    with zipfile.ZipFile(tmp_path / "bad.svk", "w") as z:
        for n, data in entries.items():
            z.writestr(n, data)
    with pytest.raises(svertka.ModelFileError, match="compile.loss_weights"):
        svertka.load_model(tmp_path / "bad.svk")


class NonNegative(layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="random_normal",
                                 constraint=lambda w: ops.maximum(w, 0.0))

    def call(self, x):
        return ops.matmul(x, self.w)


def test_a_weight_constraint_is_applied_after_every_update():
    x = svertka.Input((4,))
    m = svertka.Model(x, NonNegative()(x))
    m.compile(svertka.optimizers.SGD(0.01), loss="mse")
    layer = m.layers[-1]
    layer.set_weights([np.zeros((4, 2), np.float32)])
    # positive inputs and negative targets: from 0, every step pushes every weight below 0,
    # so only a constraint applied after each of the 6 updates leaves them all exactly at 0
    m.fit(np.abs(X), -np.abs(Y) - 1, epochs=2, batch_size=4, verbose=0)
    assert (layer.get_weights()[0] == 0.0).all()
    with pytest.raises(TypeError, match="argument 'constraint' must be a callable"):
        m.layers[-1].add_weight(shape=(2,), constraint="non_neg")


def test_sample_weights_with_a_custom_loss_need_its_per_sample_values():
    w = np.linspace(0.5, 1.5, 12).astype("float32")

    def per_sample(y_true, y_pred):
        return ops.mean(ops.square(y_pred - y_true), axis=-1)

    m = single()
    m.compile("sgd", loss=per_sample)
    err = m.predict(X) - Y
    expected = float(np.sum(w * np.mean(err ** 2, -1)) / 12)
    assert m.evaluate(X, Y, sample_weight=w, batch_size=12, verbose=0) == pytest.approx(
        expected, rel=1e-5)
    m.compile("sgd", loss=lambda t, p: ops.mean(ops.square(p - t)))
    with pytest.raises(ValueError, match="sample weights need a loss that returns one value per "
                                         "sample"):
        m.evaluate(X, Y, sample_weight=w, verbose=0)


def test_sample_weights_with_softmax_cross_entropy_take_either_label_form():
    m = svertka.Sequential([svertka.Input((4,)), layers.Dense(3)])
    m.compile("sgd", loss="softmax_cross_entropy")
    labels = np.array([0, 1, 2] * 4)
    w = np.linspace(0.0, 2.0, 12).astype("float32")
    logits = m.predict(X).astype(np.float64)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = float(np.sum(-w * logp[np.arange(12), labels]) / 12)
    sparse = m.evaluate(X, labels, sample_weight=w, batch_size=12, verbose=0)
    onehot = m.evaluate(X, np.eye(3)[labels], sample_weight=w, batch_size=12, verbose=0)
    assert sparse == pytest.approx(expected, rel=1e-5) and onehot == pytest.approx(expected,
                                                                                    rel=1e-5)
