import json

import numpy as np
import pytest
from helpers import check_grad

import svertka
from svertka import ops
from svertka.layers import (
    LAYERS,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Flatten,
    Input,
    SeparableConv2D,
    deserialize,
    serialize,
)
from svertka.models import load_model

rng = np.random.default_rng(2)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


GEOMETRIES = [
    dict(kernel_size=3),
    dict(kernel_size=1, depth_multiplier=2),
    dict(kernel_size=(2, 3), strides=2),
    dict(kernel_size=3, strides=(2, 1), padding="same", depth_multiplier=3),
    dict(kernel_size=2, strides=2, padding="SAME"),
    dict(kernel_size=3, dilation_rate=2),
    dict(kernel_size=3, dilation_rate=(2, 1), strides=2, padding="same"),
    dict(kernel_size=3, padding=1),
    dict(kernel_size=(3, 2), padding=(2, 0)),
    dict(kernel_size=3, padding=((0, 2), (1, 0)), strides=2),
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("hw", [(7, 7), (6, 9)])
def test_depthwise_output_shape_of_call_matches_compute_output_shape(geometry, hw):
    layer = DepthwiseConv2D(**geometry)
    y = layer(r(2, *hw, 3))
    assert layer.compute_output_shape((None, *hw, 3)) == (None, *y.shape[1:])
    assert y.shape[-1] == 3 * geometry.get("depth_multiplier", 1) and y.dtype == np.float32


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_separable_output_shape_is_the_depthwise_window_with_filters_channels(geometry):
    layer = SeparableConv2D(5, **geometry)
    y = layer(r(2, 7, 6, 3))
    window = DepthwiseConv2D(**geometry).compute_output_shape((None, 7, 6, 3))
    assert (None, *y.shape[1:]) == (*window[:3], 5) == layer.compute_output_shape((None, 7, 6, 3))


def test_parameter_counts_follow_keras():
    x = Input((16, 16, 32))
    depthwise, separable = DepthwiseConv2D(3), SeparableConv2D(64, 3)
    depthwise(x), separable(x)
    assert depthwise.count_params() == 3 * 3 * 32 + 32 == 320
    assert separable.count_params() == 288 + 2048 + 64 == 2400
    assert [w.shape for w in depthwise.weights] == [(3, 3, 32, 1), (32,)]
    assert depthwise.weight_names == ["kernel", "bias"]
    assert [w.shape for w in separable.weights] == [(3, 3, 32, 1), (1, 1, 32, 64), (64,)]
    assert separable.weight_names == ["depthwise_kernel", "pointwise_kernel", "bias"]
    multiplied = DepthwiseConv2D(3, depth_multiplier=2, use_bias=False)
    assert multiplied(x).shape == (None, 14, 14, 64)
    assert multiplied.count_params() == 576 and multiplied.bias is None
    separable2 = SeparableConv2D(64, 3, depth_multiplier=2)
    separable2(x)
    assert separable2.count_params() == 576 + 64 * 64 + 64


def test_conv2d_groups_divide_the_kernel_and_the_parameters():
    layer = Conv2D(64, 3, groups=4)
    assert layer(Input((8, 8, 32))).shape == (None, 6, 6, 64)
    assert layer.kernel.shape == (3, 3, 8, 64)
    assert layer.count_params() == 3 * 3 * 8 * 64 + 64 == 4672


def test_depthwise_layer_is_the_op_forward_and_gradients():
    layer = DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, activation="relu",
                            bias_initializer="glorot_uniform")
    x = svertka.Tensor(r(2, 7, 6, 3), requires_grad=True)
    y = layer(x)
    gy = r(*y.shape)
    y.backward(gy)
    w = svertka.Tensor(layer.kernel.data, requires_grad=True)
    b = svertka.Tensor(layer.bias.data, requires_grad=True)
    x2 = svertka.Tensor(x.data, requires_grad=True)
    y2 = ops.relu(ops.depthwise_conv2d(x2, w, b, strides=2, padding="same"))
    y2.backward(gy)
    np.testing.assert_allclose(y.numpy(), y2.numpy(), rtol=1e-6)
    for a, e in ((layer.kernel, w), (layer.bias, b), (x, x2)):
        np.testing.assert_allclose(a.grad, e.grad, rtol=1e-5, atol=1e-6)


