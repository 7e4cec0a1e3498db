import json

import numpy as np
import pytest
from helpers import check_grad

import svertka
from svertka import ops
from svertka.layers import Conv2D, Input

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


GEOMETRIES = [
    dict(kernel_size=3),
    dict(kernel_size=1),
    dict(kernel_size=(2, 3), strides=2),
    dict(kernel_size=3, strides=(2, 1), padding="same"),
    dict(kernel_size=2, strides=2, padding="same"),
    dict(kernel_size=3, dilation_rate=2),
    dict(kernel_size=3, dilation_rate=(2, 1), strides=2, padding="same"),
    dict(kernel_size=3, strides=3),
    dict(kernel_size=3, padding=1),
    dict(kernel_size=(3, 2), padding=(2, 0)),
    dict(kernel_size=3, padding=((0, 2), (1, 0)), strides=2),
    dict(kernel_size=3, padding="SAME", padding_mode="reflect"),
    dict(kernel_size=3, padding=2, padding_mode="circular", dilation_rate=2),
    dict(kernel_size=(1, 5), padding="same", padding_mode="replicate"),
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("hw", [(7, 7), (6, 9)])
def test_output_shape_of_call_matches_compute_output_shape(geometry, hw):
    layer = Conv2D(4, **geometry)
    y = layer(r(2, *hw, 3))
    assert layer.output_shape == (None, *y.shape[1:])
    assert layer.compute_output_shape((None, *hw, 3)) == (None, *y.shape[1:])
    assert y.shape[-1] == 4 and y.dtype == np.float32


@pytest.mark.parametrize(
    "size, geometry, out",
    [
        (28, dict(kernel_size=3, padding="same"), 28),
        (7, dict(kernel_size=3), 5),
        (7, dict(kernel_size=3, strides=2), 3),
        (7, dict(kernel_size=3, strides=3), 2),  # the notes' 2.33: floored
        (7, dict(kernel_size=3, strides=2, padding="same"), 4),
        (9, dict(kernel_size=3, dilation_rate=2), 5),
    ],
)
def test_output_sizes_from_the_notes(size, geometry, out):
    assert Conv2D(1, **geometry)(Input((size, size, 1))).shape == (None, out, out, 1)


def test_parameter_counts_of_the_notes_model():
    first, second = Conv2D(32, (3, 3), padding="same"), Conv2D(64, (3, 3), padding="same")
    second(first(Input((28, 28, 1))))
    assert first.count_params() == 320 and second.count_params() == 18_496
    assert [w.shape for w in second.weights] == [(3, 3, 32, 64), (64,)]
    no_bias = Conv2D(32, 3, use_bias=False)
    no_bias(Input((5, 5, 1)))
    assert no_bias.count_params() == 288 and no_bias.bias is None


@pytest.mark.parametrize("geometry", [GEOMETRIES[2], GEOMETRIES[6], GEOMETRIES[11]])
def test_matches_ops_conv2d_forward_and_gradients(geometry):
    layer = Conv2D(3, activation="relu", bias_initializer="glorot_uniform", **geometry)
    x = svertka.Tensor(r(2, 7, 6, 2), requires_grad=True)
    y = layer(x)
    gy = r(*y.shape)
    y.backward(gy)
    w = svertka.Tensor(layer.kernel.data, requires_grad=True)
    b = svertka.Tensor(layer.bias.data, requires_grad=True)
    x2 = svertka.Tensor(x.data, requires_grad=True)
    y2 = ops.relu(
        ops.conv2d(x2, w, b, layer.strides, layer.padding, layer.padding_mode, layer.dilation_rate)
    )
    y2.backward(gy)
    np.testing.assert_allclose(y.numpy(), y2.numpy(), rtol=1e-6)
    for ours, theirs in ((layer.kernel, w), (layer.bias, b), (x, x2)):
        np.testing.assert_allclose(ours.grad, theirs.grad, rtol=1e-5, atol=1e-6)


def test_unknown_height_and_width_stay_unknown():
    layer = Conv2D(8, 3, strides=2, padding="same")
    assert layer(Input((None, None, 3))).shape == (None, None, None, 8)
    assert layer(r(1, 9, 5, 3)).shape == (1, 5, 3, 8)  # built once, any size later
    assert Conv2D(8, 3)(Input((None, 10, 3))).shape == (None, None, 8, 8)


def test_window_is_resolved_for_the_input():
    layer = Conv2D(4, 2, strides=2, padding="same")
    with pytest.raises(ValueError, match="Conv2D.window: 'same' padding depends on the input"):
        layer.window()
    assert layer.window((None, 7, 8, 1)) == ((2, 2), (2, 2), (1, 1), ((0, 1), (0, 0)))
    layer(Input((5, 5, 1)))
    assert layer.window() == ((2, 2), (2, 2), (1, 1), ((0, 1), (0, 1)))
    declared = Conv2D(4, 3, dilation_rate=2, padding="same", input_shape=(28, 28, 1))
    assert declared.window() == ((3, 3), (1, 1), (2, 2), ((2, 2), (2, 2)))
    assert Conv2D(4, (3, 1), padding=((0, 1), (2, 3))).window() == (
        (3, 1),
        (1, 1),
        (1, 1),
        ((0, 1), (2, 3)),
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            dict(filters=0, kernel_size=3),
            ValueError,
            "Conv2D: argument 'filters' must be a positive",
        ),
        (dict(filters=-2, kernel_size=3), ValueError, "'filters'"),
        (dict(filters="32", kernel_size=3), TypeError, "'filters'"),
        (dict(filters=8, kernel_size=0), ValueError, "Conv2D: argument 'kernel_size' must be >= 1"),
        (dict(filters=8, kernel_size=(3,)), TypeError, "Conv2D: argument 'kernel_size'"),
        (dict(filters=8, kernel_size="3"), TypeError, "'kernel_size'"),
        (dict(filters=8, kernel_size=3, strides=0), ValueError, "Conv2D: argument 'strides'"),
        (dict(filters=8, kernel_size=3, dilation_rate=(1, 0)), ValueError, "'dilation_rate'"),
        (dict(filters=8, kernel_size=3, padding="full"), ValueError, "Conv2D: argument 'padding'"),
        (dict(filters=8, kernel_size=3, padding=-1), ValueError, "Conv2D: argument 'padding'"),
        (
            dict(filters=8, kernel_size=3, padding_mode="wrap"),
            ValueError,
            "Conv2D: argument 'padding_mode'",
        ),
        (
            dict(filters=8, kernel_size=3, activation="swoosh"),
            ValueError,
            "Conv2D: argument 'activation'",
        ),
    ],
)
def test_rejects_bad_arguments_at_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        Conv2D(**kwargs)


