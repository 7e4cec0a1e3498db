"""LocalResponseNormalization, LayerNormalization, GroupNormalization: shapes, weights, the
layer against its op, configs, saving through a model, float32, and error messages."""

import json

import numpy as np
import pytest
from helpers import check_grad, nhwc_to_nchw

import svertka
from svertka import layers, ops
from svertka.layers import (
    Conv2D,
    Dense,
    Flatten,
    GroupNormalization,
    Input,
    LayerNormalization,
    LocalResponseNormalization,
)
from svertka.regularizers import L2

rng = np.random.default_rng(8)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def built(cls, shape=(None, 4, 4, 6), **kwargs):
    layer = cls(**kwargs)
    layer(Input(shape[1:]))
    return layer


def as_float64(layer):
    for w in layer.weights:
        w.data = w.data.astype(np.float64)
    return layer


# shapes and weights


@pytest.mark.parametrize("shape", [(None, 5), (None, 7, 3), (None, 4, 4, 6)])
def test_local_response_normalization_keeps_the_shape_and_has_no_weights(shape):
    layer = built(LocalResponseNormalization, shape, size=3)
    assert layer.output_shape == shape and layer.count_params() == 0 and layer.weights == []
    x = r(2, *shape[1:])
    np.testing.assert_array_equal(layer(x).numpy(),
                                  ops.local_response_norm(x, 3, 1e-4, 0.75, 2.0).numpy())


@pytest.mark.parametrize(
    "shape, axis, params",
    [
        ((None, 4, 4, 6), -1, (6,)),
        ((None, 4, 4, 6), 3, (6,)),
        ((None, 4, 4, 6), [1, 2, 3], (4, 4, 6)),
        ((None, 4, 5, 6), [-3, -2], (4, 5)),
        ((None, 4, 5, 6), (2, 1), (4, 5)),  # any order: the weights follow the axes' order
        ((None, 10), -1, (10,)),
        ((None, 7, 3), 1, (7,)),
    ],
)
def test_layer_normalization_weights_are_shaped_over_the_axes(shape, axis, params):
    layer = built(LayerNormalization, shape, axis=axis)
    size = int(np.prod(params))
    assert layer.output_shape == shape
    assert layer.weight_names == ["gamma", "beta"]
    assert layer.gamma.shape == layer.beta.shape == params
    assert layer.count_params() == 2 * size
    assert len(layer.trainable_weights) == 2 and layer.non_trainable_weights == []
    assert built(LayerNormalization, shape, axis=axis, center=False).count_params() == size
    assert built(LayerNormalization, shape, axis=axis, center=False, scale=False).weights == []
    np.testing.assert_array_equal(layer.gamma.numpy(), np.ones(params))
    np.testing.assert_array_equal(layer.beta.numpy(), np.zeros(params))


@pytest.mark.parametrize("shape, groups", [((None, 4, 4, 6), 3), ((None, 8), 8), ((None, 5, 4), 1)])
def test_group_normalization_has_per_channel_weights(shape, groups):
    layer = built(GroupNormalization, shape, groups=groups)
    c = shape[-1]
    assert layer.output_shape == shape
    assert layer.weight_names == ["gamma", "beta"] and layer.gamma.shape == (c,)
    assert layer.count_params() == 2 * c
    assert built(GroupNormalization, shape, groups=groups, scale=False).weight_names == ["beta"]
    assert built(GroupNormalization, shape, groups=groups, scale=False,
                 center=False).count_params() == 0


# the layers compute their ops, forward and backward


def test_layer_normalization_matches_torch_layer_norm_with_learnt_parameters():
    torch = pytest.importorskip("torch")
    layer = built(LayerNormalization, axis=[1, 2, 3], epsilon=1e-5,
                  gamma_initializer="he_normal", beta_initializer="glorot_uniform")
    x = r(3, 4, 4, 6) * 2 + 1
    want = torch.nn.functional.layer_norm(torch.tensor(x), (4, 4, 6), torch.tensor(
        layer.gamma.numpy()), torch.tensor(layer.beta.numpy()), 1e-5)
    for training in (False, True):  # no batch statistics: the same in both modes
        np.testing.assert_allclose(layer(x, training=training).numpy(), want.numpy(),
                                   rtol=1e-5, atol=1e-5)


