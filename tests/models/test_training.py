import os
import re
import signal
import sys
import warnings

import numpy as np
import pytest
from helpers import toy_images

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


def test_fit_evaluate_and_predict_on_no_samples_are_errors_naming_x():
    x, y = toy_images(8)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for call in (lambda: model.fit(x[:0], y[:0], verbose=0),
                 lambda: model.evaluate(x[:0], y[:0], verbose=0),
                 lambda: model.predict(x[:0])):
        with pytest.raises(ValueError, match="argument 'x' must hold at least one sample"):
            call()
    with pytest.raises(ValueError, match=r"argument 'validation_data\[0\]' must hold"):
        model.fit(x, y, validation_data=(x[:0], y[:0]), verbose=0)


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


@pytest.mark.parametrize("call, error, message", [
    (lambda m, x, y: m.fit(x, y[:-1], verbose=0), ValueError, "same number of samples"),
    (lambda m, x, y: m.fit(x, y, batch_size=0, verbose=0), ValueError, "'batch_size' must be a "
                                                                       "positive int"),
    (lambda m, x, y: m.fit(x, y, batch_size=-3, verbose=0), ValueError, "'batch_size'"),
    (lambda m, x, y: m.fit(x, y, batch_size=8.0, verbose=0), TypeError, "'batch_size'"),
    (lambda m, x, y: m.fit(x, y, batch_size=True, verbose=0), TypeError, "'batch_size'"),
    (lambda m, x, y: m.fit(x, y, epochs=0, verbose=0), ValueError, "'epochs' must be a positive"),
    (lambda m, x, y: m.fit(x, y, epochs=-1, verbose=0), ValueError, "'epochs'"),
    (lambda m, x, y: m.fit(x, y, epochs=2.5, verbose=0), TypeError, "'epochs'"),
    (lambda m, x, y: m.fit(x, y, epochs=2, initial_epoch=2, verbose=0), ValueError,
     "'initial_epoch' must be less than 'epochs'"),
    (lambda m, x, y: m.fit(x, y, initial_epoch=-1, verbose=0), ValueError, "'initial_epoch'"),
    (lambda m, x, y: m.fit(x, y, validation_split=1.0, verbose=0), ValueError,
     "'validation_split'"),
    (lambda m, x, y: m.fit(x, y, validation_split=-0.1, verbose=0), ValueError,
     "'validation_split'"),
    (lambda m, x, y: m.fit(x, y, validation_split=float("nan"), verbose=0), ValueError,
     "'validation_split' must be a finite number"),
    (lambda m, x, y: m.fit(x, y, validation_split=1e-17, verbose=0), ValueError,
     "leaves 16 for training and 0 for validation"),
    (lambda m, x, y: m.fit(x, y, validation_split=0.99, verbose=0), ValueError,
     "leaves 0 for training and 16 for validation"),
    (lambda m, x, y: m.fit(x, y, verbose=3), ValueError, r"'verbose' must be one of \[0, 1, 2"),
    (lambda m, x, y: m.fit(x, y, verbose="loud"), ValueError, "'verbose'"),
    (lambda m, x, y: m.fit(x, y, shuffle="yes", verbose=0), TypeError, "'shuffle'"),
    (lambda m, x, y: m.fit(x, y, prefetch=-1, verbose=0), ValueError, "'prefetch'"),
    (lambda m, x, y: m.fit(x, y, validation_data=x, verbose=0), ValueError,
     "'validation_data' must be a tuple"),
    (lambda m, x, y: m.evaluate(x, y, batch_size=0, verbose=0), ValueError, "'batch_size'"),
    (lambda m, x, y: m.evaluate(x, y, verbose=-1), ValueError, "'verbose'"),
    (lambda m, x, y: m.evaluate(x, y[:3], verbose=0), ValueError, "same number of samples"),
    (lambda m, x, y: m.predict(x, batch_size=-1), ValueError, "predict: argument 'batch_size'"),
    (lambda m, x, y: m.predict(x, verbose=7), ValueError, "'verbose'"),
    (lambda m, x, y: m.predict(None), ValueError, "argument 'x' is required"),
])
def test_fit_evaluate_predict_reject_bad_arguments(call, error, message):
    x, y = toy_images(16)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(error, match=message):
        call(model, x, y)