def test_separable_layer_is_depthwise_then_pointwise():
    layer = SeparableConv2D(4, 3, padding="same", depth_multiplier=2, activation="tanh",
                            bias_initializer="glorot_uniform")
    x = r(2, 6, 5, 3)
    y = layer(x).numpy()
    d = ops.depthwise_conv2d(x, layer.depthwise_kernel, padding="same")
    expected = np.tanh(ops.conv2d(d, layer.pointwise_kernel, layer.bias).numpy())
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_separable_matches_torch_depthwise_then_1x1():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    layer = SeparableConv2D(5, 3, strides=2, dilation_rate=1, padding=1, depth_multiplier=2,
                            bias_initializer="glorot_uniform")
    x = r(2, 7, 7, 3)
    y = layer(x).numpy()
    dk, pk, b = (torch.tensor(w.numpy()) for w in layer.weights)
    xt = torch.tensor(x).permute(0, 3, 1, 2)
    t = F.conv2d(xt, dk.reshape(3, 3, 1, 6).permute(3, 2, 0, 1), stride=2, padding=1, groups=3)
    t = F.conv2d(t, pk.permute(3, 2, 0, 1), b).permute(0, 2, 3, 1)
    np.testing.assert_allclose(y, t.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "make",
    [lambda: DepthwiseConv2D(2, strides=2, padding="same", depth_multiplier=2,
                             activation="tanh"),
     lambda: SeparableConv2D(3, 2, padding="same", activation="tanh"),
     lambda: Conv2D(4, 2, padding="same", groups=2, activation="tanh")],
    ids=["depthwise", "separable", "conv2d-groups"],
)
def test_float64_gradient_check_through_the_layer(make):
    layer = make()
    layer(np.zeros((1, 3, 3, 2)))
    for w in layer.weights:
        w.data = (w.data + rng.standard_normal(w.shape) * 0.1).astype(np.float64)
    check_grad(layer, np.random.default_rng(1).standard_normal((2, 3, 3, 2)))


@pytest.mark.parametrize(
    "layer",
    [
        DepthwiseConv2D((3, 2), strides=(2, 1), padding=((1, 0), (0, 2)), depth_multiplier=2,
                        dilation_rate=(1, 2), activation="elu", use_bias=False,
                        depthwise_initializer="he_normal", depthwise_regularizer="l2", name="d"),
        SeparableConv2D(5, 3, strides=2, padding="same", depth_multiplier=3, activation="relu",
                        depthwise_initializer="he_uniform", pointwise_initializer="he_normal",
                        bias_initializer="ones", pointwise_regularizer="l2", name="s"),
        Conv2D(6, 3, padding="same", groups=3, name="g"),
    ],
    ids=["depthwise", "separable", "conv2d-groups"],
)
def test_config_round_trip_keeps_every_argument(layer):
    config = json.loads(json.dumps(serialize(layer)))
    assert config["config"] == layer.get_config()
    rebuilt = deserialize(config)
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == layer.get_config()
    x = r(2, 7, 8, 3)
    layer(x), rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_allclose(rebuilt(x).numpy(), layer(x).numpy())


def test_config_names_follow_keras():
    assert {"kernel_size", "strides", "padding", "depth_multiplier", "dilation_rate",
            "activation", "use_bias", "depthwise_initializer", "bias_initializer"} <= set(
        DepthwiseConv2D(3).get_config())
    assert {"filters", "pointwise_initializer", "depthwise_initializer"} <= set(
        SeparableConv2D(8, 3).get_config())
    assert Conv2D(8, 3, groups=2).get_config()["groups"] == 2
    assert LAYERS["DepthwiseConv2D"] is DepthwiseConv2D
    assert LAYERS["SeparableConv2D"] is SeparableConv2D


def test_a_mobilenet_block_saves_and_loads(tmp_path):
    model = svertka.Sequential([
        Conv2D(8, 3, padding="same", activation="relu", input_shape=(12, 12, 3)),
        DepthwiseConv2D(3, strides=2, padding="same", activation="relu", depth_multiplier=2),
        Conv2D(16, 1, groups=4, activation="relu"),
        SeparableConv2D(8, 3, padding="same", activation="relu"),
        Flatten(),
        Dense(2),
    ])
    x = r(3, 12, 12, 3)
    model.save(tmp_path / "mobile.svk")
    loaded = load_model(tmp_path / "mobile.svk")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [type(layer).__name__ for layer in loaded.layers[1:4]] == [
        "DepthwiseConv2D", "Conv2D", "SeparableConv2D"]
    assert loaded.count_params() == model.count_params()


