"""Fusion of Conv2D -> MaxPooling2D pairs (svertka.models.fusion): which pairs a model fuses
at inference and in training, and that outputs and gradients do not change."""

import numpy as np
import pytest

import svertka
from svertka.autograd import grad_enabled
from svertka.kernels import jit
from svertka.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from svertka.ops import conv_pool
from svertka.utils import set_random_seed

rng = np.random.default_rng(3)


def notes_model(first=None, second=None):
    """The notes' layer stack on 12x12 images (SPEC §7); ``first``/``second`` replace the
    first convolution's or pooling's options."""
    set_random_seed(4)
    conv = {"kernel_size": (3, 3), "padding": "same", "activation": "relu", **(first or {})}
    pool = {"pool_size": (2, 2), "strides": 2, **(second or {})}
    return svertka.Sequential([
        Conv2D(8, input_shape=(12, 12, 1), **conv),
        MaxPooling2D(**pool),
        Conv2D(16, (3, 3), padding="same", activation="relu"),
        MaxPooling2D((2, 2), strides=2),
        Flatten(),
        Dense(10, activation="softmax"),
    ])


def fused_layers(model):
    return [(node.layer.name, model._fused[id(node)].layer.name) for node in model._nodes
            if id(node) in model._fused]


def count_fused(monkeypatch, training: bool):
    """The input channels of every call of the fused op from now on, with gradients on
    (``training``) or off (a batch split over several cores makes one call per slice)."""
    calls = []
    real = conv_pool.conv2d_maxpool

    def counting(x, *a):
        if grad_enabled() == training:
            calls.append(x.shape[3])
        return real(x, *a)

    monkeypatch.setattr(conv_pool, "conv2d_maxpool", counting)
    return calls


def count_fused_calls(monkeypatch):
    """The input channels of every fused inference call from now on."""
    return count_fused(monkeypatch, training=False)


def unfused_and_fused(model, x):
    model.fuse_inference = False
    with svertka.no_grad():
        plain = model(x).numpy()
    model.fuse_inference = True
    with svertka.no_grad():
        return plain, model(x).numpy()


@pytest.mark.parametrize("first, second, batch", [
    (None, None, 40),
    ({"use_bias": False}, {"padding": "same"}, 5),  # 'same' pooling of an even map: no padding
])
def test_the_notes_model_fuses_both_pairs_with_the_same_predictions(monkeypatch, first, second,
                                                                     batch):
    model = notes_model(first, second)
    assert len(fused_layers(model)) == 2
    calls = count_fused_calls(monkeypatch)
    x = rng.random((batch, 12, 12, 1)).astype(np.float32)
    plain, fused = unfused_and_fused(model, x)
    assert set(calls) == {1, 8}
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.predict(x, batch_size=16), plain, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("first, second", [
    ({"activation": "tanh"}, None),  # only ReLU (or nothing) goes through the max unchanged
    ({"kernel_size": (5, 5)}, None),
    ({"strides": 2}, None),
    ({"dilation_rate": 2}, None),
    (None, {"pool_size": (3, 3), "strides": 2}),
    (None, {"strides": 1}),
])
def test_other_settings_are_not_fused_and_give_the_same_output(monkeypatch, first, second):
    model = notes_model(first, second)
    assert [pair[0] for pair in fused_layers(model)] == [model.layers[2].name]
    x = rng.random((6, 12, 12, 1)).astype(np.float32)
    plain, fused = unfused_and_fused(model, x)
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-7)


def count_trained_fusions(monkeypatch):
    """The input channels of every fused training op from now on."""
    return count_fused(monkeypatch, training=True)


def test_training_fuses_both_pairs_with_its_own_op(monkeypatch):
    model = notes_model()
    calls, trained = count_fused_calls(monkeypatch), count_trained_fusions(monkeypatch)
    x = rng.random((4, 12, 12, 1)).astype(np.float32)
    model(x)  # gradients on
    model(x, training=True)
    model.compile("adam", "categorical_crossentropy")
    model.fit(x, np.eye(10, dtype=np.float32)[[0, 1, 2, 3]], epochs=1, verbose=0)
    assert calls == []
    assert trained == ([1, 8] * 3 if jit.enabled() else [])
    model.predict(x)
    assert set(calls) == {1, 8}


