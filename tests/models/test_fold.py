"""Convolution -> batch norm (-> ReLU) folded into one convolution at inference
(svertka.models.fusion.conv_bn): which chains a model folds, and the same outputs as the
layers one by one."""

import numpy as np
import pytest

import svertka
from svertka.layers import Activation, Add, BatchNormalization, Conv2D, Input, ReLU
from svertka.models import fusion

rng = np.random.default_rng(0)


def randomise_statistics(model):
    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            c = layer.moving_mean.shape[0]
            layer.moving_mean.data[:] = rng.normal(0, 0.5, c)
            layer.moving_variance.data[:] = rng.uniform(0.3, 2.0, c)
            for w in (layer.gamma, layer.beta):
                if w is not None:
                    w.data[:] = rng.normal(0.5, 0.5, c)


def folded_and_plain(model, x):
    folded = model.predict(x)
    model.fuse_inference = False
    try:
        plain = model.predict(x)
    finally:
        model.fuse_inference = True
    return folded, plain


@pytest.mark.parametrize("conv, bn, act", [
    (dict(filters=6, kernel_size=3, padding="same"), {}, "relu"),
    (dict(filters=6, kernel_size=3, strides=2, use_bias=False), dict(epsilon=1e-5), "relu"),
    (dict(filters=6, kernel_size=1), dict(scale=False, center=False), None),
    (dict(filters=6, kernel_size=3, padding=1, padding_mode="reflect", groups=2), {}, "layer"),
    (dict(filters=4, kernel_size=2, dilation_rate=2), dict(center=False), "relu"),
])
def test_folded_outputs_equal_the_layers(conv, bn, act):
    x_in = Input((9, 9, 4))
    y = BatchNormalization(**bn)(Conv2D(**conv)(x_in))
    if act == "relu":
        y = Activation("relu")(y)
    elif act == "layer":
        y = ReLU()(y)
    model = svertka.Model(x_in, y)
    randomise_statistics(model)
    assert len(model._folded) == 1
    x = rng.standard_normal((5, 9, 9, 4)).astype(np.float32)
    folded, plain = folded_and_plain(model, x)
    np.testing.assert_allclose(folded, plain, rtol=1e-5, atol=1e-5)
    if act is not None:
        assert folded.min() == 0.0


def test_what_is_not_folded():
    x = Input((8, 8, 3))
    activated = Conv2D(4, 3, activation="relu")(x)          # the norm comes after a ReLU
    shared = Conv2D(4, 3)(x)                                 # read by two layers
    model = svertka.Model(x, [BatchNormalization()(activated),
                              Add()([BatchNormalization()(shared), shared])])
    assert model._folded == {}


def test_a_norm_read_by_more_than_a_relu_keeps_its_own_output():
    x = Input((8, 8, 3))
    normed = BatchNormalization()(Conv2D(4, 3)(x))
    model = svertka.Model(x, Add()([Activation("relu")(normed), normed]))
    (bn, act), = model._folded.values()
    assert act is None
    randomise_statistics(model)
    folded, plain = folded_and_plain(model, rng.standard_normal((3, 8, 8, 3)).astype(np.float32))
    np.testing.assert_allclose(folded, plain, rtol=1e-5, atol=1e-5)


def test_training_and_gradients_run_the_layers(monkeypatch):
    calls = []
    real = fusion.conv_bn
    monkeypatch.setattr(fusion, "conv_bn", lambda *a: calls.append(1) or real(*a))
    x = Input((8, 8, 3))
    model = svertka.Model(x, Activation("relu")(BatchNormalization()(Conv2D(4, 3)(x))))
    data = rng.standard_normal((4, 8, 8, 3)).astype(np.float32)
    model(data, training=True)
    model(svertka.Tensor(data, requires_grad=True))
    assert calls == []
    model.predict(data)
    assert calls == [1]


def test_a_zoo_resnet_folds_every_convolution():
    from svertka.zoo import resnet20

    model = resnet20(include_top=False, pooling="avg")   # features: no softmax to hide errors
    assert len(model._folded) == 19
    randomise_statistics(model)
    x = rng.random((4, 32, 32, 3)).astype(np.float32)
    folded, plain = folded_and_plain(model, x)
    np.testing.assert_allclose(folded, plain, rtol=1e-4, atol=1e-5)


def test_add_or_norm_and_relu_run_as_one_op_with_the_same_gradients(monkeypatch):
    from svertka.zoo import resnet20

    calls = []
    real = svertka.ops.add_relu
    monkeypatch.setattr(svertka.ops, "add_relu", lambda *a: calls.append(1) or real(*a))
    model = resnet20()
    assert len(model._relu_pairs) == 9 + 10   # the adds, and the norms before a ReLU
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = rng.random((4, 32, 32, 3)).astype(np.float32)
    y = np.arange(4)

    def gradients(fuse):
        model.fuse_training = fuse
        out = model(svertka.Tensor(x), training=True)
        loss = svertka.ops.categorical_crossentropy(svertka.Tensor(np.eye(10)[y]), out)
        loss.backward()
        grads = [w.grad.copy() for w in model.trainable_weights]
        for w in model.trainable_weights:
            w.grad = None
        return grads

    fused = gradients(True)
    assert len(calls) == 9
    plain = gradients(False)
    assert len(calls) == 9
    for g1, g2 in zip(fused, plain):
        np.testing.assert_allclose(g1, g2, rtol=1e-5, atol=1e-6)
