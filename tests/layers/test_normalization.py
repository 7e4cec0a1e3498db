import numpy as np
import pytest
from helpers import check_grad

import svertka
from svertka import ops
from svertka.layers import BatchNormalization, Input

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def same(a, b):
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def built(shape=(None, 4, 4, 3), **kwargs):
    layer = BatchNormalization(**kwargs)
    layer(Input(shape[1:]))
    return layer


def test_four_c_parameters_two_c_of_them_trainable():
    layer = built()
    assert layer.count_params() == 12
    assert layer.weight_names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert same(layer.trainable_weights, [layer.gamma, layer.beta])
    assert same(layer.non_trainable_weights, [layer.moving_mean, layer.moving_variance])
    assert not layer.moving_mean.requires_grad and not layer.moving_variance.requires_grad
    assert built(center=False).count_params() == 9
    assert built(center=False, scale=False).trainable_weights == []


def test_training_uses_batch_statistics_and_updates_the_moving_ones():
    layer = built(
        momentum=0.9, epsilon=1e-3, gamma_initializer="he_normal", beta_initializer="glorot_uniform"
    )
    x = r(8, 4, 4, 3) * 3 + 2
    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    y = layer(x, training=True).numpy()
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(
        y, gamma * (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 + 0.1 * var, rtol=1e-5)


def test_inference_uses_moving_statistics_and_leaves_them_alone():
    layer = built((None, 5))
    stats = [np.array([1.0, -2, 0, 3, 0.5], np.float32), np.array([4.0, 1, 2, 0.5, 9], np.float32)]
    layer.set_weights([np.full(5, 2, np.float32), np.ones(5, np.float32), *stats])
    x = r(6, 5)
    for training in (False, None):
        y = layer(x) if training is None else layer(x, training=training)
        np.testing.assert_allclose(
            y.numpy(), 2 * (x - stats[0]) / np.sqrt(stats[1] + 1e-3) + 1, rtol=1e-5, atol=1e-6
        )
        np.testing.assert_array_equal(layer.moving_mean.numpy(), stats[0])
        np.testing.assert_array_equal(layer.moving_variance.numpy(), stats[1])


def test_train_and_inference_differ():
    layer = built((None, 3))
    x = r(16, 3) * 4 + 10
    assert not np.allclose(layer(x, training=True).numpy(), layer(x).numpy(), atol=1e-2)


def test_frozen_layer_runs_in_inference_mode():
    layer = built((None, 3), trainable=False)
    x = r(16, 3) + 5
    y = layer(x, training=True).numpy()
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), rtol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(3))
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_gradients_match_ops_batch_norm():
    layer = built(gamma_initializer="he_normal")
    x = svertka.Tensor(r(4, 4, 4, 3), requires_grad=True)
    gy = r(4, 4, 4, 3)
    layer(x, training=True).backward(gy)
    gamma = svertka.Tensor(layer.gamma.data, requires_grad=True)
    beta = svertka.Tensor(layer.beta.data, requires_grad=True)
    x2 = svertka.Tensor(x.data, requires_grad=True)
    ops.batch_norm(x2, gamma, beta, None, None, training=True).backward(gy)
    for ours, theirs in ((layer.gamma, gamma), (layer.beta, beta), (x, x2)):
        np.testing.assert_allclose(ours.grad, theirs.grad, rtol=1e-4, atol=1e-5)
    assert layer.moving_mean.grad is None


def test_errors():
    with pytest.raises(ValueError, match="BatchNormalization: argument 'momentum' must be a fin"):
        BatchNormalization(momentum=1.5)
    for epsilon in (-1e-3, 0.0):
        with pytest.raises(ValueError, match="BatchNormalization: argument 'epsilon' must be a "
                                             "finite number > 0.0"):
            BatchNormalization(epsilon=epsilon)
    with pytest.raises(TypeError, match="BatchNormalization: argument 'center'"):
        BatchNormalization(center=None)
    with pytest.raises(ValueError, match="BatchNormalization: argument 'axis' must be the chan"):
        BatchNormalization(axis=1)(Input((4, 4, 3)))
    assert BatchNormalization(axis=3)(Input((4, 4, 3))).shape == (None, 4, 4, 3)
    with pytest.raises(ValueError, match=r"BatchNormalization: expected inputs of rank >= 2"):
        BatchNormalization()(np.ones(3, np.float32))
    layer = built((None, 3))
    with pytest.raises(ValueError, match="BatchNormalization: the layer was built for 3 chan"):
        layer(r(2, 4))


def test_float64_gradient_check_in_training_mode():
    layer = built((None, 2, 2, 3), gamma_initializer="he_normal")
    for w in layer.weights:
        w.data = w.data.astype(np.float64)
    check_grad(lambda x: layer(x, training=True), rng.standard_normal((3, 2, 2, 3)))


def test_synchronized_alone_is_plain_batch_norm_and_kept_in_the_config():
    # across processes it sums its statistics (tests/distributed); alone it changes nothing
    x = r(8, 4, 4, 3)
    plain, synced = built(), built(synchronized=True)
    synced.set_weights(plain.get_weights())
    np.testing.assert_array_equal(synced(x, training=True).numpy(),
                                  plain(x, training=True).numpy())
    assert [w.tolist() for w in synced.get_weights()] == [w.tolist() for w in plain.get_weights()]
    config = synced.get_config()
    assert config["synchronized"] is True and plain.get_config()["synchronized"] is False
    assert BatchNormalization.from_config(config).synchronized is True
    with pytest.raises(TypeError, match="BatchNormalization.*synchronized"):
        BatchNormalization(synchronized="yes")
