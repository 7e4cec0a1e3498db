import numpy as np
import pytest

import svertka
from svertka import layers, ops
from svertka import random as srandom
from svertka.layers import Activation, Dense, Dropout, Flatten, Input, Reshape

rng = np.random.default_rng(0)


def r(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def test_input_returns_a_symbolic_tensor_with_a_batch_axis():
    x = Input((28, 28, 1), name="image")
    assert isinstance(x, layers.SymbolicTensor)
    assert x.shape == (None, 28, 28, 1) and x.name == "image"
    assert Input((None, None, 3)).shape == (None, None, None, 3)
    assert Input(784).shape == (None, 784)


@pytest.mark.parametrize("shape", [(0, 3), (-1,), "28", (2.5,), (True,)])
def test_input_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="Input: argument 'shape'"):
        Input(shape)


@pytest.mark.parametrize("in_shape", [(3, 5), (2, 4, 5), (2, 3, 3, 5)])
def test_dense_output_shape_matches_compute_output_shape(in_shape):
    layer = Dense(7)
    y = layer(r(*in_shape))
    assert y.shape == (*in_shape[:-1], 7)
    assert layer.compute_output_shape((None, *in_shape[1:])) == (None, *in_shape[1:-1], 7)


@pytest.mark.parametrize("features, units, params", [(3136, 128, 401_536), (128, 10, 1_290)])
def test_dense_parameter_counts_of_the_notes_model(features, units, params):
    layer = Dense(units)
    layer(Input((features,)))
    assert layer.count_params() == params
    assert [w.shape for w in layer.weights] == [(features, units), (units,)]
    assert layer.weight_names == ["kernel", "bias"]


def test_dense_without_bias_has_only_a_kernel():
    layer = Dense(4, use_bias=False)
    layer(r(2, 3))
    assert layer.count_params() == 12 and layer.bias is None


def test_dense_matches_ops_dense_forward_and_gradients():
    layer = Dense(4, activation="tanh")
    x = svertka.Tensor(r(5, 3), requires_grad=True)
    gy = r(5, 4)
    layer(x).backward(gy)
    w = svertka.Tensor(layer.kernel.data, requires_grad=True)
    b = svertka.Tensor(layer.bias.data, requires_grad=True)
    x2 = svertka.Tensor(x.data, requires_grad=True)
    y2 = ops.tanh(ops.dense(x2, w, b))
    y2.backward(gy)
    np.testing.assert_allclose(layer(x).numpy(), y2.numpy(), rtol=1e-6)
    for ours, theirs in ((layer.kernel, w), (layer.bias, b), (x, x2)):
        np.testing.assert_allclose(ours.grad, theirs.grad, rtol=1e-5, atol=1e-6)


def test_dense_on_higher_rank_inputs_acts_on_the_last_axis():
    layer = Dense(3)
    x = svertka.Tensor(r(2, 4, 5, 6), requires_grad=True)
    y = layer(x)
    expected = np.einsum("nhwk,km->nhwm", x.data, layer.kernel.data) + layer.bias.data
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-5, atol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(layer.bias.grad, np.full(3, 2 * 4 * 5), rtol=1e-6)
    np.testing.assert_allclose(
        x.grad, np.broadcast_to(layer.kernel.data.sum(1), x.shape), rtol=1e-5
    )


def test_dense_keeps_float32():
    assert Dense(2)(r(3, 4)).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"units": 0}, ValueError, "Dense: argument 'units' must be a positive int, received 0"),
        ({"units": -3}, ValueError, "'units'"),
        ({"units": 2.5}, TypeError, "'units'"),
        ({"units": True}, TypeError, "'units'"),
        ({"units": 2, "activation": "swoosh"}, ValueError, "Dense: argument 'activation'.*swoosh"),
        ({"units": 2, "activation": "prelu"}, ValueError, "needs its learnable slope"),
        ({"units": 2, "activation": 3}, TypeError, "Dense: argument 'activation'"),
        ({"units": 2, "use_bias": "yes"}, TypeError, "'use_bias'"),
        ({"units": 2, "kernel_initializer": "orthogonal_typo"}, ValueError, "'kernel_initializer'"),
        ({"units": 2, "bias_regularizer": "l3"}, ValueError, "'bias_regularizer'"),
        ({"units": 2, "foo": 1}, TypeError, r"Dense: unexpected keyword arguments \['foo'\]"),
    ],
)
def test_dense_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Dense(**kwargs)


