import os
import signal

import numpy as np
import pytest

import svertka
from svertka import callbacks, optimizers
from svertka.layers import (
    Add,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    Input,
    MaxPooling2D,
)
from svertka.utils import set_random_seed, to_categorical


def toy_images(n=256, seed=0):
    """Two classes told apart by where the bright blob is: a task a small CNN learns fast."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 2, n)
    x[y == 0, 1:4, 1:4] += 1.0
    x[y == 1, 4:7, 4:7] += 1.0
    return x, y


def small_cnn():
    return svertka.Sequential([
        Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        MaxPooling2D(2),
        Flatten(),
        Dense(2, activation="softmax"),
    ])


def test_fit_lowers_the_loss_and_evaluate_reports_accuracy():
    set_random_seed(0)
    x, y = toy_images()
    model = small_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, to_categorical(y, 2), batch_size=16, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] * 0.5
    assert len(history.batch_losses) == 6 * 16
    loss, acc = model.evaluate(x, to_categorical(y, 2), verbose=0)
    assert acc > 0.95 and loss < losses[0]


def test_residual_functional_model_trains():
    set_random_seed(1)
    x, y = toy_images()
    inp = Input((8, 8, 1))
    h = Conv2D(8, 3, padding="same", activation="relu")(inp)
    r = Conv2D(8, 3, padding="same", activation="relu")(h)
    r = Conv2D(8, 3, padding="same")(r)
    h = Add()([h, r])  # the residual connection: a correction added to the identity
    out = Dense(2, activation="softmax")(GlobalAveragePooling2D()(h))
    model = svertka.Model(inp, out)
    model.compile(optimizer=optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.7


def test_validation_split_takes_the_last_part_and_reports_val_metrics():
    set_random_seed(2)
    x, y = toy_images(100)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    seen = []

    class Count(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    history = model.fit(x, y, batch_size=10, epochs=2, validation_split=0.2, verbose=0,
                        callbacks=[Count()])
    assert len(seen) == 2 * 8  # 80 training samples in batches of 10
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    val = model.evaluate(x[80:], y[80:], verbose=0, return_dict=True)
    assert val["loss"] == pytest.approx(history.history["val_loss"][-1], rel=1e-5)


def test_stop_training_from_a_callback_ends_after_the_current_batch():
    set_random_seed(3)
    x, y = toy_images(64)
    model = small_cnn()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")

    class StopAt(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[StopAt()])
    assert len(history.batch_losses) == 3
    assert history.history["loss"] and len(history.history["loss"]) == 1


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
def test_ctrl_c_keeps_weights_and_history_so_far():
    set_random_seed(4)
    x, y = toy_images(64)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    snapshots = []

    class CtrlC(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            snapshots.append([w.copy() for w in self.model.get_weights()])
            if len(snapshots) == 5:  # the user presses Ctrl-C during the 5th batch
                os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)  # SIG_IGN under nohup, the default otherwise
    history = model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[CtrlC()])
    assert model.interrupted
    assert len(history.batch_losses) == 5  # the current batch finished, no more ran
    assert history is model.history
    for saved, now in zip(snapshots[-1], model.get_weights()):
        np.testing.assert_array_equal(saved, now)  # the weights after the last batch are kept
    assert signal.getsignal(signal.SIGINT) is before  # fit put the handler back


def test_same_seed_gives_identical_weights():
    x, y = toy_images(64)

    def run():
        set_random_seed(123)
        model = svertka.Sequential([
            Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)), Dropout(0.3),
            BatchNormalization(), Flatten(), Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_predict_is_batched_and_equals_a_single_call():
    set_random_seed(5)
    x, _ = toy_images(50)
    model = small_cnn()
    whole = model(x).numpy()
    np.testing.assert_allclose(model.predict(x, batch_size=7), whole, rtol=1e-6, atol=1e-7)


def test_inference_in_chunks_equals_one_pass_through_a_two_input_graph():
    set_random_seed(6)
    a, b = Input((8, 8, 1)), Input((8, 8, 1))
    h = BatchNormalization()(Conv2D(4, 3, padding="same", activation="relu")(a))
    h = Add()([h, Conv2D(4, 1)(b)])
    out = Dense(3, activation="softmax")(Flatten()(Dropout(0.5)(MaxPooling2D(2)(h))))
    model = svertka.Model([a, b], out)
    bn = next(layer for layer in model.layers if isinstance(layer, BatchNormalization))
    bn.moving_mean.data[:] = 0.3  # inference uses the moving statistics
    xa, xb = toy_images(50)[0], toy_images(50, seed=1)[0]
    whole = model([xa, xb]).numpy()  # grad enabled: one pass
    model.inference_chunk = 7
    for threads in ("1", "3"):  # 50 samples in 1 or 3 slices of the batch, each in chunks
        with pytest.MonkeyPatch.context() as m, svertka.no_grad():
            m.setenv("SVERTKA_THREADS", threads)
            chunked = model([xa, xb]).numpy()
        np.testing.assert_allclose(chunked, whole, rtol=1e-6, atol=1e-7)


def test_an_empty_batch_gives_an_empty_output():
    model = small_cnn()
    x = toy_images(3)[0][:0]
    with svertka.no_grad():
        assert model(x).shape == (0, *model.output_shape[1:])
    assert model.predict(x).shape == (0, *model.output_shape[1:])


def test_float64_user_data_is_converted_per_batch():
    set_random_seed(6)
    x, y = toy_images(32)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x.astype(np.float64), y, batch_size=8, epochs=1, verbose=0)
    assert all(w.dtype == np.float32 for w in model.get_weights())


def test_l2_regularizer_adds_to_the_loss():
    set_random_seed(7)
    x, y = toy_images(32)
    plain = small_cnn()
    set_random_seed(7)
    reg = svertka.Sequential([
        Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1),
               kernel_regularizer=svertka.regularizers.L2(0.1)),
        MaxPooling2D(2), Flatten(), Dense(2, activation="softmax")])
    reg.set_weights(plain.get_weights())
    for m in (plain, reg):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    kernel = reg.layers[0].get_weights()[0]
    diff = reg.evaluate(x, y, verbose=0) - plain.evaluate(x, y, verbose=0)
    assert diff == pytest.approx(0.1 * float((kernel.astype(np.float64) ** 2).sum()), rel=1e-4)


@pytest.mark.parametrize("call, message", [
    (lambda m, x, y: m.fit(x, y[:-1], verbose=0), "same number of samples"),
    (lambda m, x, y: m.fit(x, y, batch_size=0, verbose=0), "argument 'batch_size'"),
    (lambda m, x, y: m.fit(x, y, validation_split=1.0, verbose=0), "argument 'validation_split'"),
])
def test_fit_rejects_bad_arguments(call, message):
    x, y = toy_images(16)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=message):
        call(model, x, y)


def test_fit_before_compile_is_a_clear_error():
    x, y = toy_images(8)
    with pytest.raises(ValueError, match=r"fit: call compile"):
        small_cnn().fit(x, y, verbose=0)


def test_wrong_input_shape_names_the_model():
    with pytest.raises(ValueError, match=r"input must have shape \(None, 8, 8, 1\)"):
        small_cnn()(np.zeros((2, 9, 9, 1), np.float32))


def test_fit_with_online_augmentation_trains_and_repeats_with_the_seed():
    from svertka.augment import Shift

    x, y = toy_images(96)

    def run():
        set_random_seed(11)
        model = small_cnn()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(x, y, batch_size=16, epochs=4, verbose=0,
                            augment=Shift(max_fraction=0.1))
        return model, history

    model, history = run()
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert len(history.batch_losses) == 4 * 6
    again, _ = run()
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_accepts_an_augmentation_spec_string():
    set_random_seed(12)
    x, y = toy_images(32)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, augment="shift=0.1,noise=0.01")
    with pytest.raises(ValueError):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, augment="warp_speed")


def test_predict_with_tta_averages_augmented_copies():
    from svertka.augment import HorizontalFlip

    set_random_seed(13)
    x, _ = toy_images(20)
    model = small_cnn()
    plain = model.predict(x)
    np.testing.assert_array_equal(model.predict(x, tta=1), plain)
    flipped = model.predict(x[:, :, ::-1])
    tta = model.predict(x, tta=2, tta_augment=HorizontalFlip(p=1.0))
    np.testing.assert_allclose(tta, (plain + flipped) / 2, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="argument 'tta'"):
        model.predict(x, tta=0)
