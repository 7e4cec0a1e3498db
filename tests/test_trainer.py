"""svertka.Trainer: the notes' background training (seed 000) in both of its forms."""

import logging
import threading
import time

import numpy as np
import pytest

import svertka
from svertka import callbacks, ops, optimizers
from svertka.layers import Dense, Dropout
from svertka.utils import set_random_seed


def wait_for(condition, what: str, limit: float = 60.0) -> None:
    """Poll until ``condition()`` holds; the limit only keeps a broken run from hanging."""
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    return x, x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3


def linear(seed=0):
    """Explicit weights and the loss over them, as the notes write their network."""
    rng = np.random.default_rng(seed)
    w = svertka.Tensor(rng.standard_normal((3, 1)), requires_grad=True)
    b = svertka.Tensor(np.zeros(1), requires_grad=True)

    def loss_fn(x, y):
        return ((ops.matmul(x, w) + b - y) ** 2).mean()

    return loss_fn, [w, b]


def gated(loss_fn, gate):
    """The loss function, each call waiting for one permit of ``gate``: the test decides when
    each iteration may run."""
    def loss(x, y):
        gate.acquire()
        return loss_fn(x, y)
    return loss


class Gate(callbacks.Callback):
    """The same for a model: each batch waits for a permit."""

    def __init__(self, gate):
        super().__init__()
        self.gate = gate

    def on_train_batch_begin(self, batch, logs=None):
        self.gate.acquire()


def mlp(seed=0, dropout=False):
    set_random_seed(seed)
    model = svertka.Sequential([Dense(8, activation="relu", input_shape=(3,)),
                                *([Dropout(0.3)] if dropout else []), Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.05, momentum=0.9), loss="mse")
    return model


def hand_loop(loss_fn, params, optimizer, x, y, batch_size, epochs, seed, steps=None):
    """The notes' loop written out: the reference the loss-function form must equal."""
    rng, losses = np.random.default_rng(seed), []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            if steps is not None and len(losses) == steps:
                return losses
            take = order[start:start + batch_size]
            for p in params:
                p.grad = None
            loss = loss_fn(x[take], y[take])
            loss.backward()
            optimizer.apply_gradients(params)
            losses.append(float(loss.item()))
    return losses


def test_start_train_returns_at_once_and_losses_grow_while_it_runs():
    gate = threading.Semaphore(0)
    loss_fn, params = linear()
    trainer = svertka.Trainer(gated(loss_fn, gate), batch_size=5, epochs=2, params=params,
                              optimizer="sgd")
    trainer.start_train(*data())
    # returned while the first iteration waits for its permit
    assert trainer.running and not trainer.done and trainer.losses == []
    for k in (1, 2, 3):
        gate.release()
        wait_for(lambda k=k: len(trainer.losses) == k, f"iteration {k}")
        assert trainer.running and not trainer.done
    copy = trainer.losses
    copy.append(-1.0)  # a copy: the trainer's own list is not touched
    assert len(trainer.losses) == 3
    for _ in range(5):
        gate.release()
    trainer.join()
    assert trainer.done and not trainer.running and len(trainer.losses) == 2 * 4