def test_sizes_of_any_integer_type_are_accepted():
    set_random_seed(8)
    x, y = toy_images(16)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=np.int64(8), epochs=np.int32(2),
                        initial_epoch=np.uint8(1), verbose=np.int64(0))
    assert history.epoch == [1] and len(history.batch_losses) == 2
    assert model.evaluate(x, y, batch_size=np.int16(5), verbose=False) > 0
    assert model.predict(x, batch_size=np.int64(3)).shape == (16, 2)


def test_first_fit_of_a_model_without_input_shape_learns():
    """A Sequential built by its first batch used to train nothing in its first fit: fit had
    taken the (then empty) list of weights before the batch built them."""
    set_random_seed(9)
    x, y = toy_images(128)
    model = svertka.Sequential([Conv2D(4, 3, padding="same", activation="relu"), MaxPooling2D(2),
                                Flatten(), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    losses = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"]
    assert losses[2] < losses[1] < losses[0]
    assert model.optimizer.iterations == 3 * 8


def test_epochs_trained_counts_complete_epochs_only():
    set_random_seed(10)
    x, y = toy_images(32)
    model = small_cnn()
    assert model.epochs_trained == 0
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert model.epochs_trained == 2
    model.fit(x, y, batch_size=8, epochs=3, initial_epoch=1, verbose=0)
    assert model.epochs_trained == 4

    class StopAt(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[StopAt()])
    assert model.epochs_trained == 4  # 2 of the epoch's 4 batches: not an epoch trained


def test_verbose_2_and_auto_off_a_terminal_print_one_line_per_epoch(capsys):
    set_random_seed(11)
    x, y = toy_images(64)
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for verbose in (2, "auto"):  # capsys's stdout is not a terminal: "auto" means 2
        model.fit(x, y, batch_size=8, epochs=3, verbose=verbose, validation_split=0.25)
        captured = capsys.readouterr()
        lines = captured.out.splitlines()
        assert len(lines) == 3 and "\r" not in captured.out + captured.err
        for epoch, line in enumerate(lines, 1):
            assert re.fullmatch(rf"Epoch {epoch}/3 - 6/6 - [0-9.]+s - loss: [0-9.]+ - "
                                r"accuracy: [0-9.]+ - val_loss: [0-9.]+ - val_accuracy: [0-9.]+",
                                line), line
    model.evaluate(x, y, verbose="auto")
    assert re.fullmatch(r"loss: [0-9.]+ - accuracy: [0-9.]+\n", capsys.readouterr().out)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_auto_on_a_terminal_shows_the_bar(monkeypatch):
    from svertka.models import arguments

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert arguments.verbosity("fit", "auto") == 1
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert arguments.verbosity("fit", "auto") == 2


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


def test_a_run_diverged_to_the_loss_clamp_stops_with_a_warning():
    """SGD(10) saturates the softmax: the clamped loss stays finite (k * 16.118 / 16 per
    batch) and every gradient is zero. fit's own guard stops it and says why."""
    set_random_seed(0)
    x, y = toy_images(256)
    model = small_cnn()
    model.compile(optimizer=optimizers.SGD(10), loss="sparse_categorical_crossentropy")
    with pytest.warns(RuntimeWarning, match=r"loss is stuck at the clamp.*16\.1181"):
        history = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert model.stop_training and "clamp" in model.divergence
    assert len(history.batch_losses) < 16  # stopped within the first epoch
    assert model.epochs_trained == 0
    model.stop_on_divergence = False  # Keras's way: train on regardless
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert history.epoch == [0, 1] and model.divergence is None


def test_terminate_on_nan_reports_the_clamp_and_fit_does_not_warn_twice(capsys):
    set_random_seed(0)
    x, y = toy_images(256)
    model = small_cnn()
    model.compile(optimizer=optimizers.SGD(10), loss="categorical_crossentropy")
    stopper = callbacks.TerminateOnNaN()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, to_categorical(y, 2), batch_size=16, epochs=5, verbose=0,
                  callbacks=[stopper])
    assert re.match(r"the loss is stuck at the clamp: .* clamp value 16\.1181", stopper.reason)
    assert model.divergence == stopper.reason
    assert "terminating training" in capsys.readouterr().out


def test_healthy_runs_never_trip_the_guard():
    set_random_seed(1)
    x, y = toy_images(256)
    model = small_cnn()
    model.compile(optimizer=optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(x, y, batch_size=16, epochs=4, verbose=0,
                            callbacks=[callbacks.TerminateOnNaN()])
    assert model.divergence is None and len(history.epoch) == 4


def test_a_non_finite_weight_stops_fit_naming_the_weight():
    set_random_seed(2)
    x, y = toy_images(64)
    model = svertka.Sequential([
        Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)), BatchNormalization(),
        Flatten(), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    bn = model.layers[1]

    class Poison(callbacks.Callback):  # moving statistics do not enter the training loss
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                bn.moving_variance.data[1] = np.inf

    with pytest.warns(RuntimeWarning, match=rf"end of epoch 1: weight 'moving_variance' of "
                                            rf"layer '{bn.name}' is non-finite \(1 of 4"):
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[Poison()])
    assert history.epoch == [0] and model.stop_training
    stopper = callbacks.TerminateOnNaN()
    bn.moving_variance.data[1] = np.nan
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[stopper])
    assert "moving_variance" in stopper.reason