def test_dense_rejects_one_dimensional_inputs_and_a_feature_change():
    with pytest.raises(ValueError, match=r"Dense: expected inputs of rank >= 2.*\(None,\)"):
        Dense(2)(np.ones(3, np.float32))
    layer = Dense(2)
    layer(Input((4,)))
    with pytest.raises(ValueError, match=r"Dense: the layer was built for 4 input features"):
        layer(r(2, 5))
    with pytest.raises(ValueError, match="built for 4 input features"):
        layer(Input((3,)))
    with pytest.raises(TypeError, match="Dense: expected one input, received a list of 2"):
        Dense(2)([Input((3,)), Input((3,))])


def test_callable_activation_saved_by_name_or_refused_at_get_config():
    assert Dense(2, activation=ops.relu).get_config()["activation"] == "relu"
    assert Dense(2).get_config()["activation"] is None
    layer = Dense(2, activation=lambda t: t)  # accepted: it runs ...
    assert layer(r(1, 3)).shape == (1, 2)
    with pytest.raises(ValueError, match="Dense.get_config: argument 'activation'"):
        layer.get_config()  # ... but cannot be saved by name


def test_callable_initializer_saved_by_name_or_refused():
    from svertka import initializers

    layer = Dense(2, kernel_initializer=initializers.he_normal)
    assert layer.get_config()["kernel_initializer"] == "he_normal"
    with pytest.raises(ValueError, match="Dense.get_config: argument 'bias_initializer'"):
        Dense(2, bias_initializer=lambda shape, dtype: np.ones(shape, dtype)).get_config()


def test_dense_regularizer_is_registered_and_saved():
    from svertka.regularizers import L2

    layer = Dense(2, kernel_regularizer=L2(0.1))
    layer(r(1, 3))
    assert layer.regularizers[0][0] is layer.kernel
    config = layer.get_config()
    assert config["kernel_regularizer"]["class_name"] == "L2"  # Keras's serialized form
    assert config["kernel_regularizer"]["config"] == {"l2": 0.1}
    rebuilt = Dense.from_config(config)
    rebuilt(r(1, 3))
    assert rebuilt.regularizers[0][1].l2 == 0.1


def test_trainable_false_freezes_weights():
    layer = Dense(3, trainable=False)
    x = svertka.Tensor(r(2, 4), requires_grad=True)
    layer(x).sum().backward()
    assert layer.trainable_weights == []
    assert [id(w) for w in layer.non_trainable_weights] == [id(w) for w in layer.weights]
    assert len(layer.weights) == 2
    assert all(not w.requires_grad and w.grad is None for w in layer.weights)
    assert x.grad is not None  # gradients still flow through to the input
    layer.trainable = True
    assert all(w.requires_grad for w in layer.weights) and len(layer.trainable_weights) == 2


@pytest.mark.parametrize(
    "in_shape, out_shape", [((2, 7, 7, 64), (2, 3136)), ((3, 5), (3, 5)), ((2, 2, 3), (2, 6))]
)
def test_flatten_shapes(in_shape, out_shape):
    layer = Flatten()
    assert layer(r(*in_shape)).shape == out_shape
    assert layer.compute_output_shape((None, *in_shape[1:])) == (None, *out_shape[1:])
    assert layer.compute_output_shape((None, None, 3)) == (None, None)


def test_flatten_gradient_is_reshaped_back():
    x = svertka.Tensor(r(2, 3, 2, 2), requires_grad=True)
    gy = r(2, 12)
    Flatten()(x).backward(gy)
    np.testing.assert_array_equal(x.grad, gy.reshape(2, 3, 2, 2))