def test_interrupt_stops_within_one_batch_and_keeps_the_weights():
    gate = threading.Semaphore(0)
    loss_fn, params = linear()
    trainer = svertka.Trainer(gated(loss_fn, gate), batch_size=4, epochs=3, params=params,
                              optimizer=optimizers.Adam(0.1), seed=1)
    x, y = data()
    trainer.start_train(x, y)
    gate.release(2)
    wait_for(lambda: len(trainer.losses) == 2, "two iterations")
    trainer.interrupt()
    gate.release(20)  # permits enough for the whole run: only the interrupt stops it
    trainer.join()
    steps = len(trainer.losses)
    assert trainer.done and trainer.error is None
    assert steps in (2, 3)  # the iteration that had begun when interrupt() came may finish
    ref_fn, ref_params = linear()
    ref = hand_loop(ref_fn, ref_params, optimizers.Adam(0.1), x, y, 4, 3, seed=1, steps=steps)
    assert trainer.losses == ref
    for p, q in zip(params, ref_params):  # the weights of exactly those steps, kept
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_interrupting_a_model_stops_its_fit_after_the_current_batch():
    gate = threading.Semaphore(0)
    model = mlp()
    before = [w.copy() for w in model.get_weights()]
    trainer = svertka.Trainer(model, batch_size=4, epochs=3, callbacks=[Gate(gate)])
    trainer.start_train(*data())
    gate.release(2)
    wait_for(lambda: len(trainer.losses) == 2, "two iterations")
    trainer.interrupt()
    gate.release(20)
    trainer.join()
    assert len(trainer.losses) in (2, 3) and model.stop_training
    assert trainer.history.batch_losses == trainer.losses
    assert not any(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_plot_loss_mid_run_writes_a_png_and_returns_the_figure(tmp_path):
    pytest.importorskip("matplotlib")
    gate = threading.Semaphore(0)
    loss_fn, params = linear()
    trainer = svertka.Trainer(gated(loss_fn, gate), batch_size=5, epochs=2, params=params,
                              optimizer="sgd")
    with pytest.raises(ValueError, match="Trainer.plot_loss: no iteration"):
        trainer.plot_loss()
    trainer.start_train(*data())
    gate.release(3)
    wait_for(lambda: len(trainer.losses) == 3, "three iterations")
    fig = trainer.plot_loss(tmp_path / "loss.png")
    assert trainer.running
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig.axes[0].lines[0].get_ydata().tolist() == trainer.losses[:3]
    trainer.interrupt()
    gate.release(10)
    trainer.join()


def test_a_model_ends_on_the_weights_of_fit_with_the_same_seed():
    x, y = data(30)
    model = mlp(seed=3, dropout=True)
    trainer = svertka.Trainer(model, batch_size=8, epochs=3, seed=11)
    trainer.start_train(x, y)
    trainer.join()
    reference = mlp(seed=3, dropout=True)
    set_random_seed(11)
    history = reference.fit(x, y, batch_size=8, epochs=3, verbose=0)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert trainer.losses == history.batch_losses and len(trainer.losses) == 3 * 4
    assert "_trainer_lock" not in model.__dict__  # predict takes no lock once it has ended


def test_a_loss_function_ends_on_the_weights_of_the_notes_loop():
    x, y = data(22)  # batches of 6, 6, 6 and 4
    loss_fn, params = linear(seed=2)
    trainer = svertka.Trainer(loss_fn, 6, epochs=3, params=params,
                              optimizer=optimizers.Adam(0.05), seed=7)
    trainer.start_train(x, y)
    trainer.join()
    ref_fn, ref_params = linear(seed=2)
    ref = hand_loop(ref_fn, ref_params, optimizers.Adam(0.05), x, y, 6, 3, seed=7)
    assert trainer.losses == ref and len(ref) == 3 * 4
    for p, q in zip(params, ref_params):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        assert p.grad is None


def test_an_exception_in_training_is_raised_again_by_join(caplog):
    loss_fn, params = linear()
    calls = []

    def failing(x, y):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("boom in the loss")
        return loss_fn(x, y)

    trainer = svertka.Trainer(failing, 5, params=params, optimizer="sgd")
    with caplog.at_level(logging.ERROR, logger="svertka.trainer"):
        trainer.start_train(*data())
        with pytest.raises(ValueError, match="boom in the loss"):
            trainer.join()
    assert trainer.done and len(trainer.losses) == 1
    assert isinstance(trainer.error, ValueError)
    assert any("boom in the loss" in r.getMessage() and r.exc_info for r in caplog.records)
    with pytest.raises(ValueError, match="boom in the loss"):  # kept, not raised only once
        trainer.join()
    # a model's fit failing in the thread: the same
    model = mlp()
    bad = svertka.Trainer(model, 4)
    bad.start_train(data()[0], np.zeros((7, 1)))  # 20 samples, 7 targets
    with pytest.raises(ValueError, match="fit"):
        bad.join()
    assert bad.done


def test_a_loss_that_is_not_a_scalar_tensor_is_named():
    _, params = linear()
    trainer = svertka.Trainer(lambda x, y: x, 5, params=params, optimizer="sgd")
    trainer.start_train(*data())
    with pytest.raises(TypeError, match="Trainer: the loss function must return a scalar"):
        trainer.join()


def test_starting_while_running_is_an_error_and_a_second_run_goes_on():
    gate = threading.Semaphore(0)
    loss_fn, params = linear()
    trainer = svertka.Trainer(gated(loss_fn, gate), 10, epochs=1, params=params,
                              optimizer="sgd", shuffle=False)
    x, y = data()
    trainer.start_train(x, y)
    with pytest.raises(RuntimeError, match="already running"):
        trainer.start_train(x, y)
    gate.release(2)
    trainer.join()
    trainer.start_train(x, y)  # again, from the weights the first run left
    gate.release(2)
    trainer.join()
    assert len(trainer.losses) == 4 and trainer.losses[2] < trainer.losses[0]


def test_each_iteration_is_logged_as_the_notes_log_it(caplog):
    loss_fn, params = linear()
    trainer = svertka.Trainer(loss_fn, 2, epochs=2, params=params, optimizer="sgd",
                              shuffle=False)
    with caplog.at_level(logging.INFO, logger="svertka.trainer"):
        trainer.start_train(*data(5))
        trainer.join()
    lines = [r.getMessage() for r in caplog.records if r.name == "svertka.trainer"]
    expected = [f"epoch={e} iteration={i} batch_size={s} loss={trainer.losses[3 * e + i]}"
                for e in range(2) for i, s in enumerate((2, 2, 1))]
    assert lines == [*expected, "Done"]


class HalfAndHalf(optimizers.Optimizer):
    """Adds 1 to every weight, first to one half, then, after a pause, to the other: a reader
    that comes in between sees half of an update."""

    def _update(self, w, g, slots, lr, t):
        flat = w.reshape(-1)
        flat[: flat.size // 2] += 1
        time.sleep(0.01)
        flat[flat.size // 2:] += 1


def test_predict_during_training_sees_only_whole_updates():
    model = svertka.Sequential([Dense(1, use_bias=False, kernel_initializer="zeros",
                                      input_shape=(4,))])
    model.compile(optimizer=HalfAndHalf(), loss="mse")
    trainer = svertka.Trainer(model, batch_size=1, epochs=2)
    trainer.start_train(np.ones((10, 4)), np.zeros((10, 1)))
    seen = []
    while not trainer.done:
        # the kernel's 4 weights are all k after k whole updates: the output is 4k
        seen.append(float(model.predict(np.ones((1, 4)), verbose=0)[0, 0]))
        time.sleep(0.001)
    trainer.join()
    assert len(seen) > 1 and len(set(seen)) > 1  # read during the run, at several steps
    assert all(v % 4 == 0 for v in seen), sorted(set(seen))
    assert model.predict(np.ones((1, 4)), verbose=0)[0, 0] == 4 * 20


def test_bad_arguments_are_named():
    loss_fn, params = linear()
    model = svertka.Sequential([Dense(1, input_shape=(3,))])
    with pytest.raises(ValueError, match="Trainer: model .* is not compiled"):
        svertka.Trainer(model, 4)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="'params' and 'optimizer' are for a loss function"):
        svertka.Trainer(model, 4, optimizer="adam")
    with pytest.raises(ValueError, match="Trainer: argument 'batch_size'"):
        svertka.Trainer(model, 0)
    with pytest.raises(ValueError, match="argument 'optimizer' is required"):
        svertka.Trainer(loss_fn, 4, params=params)
    with pytest.raises(ValueError, match="argument 'params' must be a non-empty list"):
        svertka.Trainer(loss_fn, 4, optimizer="sgd")
    with pytest.raises(TypeError, match="model.fit's"):
        svertka.Trainer(loss_fn, 4, params=params, optimizer="sgd", validation_split=0.1)
    with pytest.raises(TypeError, match="compiled svertka Model or a function"):
        svertka.Trainer(3, 4)
    trainer = svertka.Trainer(loss_fn, 4, params=params, optimizer="sgd")
    with pytest.raises(RuntimeError, match="start_train\\(\\) has not been called"):
        trainer.join()
    with pytest.raises(ValueError, match="as many samples"):
        trainer.start_train(np.ones((5, 3)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="argument 'y' is required"):
        trainer.start_train(np.ones((5, 3)))