def test_accuracy_after_a_logits_loss_object_thresholds_the_logits_at_zero():
    from svertka import losses

    model = svertka.Sequential([svertka.Input((3,)), Dense(1)])
    model.compile("sgd", loss=losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    assert model.compiled_metrics[0].threshold == 0.0
    model.compile("sgd", loss=losses.BinaryCrossentropy(), metrics=["accuracy"])
    assert model.compiled_metrics[0].threshold == 0.5


def test_a_custom_loss_returning_one_value_per_sample_is_averaged_and_trains():
    from svertka import ops

    def per_sample_mse(y_true, y_pred):  # as Keras's guides write it
        return ops.mean((y_pred - y_true) ** 2, axis=-1)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    set_random_seed(0)
    model = svertka.Sequential([svertka.Input((3,)), Dense(1)])
    model.compile(optimizers.SGD(0.1), loss=per_sample_mse)
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0).history["loss"]
    assert history[-1] < 0.1 * history[0]
    expected = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-4)


def test_the_clamp_guard_knows_the_cross_entropy_classes():
    from svertka import losses
    from svertka.callbacks.divergence import terms_per_sample

    model = svertka.Sequential([svertka.Input((3,)), Dense(2, activation="softmax")])
    for loss, expected in [(losses.CategoricalCrossentropy(), 1),
                           (losses.SparseCategoricalCrossentropy(), 1),
                           (losses.CategoricalCrossentropy(from_logits=True), None),
                           (losses.CategoricalCrossentropy(label_smoothing=0.1), None)]:
        model.compile("sgd", loss=loss)
        assert terms_per_sample(model) == expected, loss


def test_batch_logs_hold_the_running_mean_as_keras_and_the_iteration_loss_beside():
    seen = []

    class Spy(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((logs["loss"], logs["batch_loss"], logs["size"]))

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    set_random_seed(0)
    model = svertka.Sequential([svertka.Input((3,)), Dense(1)])
    model.compile(optimizers.SGD(0.01), loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False,
                        callbacks=[Spy()])
    sizes = np.array([s for _, _, s in seen], float)
    iteration = np.array([b for _, b, _ in seen])
    assert sizes.tolist() == [16, 16, 8]
    running = np.cumsum(iteration * sizes) / np.cumsum(sizes)
    np.testing.assert_allclose([m for m, _, _ in seen], running, rtol=1e-6)
    assert history.batch_losses == pytest.approx(iteration.tolist())
    assert history.history["loss"][0] == pytest.approx(running[-1], rel=1e-6)
