import numpy as np
import pytest

import svertka
from svertka import ops
from svertka.layers import (
    ELU,
    GELU,
    Dense,
    Input,
    LeakyReLU,
    LinearThreshold,
    Maxout,
    PReLU,
    ReLU,
    Softmax,
    Step,
)

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    "layer, op",
    [
        (ReLU(), ops.relu),
        (Step(), ops.step),
        (LeakyReLU(), lambda x: ops.leaky_relu(x, 0.3)),
        (LeakyReLU(alpha=0.1), lambda x: ops.leaky_relu(x, 0.1)),
        (LeakyReLU(negative_slope=0.2), lambda x: ops.leaky_relu(x, 0.2)),
        (ELU(alpha=0.5), lambda x: ops.elu(x, 0.5)),
        (GELU(), ops.gelu),
        (GELU(approximate=True), lambda x: ops.gelu(x, approximate=True)),
        (Softmax(), ops.softmax),
        (Softmax(axis=1), lambda x: ops.softmax(x, axis=1)),
        (LinearThreshold(), ops.linear_threshold),
        (LinearThreshold(0.0, 1.0), lambda x: ops.linear_threshold(x, 0.0, 1.0)),
    ],
)
def test_layer_matches_its_op_forward_and_gradient(layer, op):
    data = r(2, 3, 4) * 2
    x, x2 = svertka.Tensor(data, requires_grad=True), svertka.Tensor(data, requires_grad=True)
    y, y2 = layer(x), op(x2)
    gy = r(*y.shape)
    y.backward(gy)
    y2.backward(gy)
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    np.testing.assert_array_equal(x.grad, x2.grad)
    assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 4)
    assert layer.count_params() == 0


def test_leaky_relu_names_its_slope_either_way():
    assert LeakyReLU().alpha == 0.3
    assert LeakyReLU(negative_slope=0.05).get_config()["alpha"] == 0.05
    with pytest.raises(ValueError, match="LeakyReLU: arguments 'alpha' and 'negative_slope'"):
        LeakyReLU(alpha=0.1, negative_slope=0.2)
    with pytest.raises(TypeError, match="LeakyReLU: argument 'alpha' must be a finite number"):
        LeakyReLU(alpha="0.1")


def test_prelu_learns_one_slope_per_channel_starting_as_relu():
    layer = PReLU()
    x = svertka.Tensor(r(2, 3, 3, 4), requires_grad=True)
    y = layer(x)
    assert layer.alpha.shape == (4,) and layer.count_params() == 4
    np.testing.assert_array_equal(y.numpy(), np.maximum(x.data, 0))  # alpha starts at zero
    layer.set_weights([np.array([0.1, 0.2, 0.3, 0.4], np.float32)])
    gy = r(2, 3, 3, 4)
    layer(x).backward(gy)
    alpha2 = svertka.Tensor(layer.alpha.data, requires_grad=True)
    x2 = svertka.Tensor(x.data, requires_grad=True)
    ops.prelu(x2, alpha2).backward(gy)
    np.testing.assert_allclose(layer.alpha.grad, alpha2.grad, rtol=1e-6)
    np.testing.assert_allclose(x.grad, x2.grad)


@pytest.mark.parametrize(
    "shared_axes, alpha_shape",
    [
        (None, (4,)),
        ([], (5, 6, 4)),
        ([1, 2], (1, 1, 4)),
        (1, (1, 6, 4)),
        ([3], (5, 6, 1)),
    ],
)
def test_prelu_shared_axes(shared_axes, alpha_shape):
    layer = PReLU(shared_axes=shared_axes)
    assert layer(r(2, 5, 6, 4)).shape == (2, 5, 6, 4)
    assert layer.alpha.shape == alpha_shape
    assert PReLU.from_config(layer.get_config()).shared_axes == layer.shared_axes