def test_a_model_with_the_new_layers_trains():
    model = svertka.Sequential([
        DepthwiseConv2D(3, padding="same", depth_multiplier=2, input_shape=(8, 8, 2)),
        SeparableConv2D(4, 3, activation="relu"),
        Conv2D(4, 3, groups=2),
        Flatten(),
        Dense(2),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = r(32, 8, 8, 2), rng.integers(0, 2, 32)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize(
    "cls, kwargs, error, match",
    [
        (DepthwiseConv2D, dict(kernel_size=0), ValueError,
         "DepthwiseConv2D: argument 'kernel_size' must be >= 1"),
        (DepthwiseConv2D, dict(kernel_size="3"), TypeError,
         "DepthwiseConv2D: argument 'kernel_size'"),
        (DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=0), ValueError,
         "DepthwiseConv2D: argument 'depth_multiplier' must be a positive int, received 0"),
        (DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=1.5), TypeError,
         "DepthwiseConv2D: argument 'depth_multiplier'"),
        (DepthwiseConv2D, dict(kernel_size=3, strides=0), ValueError,
         "DepthwiseConv2D: argument 'strides'"),
        (DepthwiseConv2D, dict(kernel_size=3, dilation_rate=(1, 0)), ValueError,
         "DepthwiseConv2D: argument 'dilation_rate'"),
        (DepthwiseConv2D, dict(kernel_size=3, padding="full"), ValueError,
         "DepthwiseConv2D: argument 'padding'"),
        (DepthwiseConv2D, dict(kernel_size=3, activation="swoosh"), ValueError,
         "DepthwiseConv2D: argument 'activation'"),
        (DepthwiseConv2D, dict(kernel_size=3, use_bias="yes"), TypeError,
         "DepthwiseConv2D: argument 'use_bias'"),
        (DepthwiseConv2D, dict(kernel_size=3, depthwise_initializer="nope"), ValueError,
         "DepthwiseConv2D: argument 'depthwise_initializer'"),
        (DepthwiseConv2D, dict(kernel_size=3, filters=8), TypeError,
         "DepthwiseConv2D: unexpected keyword arguments"),
        (SeparableConv2D, dict(filters=0, kernel_size=3), ValueError,
         "SeparableConv2D: argument 'filters' must be a positive int"),
        (SeparableConv2D, dict(filters=4, kernel_size=3, pointwise_initializer="nope"),
         ValueError, "SeparableConv2D: argument 'pointwise_initializer'"),
        (SeparableConv2D, dict(filters=4, kernel_size=3, depth_multiplier=-1), ValueError,
         "SeparableConv2D: argument 'depth_multiplier'"),
        (SeparableConv2D, dict(filters=4, kernel_size=3, padding=-1), ValueError,
         "SeparableConv2D: argument 'padding'"),
        (Conv2D, dict(filters=8, kernel_size=3, groups=0), ValueError,
         "Conv2D: argument 'groups' must be a positive int, received 0"),
        (Conv2D, dict(filters=8, kernel_size=3, groups=3), ValueError,
         "Conv2D: argument 'groups' must divide 'filters': received groups=3, but filters=8"),
    ],
)
def test_rejects_bad_arguments_at_construction(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_rejects_bad_inputs_at_build():
    with pytest.raises(ValueError, match=r"Conv2D: argument 'groups' must divide the input "
                                         r"channels: received groups=4, but the input has 6 "
                                         r"channels \(input shape \(None, 5, 5, 6\)\)"):
        Conv2D(8, 3, groups=4)(Input((5, 5, 6)))
    with pytest.raises(ValueError, match=r"DepthwiseConv2D: expected 4-D inputs .*received "
                                         r"input shape \(None, 5, 5\)"):
        DepthwiseConv2D(3)(r(1, 5, 5))
    with pytest.raises(ValueError, match="DepthwiseConv2D: the kernel spans 5 pixels along "
                                         "the height"):
        DepthwiseConv2D(3, dilation_rate=2)(Input((4, 9, 1)))
    with pytest.raises(ValueError, match="SeparableConv2D: the channel axis of the inputs must "
                                         "be known"):
        SeparableConv2D(2, 3)(Input((5, 5, None)))


@pytest.mark.parametrize("make", [lambda: DepthwiseConv2D(3), lambda: SeparableConv2D(2, 3),
                                  lambda: Conv2D(4, 3, groups=2)])
def test_rejects_another_channel_count_after_build(make):
    layer = make()
    layer(r(1, 5, 5, 4))
    with pytest.raises(ValueError, match=rf"{type(layer).__name__}: the layer was built for "
                                         r"inputs with 4 channels.*\(None, 5, 5, 2\)"):
        layer(r(1, 5, 5, 2))


def test_unknown_height_and_width_stay_unknown_and_window_is_resolved():
    layer = DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)
    assert layer(Input((None, None, 3))).shape == (None, None, None, 6)
    assert layer(r(1, 9, 5, 3)).shape == (1, 5, 3, 6)
    assert SeparableConv2D(4, 3)(Input((None, 10, 3))).shape == (None, None, 8, 4)
    assert layer.window((None, 7, 8, 3)) == ((3, 3), (2, 2), (1, 1), ((1, 1), (0, 1)))
