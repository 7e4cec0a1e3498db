"""Conv2DTranspose: output shapes (Keras's rules), parameters, the layer against its op,
configs, saving through a model, gradients, errors that name the layer and the argument."""

import json

import numpy as np
import pytest

import svertka
from svertka import ops
from svertka.layers import Conv2D, Conv2DTranspose, Input, deserialize, serialize
from svertka.regularizers import L2

rng = np.random.default_rng(4)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


GEOMETRIES = [
    dict(kernel_size=3),
    dict(kernel_size=1),
    dict(kernel_size=(2, 3), strides=2),
    dict(kernel_size=3, strides=2, padding="same"),
    dict(kernel_size=3, strides=(2, 1), padding="SAME"),
    dict(kernel_size=4, strides=2, padding="same", output_padding=1),
    dict(kernel_size=3, strides=2, output_padding=(1, 0)),
    dict(kernel_size=2, strides=3),
    dict(kernel_size=3, dilation_rate=2),
    dict(kernel_size=3, dilation_rate=(2, 1), strides=2, padding="same"),
    dict(kernel_size=3, strides=2, padding=1, output_padding=1),
    dict(kernel_size=3, padding=((0, 1), (2, 0))),
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("hw", [(5, 5), (4, 7)])
def test_output_shape_of_call_matches_compute_output_shape(geometry, hw):
    layer = Conv2DTranspose(4, **geometry)
    y = layer(r(2, *hw, 3))
    assert layer.output_shape == (None, *y.shape[1:])
    assert layer.compute_output_shape((None, *hw, 3)) == (None, *y.shape[1:])
    assert Conv2DTranspose(4, **geometry)(Input((*hw, 3))).shape == (None, *y.shape[1:])
    assert y.shape[-1] == 4 and y.dtype == np.float32
    _, oh, ow, _ = layer.compute_output_shape((None, None, hw[1], 3))
    assert oh is None and ow == y.shape[2]


@pytest.mark.parametrize(
    "size, geometry, out",
    [
        (7, dict(kernel_size=3), 9),
        (7, dict(kernel_size=3, strides=2), 15),
        (7, dict(kernel_size=3, strides=2, padding="same"), 14),
        (7, dict(kernel_size=3, strides=2, padding="same", output_padding=0), 13),
        (7, dict(kernel_size=3, strides=2, output_padding=1), 16),
        (7, dict(kernel_size=2, strides=3), 21),  # Keras: I*S when the kernel is shorter
        (7, dict(kernel_size=3, dilation_rate=2), 11),
        (14, dict(kernel_size=4, strides=2, padding="same"), 28),
    ],
)
def test_output_sizes_follow_keras(size, geometry, out):
    assert Conv2DTranspose(1, **geometry)(Input((size, size, 1))).shape == (None, out, out, 1)


def test_parameters_and_kernel_layout_follow_keras():
    layer = Conv2DTranspose(16, 3)
    layer(Input((5, 5, 8)))
    assert layer.count_params() == 3 * 3 * 16 * 8 + 16 == 1168
    assert layer.kernel.shape == (3, 3, 16, 8) and layer.bias.shape == (16,)
    no_bias = Conv2DTranspose(16, (2, 3), use_bias=False)
    no_bias(Input((5, 5, 8)))
    assert no_bias.count_params() == 2 * 3 * 16 * 8 and no_bias.weight_names == ["kernel"]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_layer_is_its_op_with_the_activation(geometry):
    layer = Conv2DTranspose(3, activation="relu", bias_initializer="glorot_uniform", **geometry)
    x = r(2, 4, 5, 2)
    y = layer(x).numpy()
    kwargs = {k: v for k, v in geometry.items() if k != "kernel_size"}
    expected = ops.conv2d_transpose(x, layer.kernel, layer.bias, activation="relu",
                                    **kwargs).numpy()
    np.testing.assert_array_equal(y, expected)
    assert (y >= 0).all()


def test_is_the_adjoint_of_conv2d_with_the_same_kernel():
    up = Conv2DTranspose(3, 3, strides=2, padding="same", use_bias=False)
    down = Conv2D(2, 3, strides=2, padding="same", use_bias=False)
    x = rng.standard_normal((2, 4, 5, 2))
    y = up(x)
    down(y.numpy())
    down.set_weights(up.get_weights())  # (KH, KW, 3, 2): Conv2D 3 -> 2, Conv2DTranspose 2 -> 3
    z = rng.standard_normal(y.shape)
    np.testing.assert_allclose((down(z).numpy() * x).sum(), (z * y.numpy()).sum(), rtol=1e-4)


def test_gradients_reach_the_input_the_kernel_and_the_bias():
    layer = Conv2DTranspose(4, 3, strides=2, padding="same", bias_initializer="ones")
    x = svertka.Tensor(r(2, 3, 3, 5), requires_grad=True)
    y = layer(x)
    (y * svertka.Tensor(r(*y.shape))).sum().backward()
    for t in (x, layer.kernel, layer.bias):
        assert t.grad is not None and t.grad.shape == t.shape and np.abs(t.grad).sum() > 0
    frozen = Conv2DTranspose(4, 3, trainable=False)
    frozen(x).sum().backward()
    assert frozen.trainable_weights == [] and all(w.grad is None for w in frozen.weights)


CONFIGS = [
    dict(filters=4, kernel_size=(3, 2), strides=2, padding="same", activation="tanh",
         bias_initializer="glorot_normal"),
    dict(filters=2, kernel_size=3, strides=(2, 3), padding="valid", output_padding=(1, 2),
         dilation_rate=1, kernel_regularizer=L2(0.01), bias_regularizer="l2"),
    dict(filters=3, kernel_size=2, padding=((1, 0), (0, 1)), dilation_rate=(2, 1),
         use_bias=False, kernel_initializer="he_uniform"),
]


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_config_round_trip(kwargs):
    layer = Conv2DTranspose(**kwargs, name="up")
    x = r(2, 4, 5, 3)
    y = layer(x)
    saved = json.dumps(serialize(layer))
    rebuilt = deserialize(json.loads(saved))
    assert type(rebuilt) is Conv2DTranspose and rebuilt.name == "up"
    assert rebuilt.get_config() == layer.get_config() == json.loads(saved)["config"]
    rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_allclose(rebuilt(x).numpy(), y.numpy(), rtol=1e-6)
    assert rebuilt.count_params() == layer.count_params()


def test_config_keeps_keras_names_and_none_output_padding():
    config = Conv2DTranspose(8, 3, strides=2, name="t").get_config()
    assert config["output_padding"] is None and config["padding"] == "valid"
    assert config["kernel_size"] == [3, 3] and config["strides"] == [2, 2]
    assert config["dilation_rate"] == [1, 1] and config["activation"] is None
    assert Conv2DTranspose(8, 3, strides=2, output_padding=1).get_config()["output_padding"] == [
        1, 1]


def test_save_and_load_an_encoder_decoder(tmp_path):
    model = svertka.Sequential([
        Conv2D(4, 3, strides=2, padding="same", activation="relu", input_shape=(8, 8, 1)),
        Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
        Conv2DTranspose(2, 2, strides=1, output_padding=None, dilation_rate=2),
        Conv2DTranspose(1, (3, 2), strides=2, padding=1, output_padding=(1, 0)),
    ])
    model.compile(optimizer="adam", loss="mse")
    x = r(4, 8, 8, 1)
    y_shape = model.predict(x).shape
    assert y_shape == (4, *model.layers[-1].output_shape[1:])
    model.fit(x, r(*y_shape), epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "ae.svk"
    model.save(path)
    loaded = svertka.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: Conv2DTranspose(4, 3, strides=2, output_padding=2), ValueError,
         r"Conv2DTranspose: argument 'output_padding' must be smaller than the stride along "
         r"each axis, received output_padding=2 with strides=\(2, 2\)"),
        (lambda: Conv2DTranspose(4, 3, output_padding=(0, 1)), ValueError,
         r"Conv2DTranspose: argument 'output_padding' must be smaller than the stride"),
        (lambda: Conv2DTranspose(4, 3, output_padding="same"), TypeError,
         r"Conv2DTranspose: argument 'output_padding' must be an int or a pair of ints"),
        (lambda: Conv2DTranspose(4, 3, padding="full"), ValueError,
         r"Conv2DTranspose: argument 'padding' must be 'valid', 'same', an int, a pair or "
         r"\(\(top, bottom\), \(left, right\)\), received 'full'"),
        (lambda: Conv2DTranspose(0, 3), ValueError,
         r"Conv2DTranspose: argument 'filters' must be a positive int, received 0"),
        (lambda: Conv2DTranspose(4, (3, 3, 3)), TypeError,
         r"Conv2DTranspose: argument 'kernel_size' must be an int or a pair of ints"),
        (lambda: Conv2DTranspose(4, 3, dilation_rate=0), ValueError,
         r"Conv2DTranspose: argument 'dilation_rate' must be >= 1"),
        (lambda: Conv2DTranspose(4, 3, activation="nope"), ValueError,
         r"Conv2DTranspose: argument 'activation' must be None, one of"),
        (lambda: Conv2DTranspose(4, 3, use_bias=1), TypeError,
         r"Conv2DTranspose: argument 'use_bias' must be True or False"),
        (lambda: Conv2DTranspose(4, 3, padding=2)(Input((1, 4, 2))), ValueError,
         r"Conv2DTranspose: the output would have -1 pixels along the height .* expected at "
         r"least 1: crop less"),
        (lambda: Conv2DTranspose(4, 3)(Input((4, 4))), ValueError,
         r"Conv2DTranspose: expected 4-D inputs \(batch, height, width, channels\)"),
    ],
)
def test_errors_name_the_layer_and_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_built_layer_refuses_other_channels():
    layer = Conv2DTranspose(4, 3)
    layer(r(1, 4, 4, 2))
    with pytest.raises(ValueError, match=r"Conv2DTranspose: the layer was built for inputs with "
                                         r"2 channels .* received input shape \(None, 4, 4, 3\)"):
        layer(r(1, 4, 4, 3))