def test_group_normalization_matches_torch_group_norm_with_learnt_parameters():
    torch = pytest.importorskip("torch")
    layer = built(GroupNormalization, groups=3, epsilon=1e-5, gamma_initializer="he_normal",
                  beta_initializer="glorot_uniform")
    x = r(3, 4, 4, 6) * 2 + 1
    want = torch.nn.functional.group_norm(
        nhwc_to_nchw(torch.tensor(x)), 3, torch.tensor(layer.gamma.numpy()),
        torch.tensor(layer.beta.numpy()), 1e-5).permute(0, 2, 3, 1)
    np.testing.assert_allclose(layer(x, training=True).numpy(), want.numpy(), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (LocalResponseNormalization, dict(size=4, alpha=0.5, beta=0.75, k=1.0)),
        (LayerNormalization, dict(axis=[1, 3], gamma_initializer="he_normal",
                                  beta_initializer="glorot_normal")),
        (LayerNormalization, dict(center=False)),
        (GroupNormalization, dict(groups=2, gamma_initializer="he_normal",
                                  beta_initializer="glorot_normal")),
        (GroupNormalization, dict(groups=6, scale=False)),
    ],
)
def test_float64_gradient_check_through_the_layer(cls, kwargs):
    layer = as_float64(built(cls, (None, 2, 3, 6), **kwargs))
    check_grad(lambda x: layer(x, training=True), rng.standard_normal((2, 2, 3, 6)) * 2)
    weights = layer.weights
    if weights:  # and with respect to the weights, through the op the layer calls
        op = ops.layer_norm if cls is LayerNormalization else ops.group_norm
        arg = kwargs.get("axis", -1) if cls is LayerNormalization else kwargs["groups"]
        x = rng.standard_normal((2, 2, 3, 6))

        def fn(*params):
            named = dict(zip(layer.weight_names, params))
            g, b = named.get("gamma"), named.get("beta")
            return op(x, g, b, arg, layer.epsilon) if op is ops.layer_norm else op(
                x, arg, g, b, layer.epsilon)

        check_grad(fn, *[w.numpy() for w in weights])


def test_layer_weights_receive_the_gradients_of_the_op():
    layer = built(GroupNormalization, groups=3, gamma_initializer="he_normal")
    x = svertka.Tensor(r(2, 4, 4, 6), requires_grad=True)
    gy = r(2, 4, 4, 6)
    layer(x, training=True).backward(gy)
    params = [svertka.Tensor(w.data, requires_grad=True) for w in layer.weights]
    x2 = svertka.Tensor(x.data, requires_grad=True)
    ops.group_norm(x2, 3, *params, 1e-3).backward(gy)
    for ours, theirs in zip([x, *layer.weights], [x2, *params]):
        np.testing.assert_allclose(ours.grad, theirs.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "layer",
    [LocalResponseNormalization(), LayerNormalization(axis=[1, 2, 3]), GroupNormalization(3)],
)
def test_float32_inputs_keep_float32(layer):
    x = svertka.Tensor(r(2, 4, 4, 6), requires_grad=True)
    y = layer(x, training=True)
    (y * y).sum().backward()
    assert y.dtype == x.grad.dtype == np.float32
    assert all(w.grad.dtype == np.float32 for w in layer.weights)


# configs and saving


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (LocalResponseNormalization, dict(size=4, alpha=2e-4, beta=0.5, k=1.0, name="lrn")),
        (LayerNormalization, dict(axis=[1, 2, 3], epsilon=1e-5, center=False,
                                  gamma_initializer="he_normal", gamma_regularizer=L2(0.01))),
        (LayerNormalization, dict(axis=(-2, -1), beta_regularizer="l2", trainable=False)),
        (GroupNormalization, dict(groups=3, epsilon=1e-4, scale=False,
                                  beta_initializer="glorot_uniform")),
    ],
)
def test_get_config_from_config_round_trip(cls, kwargs):
    layer = built(cls, **kwargs)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    for key, value in kwargs.items():
        if key not in ("gamma_regularizer",):
            assert config[key] == (list(value) if isinstance(value, tuple) else value)
    again = layers.deserialize(json.loads(json.dumps(layers.serialize(layer))))
    assert type(again) is cls and again.get_config() == config
    again(Input((4, 4, 6)))
    again.set_weights(layer.get_weights())
    x = r(2, 4, 4, 6)
    np.testing.assert_array_equal(again(x).numpy(), layer(x).numpy())
    assert len(again.regularizers) == len(layer.regularizers)


def test_defaults_are_keras_and_alexnet():
    lrn, ln, gn = LocalResponseNormalization(), LayerNormalization(), GroupNormalization()
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4, 0.75, 2.0)
    assert (ln.axis, ln.epsilon, ln.center, ln.scale) == (-1, 1e-3, True, True)
    assert (gn.groups, gn.axis, gn.epsilon, gn.center, gn.scale) == (32, -1, 1e-3, True, True)