def test_prelu_errors():
    with pytest.raises(ValueError, match="PReLU: argument 'shared_axes'"):
        PReLU(shared_axes=[0])
    with pytest.raises(ValueError, match="PReLU: argument 'shared_axes' must hold axes in"):
        PReLU(shared_axes=[4])(Input((3, 3, 2)))
    with pytest.raises(ValueError, match="PReLU: every axis with its own slopes"):
        PReLU(shared_axes=[])(Input((None, None, 2)))
    with pytest.raises(ValueError, match="PReLU: argument 'alpha_initializer'"):
        PReLU(alpha_initializer="constant_typo")
    layer = PReLU()
    layer(r(1, 2, 2, 3))
    with pytest.raises(ValueError, match=r"PReLU: the layer was built with slopes of shape \(3,\)"):
        layer(r(1, 2, 2, 5))


def test_maxout_is_a_dense_to_units_times_pieces_then_maxout():
    layer = Maxout(3, pieces=2, bias_initializer="glorot_uniform")
    x = svertka.Tensor(r(5, 4), requires_grad=True)
    y = layer(x)
    assert y.shape == (5, 3) and layer.kernel.shape == (4, 6)
    gy = r(5, 3)
    y.backward(gy)
    w = svertka.Tensor(layer.kernel.data, requires_grad=True)
    b = svertka.Tensor(layer.bias.data, requires_grad=True)
    y2 = ops.maxout(ops.dense(svertka.Tensor(x.data), w, b), 2)
    y2.backward(gy)
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    np.testing.assert_allclose(layer.kernel.grad, w.grad, rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad, b.grad, rtol=1e-6)


@pytest.mark.parametrize("pieces", [1, 2, 3])
def test_maxout_with_k_pieces_has_k_times_the_parameters_of_dense(pieces):
    maxout, dense = Maxout(10, pieces=pieces), Dense(10)
    maxout(Input((128,)))
    dense(Input((128,)))
    assert dense.count_params() == 1_290
    assert maxout.count_params() == pieces * 1_290


def test_maxout_on_feature_maps_acts_per_pixel():
    layer = Maxout(2, pieces=3)
    y = layer(Input((4, 4, 5)))
    assert y.shape == (None, 4, 4, 2)
    assert layer(r(2, 4, 4, 5)).shape == (2, 4, 4, 2)
    config = layer.get_config()
    assert config["units"] == 2 and config["pieces"] == 3 and "activation" not in config
    with pytest.raises(ValueError, match="Maxout: argument 'pieces' must be a positive int"):
        Maxout(2, pieces=0)
    with pytest.raises(ValueError, match="Maxout: argument 'units'"):
        Maxout(0)


def test_softmax_axis_must_name_a_non_batch_axis():
    for axis in (0, 3, -4):
        with pytest.raises(ValueError, match="Softmax: argument 'axis' must name a non-batch"):
            Softmax(axis=axis)(Input((4, 5)))
    with pytest.raises(TypeError, match="Softmax: argument 'axis' must be an int"):
        Softmax(axis=1.0)
    assert Softmax(axis=-2)(r(2, 3, 4)).numpy().sum(axis=1) == pytest.approx(np.ones((2, 4)))


def test_parameter_checks():
    with pytest.raises(ValueError, match="LinearThreshold: argument 'min_value' must be below"):
        LinearThreshold(1.0, 1.0)
    with pytest.raises(TypeError, match="ELU: argument 'alpha' must be a finite number"):
        ELU(alpha=None)
    with pytest.raises(TypeError, match="GELU: argument 'approximate' must be True or False"):
        GELU(approximate="tanh")


@pytest.mark.parametrize("name", ["swish", "silu"])
def test_swish_by_name_in_dense_conv2d_and_activation_and_through_a_saved_config(name):
    from svertka.layers import Activation, Conv2D
    from svertka.ops.activations import swish

    x = r(2, 5, 5, 3)
    dense, conv = Dense(4, activation=name), Conv2D(4, 3, activation=name)
    y_dense, y_conv = dense(x), conv(x)
    w, b = dense.get_weights()
    np.testing.assert_allclose(y_dense.numpy(), swish(x @ w + b).numpy(), rtol=1e-5, atol=1e-6)
    w, b = conv.get_weights()
    np.testing.assert_allclose(y_conv.numpy(), swish(ops.conv2d(x, w, b)).numpy(), rtol=1e-5,
                               atol=1e-6)
    for layer in (dense, conv):
        assert type(layer).from_config(layer.get_config()).get_config()["activation"] == name
    np.testing.assert_array_equal(Activation(name)(x).numpy(), swish(x).numpy())