@pytest.mark.parametrize(
    "target, in_shape, out_shape",
    [
        ((7, 7, 2), (2, 98), (2, 7, 7, 2)),
        ((-1, 2), (3, 2, 3), (3, 3, 2)),
        ((4,), (1, 2, 2), (1, 4)),
    ],
)
def test_reshape_shapes(target, in_shape, out_shape):
    layer = Reshape(target)
    assert layer(r(*in_shape)).shape == out_shape
    assert layer.compute_output_shape((None, *in_shape[1:])) == (None, *out_shape[1:])


def test_reshape_errors():
    with pytest.raises(ValueError, match="Reshape: argument 'target_shape'"):
        Reshape((-1, -1))
    with pytest.raises(ValueError, match="Reshape: argument 'target_shape'"):
        Reshape((0, 3))
    with pytest.raises(ValueError, match=r"Reshape: cannot reshape inputs of shape \(None, 5\)"):
        Reshape((2, 2))(Input((5,)))
    with pytest.raises(ValueError, match="cannot reshape"):
        Reshape((-1, 3))(Input((5,)))
    assert Reshape((-1, 3))(Input((None, 3))).shape == (None, None, 3)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "elu", "linear"])
def test_activation_layer_matches_the_op(name):
    x = r(3, 4)
    expected = ops.get_activation(name)(svertka.Tensor(x)).numpy()
    np.testing.assert_allclose(Activation(name)(x).numpy(), expected, rtol=1e-6)
    assert Activation(name).get_config()["activation"] == name


def test_activation_identity_and_errors():
    x = svertka.Tensor(r(2, 2))
    assert Activation(None)(x) is x
    with pytest.raises(ValueError, match="Activation: argument 'activation'"):
        Activation("nope")


def test_dropout_training_drops_and_scales_inference_is_identity():
    x = svertka.Tensor(np.ones((200, 50), np.float32))
    layer = Dropout(0.25, seed=1)
    y = layer(x, training=True).numpy()
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    assert layer(x) is x and layer(x, training=False) is x


def test_dropout_same_seed_same_mask_and_gradient_uses_it():
    x = r(4, 6)
    a = Dropout(0.5, seed=7)(x, training=True).numpy()
    b = Dropout(0.5, seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    layer = Dropout(0.5, seed=3)
    t = svertka.Tensor(x, requires_grad=True)
    y = layer(t, training=True)
    y.backward(np.ones_like(x))
    np.testing.assert_array_equal(t.grad, (y.numpy() != 0) * 2.0)
    c = layer(x, training=True).numpy()  # the layer's own generator moves on
    assert not np.array_equal(c != 0, y.numpy() != 0)


def test_dropout_without_seed_uses_the_global_generator():
    x = np.ones((8, 8), np.float32)
    srandom.seed(5)
    a = Dropout(0.5)(x, training=True).numpy()
    srandom.seed(5)
    b = Dropout(0.5)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "rate, error", [(1.0, ValueError), (-0.1, ValueError), ("0.5", TypeError), (None, TypeError)]
)
def test_dropout_rejects_rates_outside_zero_one(rate, error):
    with pytest.raises(error, match="Dropout: argument 'rate'"):
        Dropout(rate)


def test_dropout_rejects_bad_seed():
    with pytest.raises(ValueError, match="Dropout: argument 'seed'"):
        Dropout(0.5, seed=-1)


def test_dense_on_a_batch_of_vectors_is_one_fused_gemm():
    from svertka.ops.basic import Dense as DenseFunction

    layer = Dense(3)
    x = svertka.Tensor(r(4, 5), requires_grad=True)
    y = layer(x)
    assert isinstance(y.creator, DenseFunction)
    assert [id(t) for t in y.creator.inputs] == [id(x), id(layer.kernel), id(layer.bias)]


def test_rescaling_maps_pixels_and_round_trips_its_config():
    from svertka.layers import Rescaling, deserialize, serialize

    layer = Rescaling(1 / 255, offset=-0.5)
    y = layer(np.array([[0.0, 255.0]], np.float32)).numpy()
    np.testing.assert_allclose(y, [[-0.5, 0.5]], atol=1e-7)
    again = deserialize(serialize(layer))
    assert (again.scale, again.offset) == (layer.scale, layer.offset)
    with pytest.raises(TypeError, match="Rescaling: argument 'scale'"):
        Rescaling("1/255")
