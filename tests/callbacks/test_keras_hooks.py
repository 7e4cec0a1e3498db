"""Keras 3's hooks on Callback and CallbackList, and ModelCheckpoint's save_freq in batches
(Keras's documented behaviour, stated here without Keras installed)."""

import numpy as np
import pytest

import svertka
from svertka.callbacks import Callback, CallbackList, ModelCheckpoint
from svertka.layers import Dense

ALL_HOOKS = [
    ("on_train_begin", False), ("on_train_end", False), ("on_epoch_begin", True),
    ("on_epoch_end", True), ("on_batch_begin", True), ("on_batch_end", True),
    ("on_train_batch_begin", True), ("on_train_batch_end", True), ("on_test_begin", False),
    ("on_test_end", False), ("on_test_batch_begin", True), ("on_test_batch_end", True),
    ("on_predict_begin", False), ("on_predict_end", False), ("on_predict_batch_begin", True),
    ("on_predict_batch_end", True),
]


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []


for _name, _indexed in ALL_HOOKS:
    def _hook(self, *args, _name=_name):
        self.calls.append((_name, *args))
    setattr(Recorder, _name, _hook)


def test_the_base_callback_has_every_keras_hook_as_a_no_op():
    cb = Callback()
    for name, indexed in ALL_HOOKS:
        logs = {"loss": 1.0}
        assert getattr(cb, name)(*((0,) if indexed else ()), logs) is None
        assert logs == {"loss": 1.0}, name  # the logs go on to the next callback untouched


@pytest.mark.parametrize("name, indexed", ALL_HOOKS)
def test_callback_list_dispatches_every_hook_in_order_with_one_logs_dict(name, indexed):
    first, second = Recorder(), Recorder()
    cbs = CallbackList([first, second])
    logs = {"loss": 0.5}
    getattr(cbs, name)(*((3,) if indexed else ()), logs)
    expected = [(name, *((3,) if indexed else ()), logs)]
    assert first.calls == second.calls == expected
    assert first.calls[0][-1] is second.calls[0][-1]  # the same dict: keys added are shared
    getattr(cbs, name)(*((3,) if indexed else ()))  # logs default to an empty dict
    assert first.calls[-1][-1] == {}


def test_on_train_batch_hooks_default_to_the_older_on_batch_names():
    class Old(Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_batch_begin(self, batch, logs=None):
            self.seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            self.seen.append(("end", batch, logs["loss"]))

    old = Old()
    cbs = CallbackList([old])
    cbs.on_train_batch_begin(0)
    cbs.on_train_batch_end(0, {"loss": 1.5})
    cbs.on_test_batch_end(0, {"loss": 9.0})  # test batches do not reach on_batch_end (Keras)
    assert old.seen == [("begin", 0), ("end", 0, 1.5)]


class SavingModel:
    """Records what ModelCheckpoint saves."""

    stop_training = False

    def __init__(self):
        self.saved = []

    def save(self, path):
        self.saved.append(("model", path))

    def save_weights(self, path):
        self.saved.append(("weights", path))


def drive(checkpoint, epochs, steps, losses=None, fits=1):
    model = SavingModel()
    cbs = CallbackList([checkpoint], model=model)
    losses = iter(losses or [])
    for _ in range(fits):
        cbs.on_train_begin()
        for epoch in range(epochs):
            cbs.on_epoch_begin(epoch)
            for step in range(steps):
                cbs.on_train_batch_begin(step)
                cbs.on_train_batch_end(step, {"loss": next(losses, 1.0), "size": 4})
            cbs.on_epoch_end(epoch, {"loss": 1.0})
        cbs.on_train_end()
    return model.saved


def test_save_freq_counts_batches_across_epochs_as_keras():
    # 2 batches an epoch, every 3 batches: after (epoch 2, batch 1), then (epoch 3, batch 2)
    checkpoint = ModelCheckpoint("c/e{epoch}-b{batch}.keras", save_freq=3)
    assert drive(checkpoint, epochs=3, steps=2) == [("model", "c/e2-b1.keras"),
                                                    ("model", "c/e3-b2.keras")]


def test_save_freq_keeps_counting_across_fit_calls_and_never_saves_at_epoch_ends():
    checkpoint = ModelCheckpoint("w{epoch}.weights.h5", save_weights_only=True, save_freq=4)
    saved = drive(checkpoint, epochs=3, steps=1, fits=2)  # 6 batches in all
    assert saved == [("weights", "w1.weights.h5")]  # the 4th batch: epoch 1 of the second fit


def test_save_freq_with_save_best_only_monitors_the_batch_logs():
    checkpoint = ModelCheckpoint("b{batch}.keras", monitor="loss", save_best_only=True,
                                 save_freq=1)
    saved = drive(checkpoint, epochs=1, steps=4, losses=[0.9, 0.95, 0.7, 0.8])
    assert saved == [("model", "b1.keras"), ("model", "b3.keras")]
    assert checkpoint.best == 0.7


def test_a_batch_key_in_the_logs_wins_over_the_counter_as_in_keras():
    checkpoint = ModelCheckpoint("b{batch}.keras", save_freq=1)
    model = SavingModel()
    cbs = CallbackList([checkpoint], model=model)
    cbs.on_epoch_begin(0)
    cbs.on_train_batch_end(0, {"batch": 7})
    assert model.saved == [("model", "b7.keras")]


def test_keras_file_names_are_written_in_svertka_format_and_load_back(tmp_path):
    from svertka.models import load_model

    model = svertka.Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    full = ModelCheckpoint(tmp_path / "m-{epoch}.keras")
    weights = ModelCheckpoint(tmp_path / "w-{epoch}-{batch}.weights.h5", save_weights_only=True,
                              save_freq=2)
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 3)), np.arange(8) % 2
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=[full, weights])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["m-1.keras", "m-2.keras", "w-1-2.weights.h5", "w-2-2.weights.h5"]
    again = load_model(tmp_path / "m-2.keras")
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    fresh = svertka.Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    fresh.load_weights(tmp_path / "w-2-2.weights.h5")
    np.testing.assert_allclose(fresh.predict(x), model.predict(x), rtol=1e-6)