def test_save_and_load_a_model_with_the_three_layers(tmp_path):
    svertka.utils.set_random_seed(0)
    model = svertka.Sequential([
        Conv2D(6, 3, padding="same", input_shape=(6, 6, 2)),
        LocalResponseNormalization(size=3, alpha=0.1),
        LayerNormalization(axis=[1, 2, 3], gamma_initializer="he_normal"),
        GroupNormalization(groups=3, beta_initializer="glorot_uniform",
                           gamma_regularizer="l2"),
        Flatten(),
        Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.normal(size=(16, 6, 6, 2)).astype(np.float32)
    history = model.fit(x, rng.integers(0, 2, 16), batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    path = tmp_path / "m.svk"
    model.save(path)
    loaded = svertka.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers]
    for ours, theirs in zip(loaded.layers, model.layers):
        assert ours.get_config() == theirs.get_config()
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


# errors name the layer and the argument


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: LocalResponseNormalization(size=0), ValueError,
         "LocalResponseNormalization: argument 'size' must be a positive int, received 0"),
        (lambda: LocalResponseNormalization(alpha=-1.0), ValueError,
         "LocalResponseNormalization: argument 'alpha' must be a finite number >= 0.0"),
        (lambda: LocalResponseNormalization(beta=float("inf")), ValueError,
         "LocalResponseNormalization: argument 'beta'"),
        (lambda: LocalResponseNormalization(k=0), ValueError,
         "LocalResponseNormalization: argument 'k' must be a finite number > 0.0"),
        (lambda: LayerNormalization(axis="last"), TypeError,
         "LayerNormalization: argument 'axis' must be an int"),
        (lambda: LayerNormalization(axis=[]), TypeError,
         "LayerNormalization: argument 'axis' must be an int or a non-empty list of ints"),
        (lambda: LayerNormalization(epsilon=0.0), ValueError,
         "LayerNormalization: argument 'epsilon' must be a finite number > 0.0"),
        (lambda: LayerNormalization(center=1), TypeError,
         "LayerNormalization: argument 'center' must be True or False"),
        (lambda: LayerNormalization(gamma_initializer="nope"), ValueError,
         "LayerNormalization: argument 'gamma_initializer' must be one of"),
        (lambda: GroupNormalization(groups=0), ValueError,
         "GroupNormalization: argument 'groups' must be a positive int, received 0"),
        (lambda: GroupNormalization(scale="yes"), TypeError,
         "GroupNormalization: argument 'scale' must be True or False"),
        (lambda: GroupNormalization(beta_regularizer=3), ValueError,
         "GroupNormalization: argument 'beta_regularizer'"),
    ],
)
def test_constructor_errors_name_the_layer_and_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize(
    "cls, kwargs, shape, error, message",
    [
        (GroupNormalization, dict(groups=32), (4, 4, 48), ValueError,
         r"GroupNormalization: argument 'groups' must divide the number of channels into "
         r"equal groups, received groups=32, but the input has 48 channels "
         r"\(input shape \(None, 4, 4, 48\)\)"),
        (GroupNormalization, dict(groups=8), (4, 4, 6), ValueError,
         "received groups=8, but the input has 6 channels"),
        (GroupNormalization, dict(groups=2, axis=1), (4, 4, 6), ValueError,
         "GroupNormalization: argument 'axis' must be the channels axis"),
        (GroupNormalization, dict(groups=1), (), ValueError,
         r"GroupNormalization: expected inputs of rank >= 2"),
        (LayerNormalization, dict(axis=0), (4, 4, 6), ValueError,
         "LayerNormalization: argument 'axis' must not include the batch axis"),
        (LayerNormalization, dict(axis=[1, -4]), (4, 4, 6), ValueError,
         "LayerNormalization: argument 'axis' must not include the batch axis"),
        (LayerNormalization, dict(axis=4), (4, 4, 6), ValueError,
         r"LayerNormalization: argument 'axis' must be an int or a non-empty list of distinct "
         r"ints in \[-4, 3\] for x of rank 4, received 4"),
        (LayerNormalization, dict(axis=[3, -1]), (4, 4, 6), ValueError,
         "LayerNormalization: argument 'axis' .* names an axis twice"),
        (LayerNormalization, dict(axis=1), (None, 6), ValueError,
         "LayerNormalization: the axes to normalise must have known sizes"),
        (LocalResponseNormalization, {}, (), ValueError,
         "LocalResponseNormalization: expected inputs of rank >= 2"),
    ],
)
def test_build_errors_name_the_layer_and_argument(cls, kwargs, shape, error, message):
    with pytest.raises(error, match=message):
        cls(**kwargs)(Input(shape))


def test_built_layers_refuse_other_shapes():
    with pytest.raises(ValueError, match="GroupNormalization: the layer was built for 6 chan"):
        built(GroupNormalization, groups=3)(r(2, 4, 4, 9))
    with pytest.raises(ValueError, match=r"LayerNormalization: the layer was built for inputs "
                                         r"of shape \(None, 4, 4, 6\), received input shape "
                                         r"\(None, 4, 5, 6\)"):
        built(LayerNormalization, axis=[1, 2, 3])(r(2, 4, 5, 6))
    # only the normalised axes are fixed: another height is fine for axis=-1
    assert built(LayerNormalization)(r(2, 7, 3, 6)).shape == (2, 7, 3, 6)
    assert built(GroupNormalization, groups=3)(r(1, 2, 9, 6)).shape == (1, 2, 9, 6)
