"""svertka's callback hooks against Keras 3's own: the same calls, in the same order, with the
same log keys, over fit (with validation), evaluate and predict of the same small model."""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

import svertka  # noqa: E402

# Keras's torch backend converts with np.array(x, copy=False) on its own tensors
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SVERTKA_EXTRAS = {"batch_loss", "size"}  # svertka's own batch keys (History, TerminateOnNaN)
HOOKS = ["on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
         "on_predict_end"]
BATCH_HOOKS = ["on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
               "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
               "on_predict_batch_end"]


def recorder(base):
    """A callback of ``base`` that records (hook, [index], log keys) for every hook."""
    calls = []

    def make(name, indexed):
        def hook(self, *args, logs=None):
            if indexed:
                index, logs = args[0], (args[1] if len(args) > 1 else logs)
                calls.append((name, index, sorted(set(logs or {}) - SVERTKA_EXTRAS)))
            else:
                logs = args[0] if args else logs
                calls.append((name, sorted(logs or {})))
        return hook

    methods = {n: make(n, False) for n in HOOKS} | {n: make(n, True) for n in BATCH_HOOKS}
    return type("Recorder", (base,), methods)(), calls


def run(lib, layers):
    rng = np.random.default_rng(0)
    x = rng.random((10, 3)).astype("float32")
    y = np.arange(10) % 2
    model = lib.Sequential([layers.Input((3,)), layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    callback, calls = recorder(lib.callbacks.Callback)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, validation_data=(x[:6], y[:6]),
              callbacks=[callback])
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[callback])
    model.predict(x, batch_size=4, verbose=0, callbacks=[callback])
    return calls


def test_hooks_are_called_as_keras_calls_them():
    ours = run(svertka, svertka.layers)
    theirs = run(keras, keras.layers)
    assert ours == theirs
    assert ("on_test_end", ["accuracy", "loss"]) in ours  # fit's validation runs the test hooks
    assert ("on_predict_batch_end", 2, ["outputs"]) in ours


def test_old_batch_hook_names_run_during_training_as_in_keras():
    def count(lib, layers):
        class Old(lib.callbacks.Callback):
            seen = 0

            def on_batch_end(self, batch, logs=None):
                type(self).seen += 1

        model = lib.Sequential([layers.Input((3,)), layers.Dense(1)])
        model.compile("sgd", "mse")
        model.fit(np.ones((8, 3), "float32"), np.ones((8, 1), "float32"), batch_size=2,
                  epochs=1, verbose=0, callbacks=[Old()])
        return Old.seen

    assert count(svertka, svertka.layers) == count(keras, keras.layers) == 4
