"""svertka.tools.lr_find: the learning-rate range test."""

import numpy as np
import pytest

import svertka
from svertka import random as _random
from svertka.layers import BatchNormalization, Dense, Dropout
from svertka.optimizers import SGD, LayerRates
from svertka.tools import LRFinderResult, _suggest, lr_find


def problem(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = (x @ rng.normal(size=(6, 1)) + 0.1 * rng.normal(size=(n, 1))).astype(np.float32)
    return x, y


def tiny_model(optimizer=None):
    model = svertka.Sequential([Dense(8, activation="relu", input_shape=(6,), name="h"),
                                BatchNormalization(name="bn"), Dropout(0.1), Dense(1, name="o")])
    model.compile(optimizer or SGD(0.01, momentum=0.9), loss="mse")
    return model


def test_rates_grow_geometrically_from_start():
    x, y = problem()
    model = tiny_model(SGD(0.01))
    result = lr_find(model, x, y, start=1e-5, end=0.1, steps=40, batch_size=16,
                     stop_factor=1e9)  # never stops early: all 40 steps
    assert len(result.rates) == len(result.losses) == len(result.raw_losses) == 40
    assert result.rates[0] == pytest.approx(1e-5) and result.rates[-1] == pytest.approx(0.1)
    ratios = np.diff(np.log(result.rates))
    np.testing.assert_allclose(ratios, np.log(1e4) / 39, rtol=1e-9)
    assert not result.stopped_early
    avg, smoothed = 0.0, []  # the bias-corrected exponential average of the batch losses
    for i, loss in enumerate(result.raw_losses):
        avg = 0.98 * avg + 0.02 * loss
        smoothed.append(avg / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(result.losses, smoothed, rtol=1e-12)


def test_weights_optimiser_state_and_generator_are_restored_exactly():
    x, y = problem()
    model = tiny_model()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # momentum buffers exist
    weights = model.get_weights()
    opt = model.optimizer
    state = opt.get_state(model.trainable_weights)
    rng_state = _random.get_state()
    lr_find(model, x, y, start=1e-4, end=100, steps=30, batch_size=16)
    for a, b in zip(weights, model.get_weights()):  # batch-norm statistics included
        np.testing.assert_array_equal(a, b)
    again = opt.get_state(model.trainable_weights)
    assert again["iterations"] == state["iterations"] and opt.learning_rate == 0.01
    for s, t in zip(state["slots"], again["slots"]):
        for a, b in zip(s, t):
            np.testing.assert_array_equal(a, b)
    assert _random.get_state() == rng_state
    assert all(w.grad is None for w in model.weights)


def test_it_stops_when_the_loss_blows_up_and_suggests_a_rate_in_range():
    x, y = problem()
    model = tiny_model(SGD(0.01))
    result = lr_find(model, x, y, start=1e-6, end=1e3, steps=100, batch_size=16)
    assert result.stopped_early and len(result.rates) < 100
    assert result.losses[-1] > 4 * min(result.losses[:-1])
    assert result.method == "steepest"
    assert 1e-6 <= result.suggestion <= result.rates[-1]
    assert result.suggestion in result.rates
    assert result.min_rate == result.rates[int(np.argmin(result.losses[:-1]))]


def test_suggestion_is_the_steepest_descent_or_min_over_ten():
    rates = list(np.logspace(-4, 0, 9))
    losses = [1.0, 0.99, 0.97, 0.9, 0.5, 0.3, 0.25, 0.24, 5.0]  # steepest fall at rates[4]
    assert _suggest(rates, losses, blew_up=True)[:2] == (rates[4], "steepest")
    assert _suggest(rates[:2], losses[:2], blew_up=False) == (rates[1] / 10, "min/10", rates[1])


def test_it_runs_with_layer_rates_and_leaves_them_in_place():
    x, y = problem()
    lr = LayerRates(1e-3, 1e-2)
    model = tiny_model(SGD(lr))
    lr_find(model, x, y, start=1e-4, end=1.0, steps=10, batch_size=16)
    assert model.optimizer.learning_rate is lr


def test_it_requires_a_compiled_model_and_checks_arguments():
    x, y = problem()
    model = svertka.Sequential([Dense(1, input_shape=(6,))])
    with pytest.raises(ValueError, match="lr_find: call compile"):
        lr_find(model, x, y)
    model.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match="lr_find: argument 'end' must be a finite number > "):
        lr_find(model, x, y, start=1.0, end=0.5)
    with pytest.raises(ValueError, match="lr_find: argument 'steps'"):
        lr_find(model, x, y, steps=1)
    with pytest.raises(ValueError, match="lr_find: argument 'smooth'"):
        lr_find(model, x, y, smooth=1.0)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    result = LRFinderResult([1e-4, 1e-3, 1e-2, 1e-1], [1.0, 0.8, 0.3, 2.0], [1, 0.8, 0.3, 2],
                            1e-2, "steepest", 1e-2)
    fig = result.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.lines[0].get_ydata().tolist() == [1.0, 0.8, 0.3, 2.0]
    assert ax.lines[1].get_xdata().tolist() == [1e-2]
