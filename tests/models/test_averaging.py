"""svertka.models.averaging: the mean of several models' weights, and batch-norm statistics
recomputed for it (SWA)."""

import numpy as np
import pytest

import svertka
from svertka.layers import BatchNormalization, Conv2D, Dense, Flatten
from svertka.models import average_weights, clone_model, update_batch_norm
from svertka.utils import set_random_seed


def small_cnn(units=3):
    return svertka.Sequential([Conv2D(4, 3, input_shape=(6, 6, 2)), BatchNormalization(),
                               Flatten(), Dense(units)])


def test_average_weights_is_the_elementwise_mean_in_each_arrays_dtype():
    set_random_seed(0)
    models = [small_cnn() for _ in range(3)]
    mean = average_weights(models)
    sets = [m.get_weights() for m in models]
    assert len(mean) == len(sets[0])
    for i, w in enumerate(mean):
        assert w.dtype == sets[0][i].dtype
        np.testing.assert_allclose(w, np.mean([s[i].astype(np.float64) for s in sets], axis=0),
                                   rtol=1e-6)
    assert not np.allclose(mean[0], sets[0][0])  # the models were different


def test_average_weights_refuses_models_of_other_shapes():
    with pytest.raises(ValueError, match=r"average_weights: every model must have the weights "
                                         r"of the first .* received model 1"):
        average_weights([small_cnn(3), small_cnn(5)])
    with pytest.raises(ValueError, match="at least one model, received none"):
        average_weights([])


def batch_statistics(x, batch_size, seed):
    """The plain average over batches of each batch's mean and (biased) variance, float64."""
    order = np.random.default_rng(seed).permutation(len(x))
    batches = [x[order[s:s + batch_size]].astype(np.float64) for s in range(0, len(x),
                                                                           batch_size)]
    return (np.mean([b.mean(0) for b in batches], 0),
            np.mean([b.var(0) for b in batches], 0))


def test_update_batch_norm_averages_the_statistics_of_every_batch():
    model = svertka.Sequential([BatchNormalization(input_shape=(4,), momentum=0.9)])
    gamma_beta = [w.copy() for w in model.get_weights()[:2]]
    x = np.random.default_rng(1).normal(3.0, 2.0, (300, 4)).astype(np.float32)
    assert update_batch_norm(model, x, batch_size=128, seed=5) == 1
    mean, var = batch_statistics(x, 128, 5)
    bn = model.layers[0]
    np.testing.assert_allclose(bn.moving_mean.data, mean, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.data, var, rtol=1e-5)
    assert bn.momentum == 0.9  # put back
    for before, after in zip(gamma_beta, model.get_weights()[:2]):
        np.testing.assert_array_equal(before, after)


def test_update_batch_norm_passes_each_batch_through_the_augmentation():
    model = svertka.Sequential([BatchNormalization(input_shape=(2,))])
    x = np.random.default_rng(2).normal(0.0, 1.0, (64, 2)).astype(np.float32)
    update_batch_norm(model, x, batch_size=16, augment=lambda b, rng: b * 3 + 10)
    mean, var = batch_statistics(x * 3 + 10, 16, 0)
    np.testing.assert_allclose(model.layers[0].moving_mean.data, mean, rtol=1e-5)
    np.testing.assert_allclose(model.layers[0].moving_variance.data, var, rtol=1e-5)


def test_update_batch_norm_reaches_nested_models_and_leaves_frozen_layers():
    inner = svertka.Sequential([Dense(3, input_shape=(3,)), BatchNormalization()])
    frozen = BatchNormalization()
    frozen.trainable = False
    model = svertka.Sequential([inner, frozen])
    model.build((None, 3))
    frozen_stats = frozen.moving_mean.data.copy(), frozen.moving_variance.data.copy()
    x = np.random.default_rng(3).normal(4.0, 1.0, (40, 3)).astype(np.float32)
    assert update_batch_norm(model, x, batch_size=40) == 1
    dense_out = x @ inner.layers[0].kernel.data + inner.layers[0].bias.data
    np.testing.assert_allclose(inner.layers[1].moving_mean.data, dense_out.mean(0), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_array_equal(frozen.moving_mean.data, frozen_stats[0])
    np.testing.assert_array_equal(frozen.moving_variance.data, frozen_stats[1])


def test_an_interrupted_update_puts_the_statistics_back():
    model = svertka.Sequential([BatchNormalization(input_shape=(2,), momentum=0.8)])
    bn = model.layers[0]
    bn.moving_mean.data[...] = [1.0, 2.0]

    def failing(b, rng):
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        update_batch_norm(model, np.ones((8, 2), np.float32), augment=failing)
    np.testing.assert_array_equal(bn.moving_mean.data, [1.0, 2.0])
    assert bn.momentum == 0.8


def test_update_batch_norm_checks_its_batch_size():
    with pytest.raises(ValueError, match="update_batch_norm: argument 'batch_size'"):
        update_batch_norm(small_cnn(), np.zeros((2, 6, 6, 2), np.float32), batch_size=0)


def test_averaged_copies_of_one_model_are_that_model():
    set_random_seed(4)
    model = small_cnn()
    copy = clone_model(model)
    copy.set_weights(model.get_weights())
    for a, b in zip(average_weights([model, copy]), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