def test_rejects_bad_inputs_at_build():
    with pytest.raises(
        ValueError,
        match=r"Conv2D: expected 4-D inputs .*received input shape "
        r"\(None, 5, 5\)",
    ):
        Conv2D(2, 3)(r(1, 5, 5))
    with pytest.raises(ValueError, match="Conv2D: the kernel spans 5 pixels along the height"):
        Conv2D(2, 3, dilation_rate=2)(Input((4, 9, 1)))
    with pytest.raises(ValueError, match="Conv2D: the channel axis of the inputs must be known"):
        Conv2D(2, 3)(Input((5, 5, None)))
    with pytest.raises(ValueError, match="Conv2D"):
        Conv2D(2, 3, padding=3, padding_mode="reflect")(Input((3, 3, 1)))  # mirror too wide


def test_rejects_another_channel_count_after_build():
    layer = Conv2D(2, 3)
    layer(r(1, 5, 5, 3))
    with pytest.raises(
        ValueError,
        match=r"Conv2D: the layer was built for inputs with 3 "
        r"channels .*received input shape \(None, 5, 5, 1\)",
    ):
        layer(r(1, 5, 5, 1))
    with pytest.raises(ValueError, match="built for inputs with 3 channels"):
        layer(Input((8, 8, 4)))
    with pytest.raises(ValueError, match="the kernel spans 3 pixels"):
        layer(Input((2, 8, 3)))


def test_config_round_trip_keeps_every_argument():
    layer = Conv2D(
        5,
        (3, 2),
        strides=(2, 1),
        padding=((1, 0), (0, 2)),
        padding_mode="symmetric",
        dilation_rate=(1, 2),
        activation="elu",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer="l2",
        name="c",
    )
    config = json.loads(json.dumps(layer.get_config()))
    assert config == layer.get_config()
    assert config["padding"] == [[1, 0], [0, 2]] and config["kernel_size"] == [3, 2]
    rebuilt = Conv2D.from_config(config)
    x = r(2, 6, 7, 2)
    layer(x), rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_allclose(rebuilt(x).numpy(), layer(x).numpy())
    assert rebuilt.get_config() == config


def test_float64_gradient_check_through_the_layer():
    layer = Conv2D(2, 2, strides=2, padding="same", activation="tanh")
    layer(np.zeros((1, 3, 3, 2)))
    for w in layer.weights:
        w.data = w.data.astype(np.float64)  # set_weights keeps float32; the check needs float64
    check_grad(layer, np.random.default_rng(1).standard_normal((2, 3, 3, 2)))


def test_call_is_one_conv2d_with_the_bias_fused():
    from svertka.ops.conv import Conv2d

    layer = Conv2D(3, 3, padding="same")
    x = svertka.Tensor(r(1, 5, 5, 2), requires_grad=True)
    y = layer(x)
    assert isinstance(y.creator, Conv2d)
    assert [id(t) for t in y.creator.inputs] == [id(x), id(layer.kernel), id(layer.bias)]