def gradients(model, x, y, x_needs_grad=False):
    """The parameters' gradients (and the input's) of one loss evaluation."""
    xt = svertka.Tensor(x, requires_grad=x_needs_grad)
    loss = svertka.ops.categorical_crossentropy(y, model(xt, training=True)).mean()
    params = model.trainable_weights
    for p in params:
        p.grad = None
    loss.backward()
    grads = [p.grad.copy() for p in params]
    return grads + ([xt.grad] if x_needs_grad else [])


@pytest.mark.parametrize("first", [None, {"use_bias": False}, {"activation": None},
                                   {"padding": "valid"}])
def test_trained_fusion_gives_the_layers_gradients(monkeypatch, first):
    model = notes_model(first)
    trained = count_trained_fusions(monkeypatch)
    x = rng.random((6, 12, 12, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 6)]
    fused = gradients(model, x, y)
    assert trained == ([1, 8] if jit.enabled() else [])
    model.fuse_training = False
    plain = gradients(model, x, y)
    for f, p in zip(fused, plain):
        np.testing.assert_allclose(f, p, rtol=1e-4, atol=1e-6 * np.abs(p).max())


def test_an_input_that_needs_a_gradient_fuses_only_with_winograd(monkeypatch):
    model = notes_model()
    trained = count_trained_fusions(monkeypatch)
    x = rng.random((3, 12, 12, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[[1, 2, 3]]
    with_input = gradients(model, x, y, x_needs_grad=True)
    # the first pair (1 channel, the direct loop) has no input gradient: layers one by one
    assert trained == ([8] if jit.enabled() else [])
    assert with_input[-1].shape == x.shape and with_input[-1].any()
    model.fuse_training = False
    for f, p in zip(with_input, gradients(model, x, y, True)):
        np.testing.assert_allclose(f, p, rtol=1e-4, atol=1e-6 * np.abs(p).max())


def test_fuse_training_false_runs_the_layers(monkeypatch):
    model = notes_model()
    model.fuse_training = False
    trained = count_trained_fusions(monkeypatch)
    model(rng.random((2, 12, 12, 1)).astype(np.float32), training=True)
    assert trained == []


def test_a_convolution_used_elsewhere_or_returned_is_not_fused():
    inp = Input((8, 8, 1))
    conv = Conv2D(4, 3, padding="same", activation="relu")(inp)
    pooled = MaxPooling2D(2)(conv)
    branch = svertka.Model(inp, [Flatten()(pooled), Flatten()(conv)])
    assert fused_layers(branch) == []
    returned = svertka.Model(inp, [pooled, conv])
    assert fused_layers(returned) == []
    alone = svertka.Model(inp, pooled)
    assert len(fused_layers(alone)) == 1


@pytest.mark.parametrize("size, first, second", [
    (11, None, {"padding": "same"}),  # an odd map: 'same' pooling pads it
    (12, {"padding_mode": "reflect"}, None),  # the kernel pads with zeros only
])
def test_sizes_the_kernel_cannot_take_run_the_layers(monkeypatch, size, first, second):
    set_random_seed(2)
    inp = Input((size, size, 1))
    conv = Conv2D(4, 3, padding="same", activation="relu", **(first or {}))
    out = Flatten()(MaxPooling2D(2, **(second or {}))(conv(inp)))
    model = svertka.Model(inp, out)
    assert len(fused_layers(model)) == 1
    calls = count_fused_calls(monkeypatch)
    x = rng.random((3, size, size, 1)).astype(np.float32)
    plain, fused = unfused_and_fused(model, x)
    assert calls == []
    np.testing.assert_allclose(fused, plain, rtol=1e-6)
