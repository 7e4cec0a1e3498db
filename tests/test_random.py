import numpy as np
import pytest
from helpers import check_grad

import svertka
from svertka import random as sr


def test_distributions_statistics_dtypes_and_bounds():
    x = sr.normal((200, 200), mean=1.0, stddev=2.0, seed=0)
    assert x.dtype == np.float32 and x.shape == (200, 200)
    assert x.mean() == pytest.approx(1.0, abs=0.03) and x.std() == pytest.approx(2.0, rel=0.02)
    u = sr.uniform((40000,), minval=-3.0, maxval=-1.0, dtype="float64", seed=0)
    assert u.dtype == np.float64 and u.min() >= -3.0 and u.max() < -1.0
    assert u.mean() == pytest.approx(-2.0, abs=0.01)
    t = sr.truncated_normal((40000,), mean=5.0, stddev=0.5, seed=0)
    assert t.min() >= 4.0 and t.max() <= 6.0
    assert t.std() == pytest.approx(0.5 * 0.87962566103423978, rel=0.02)
    r = sr.randint((1000,), 2, 5, seed=0)
    assert r.dtype == np.int32 and set(r.tolist()) == {2, 3, 4}
    assert sr.normal(3, seed=0).shape == (3,)


def test_seed_semantics_follow_keras():
    assert np.array_equal(sr.uniform((5,), seed=4), sr.uniform((5,), seed=4))
    assert not np.array_equal(sr.uniform((5,), seed=4), sr.uniform((5,), seed=5))
    gen = sr.SeedGenerator(9)
    a, b = sr.normal((5,), seed=gen), sr.normal((5,), seed=gen)
    assert not np.array_equal(a, b)
    gen2 = sr.SeedGenerator(9)
    assert np.array_equal(a, sr.normal((5,), seed=gen2))
    assert sr.SeedGenerator.from_config(gen.get_config()).seed == 9
    svertka.utils.set_random_seed(1)
    first = sr.normal((4,))
    svertka.utils.set_random_seed(1)
    assert np.array_equal(first, sr.normal((4,)))  # seed=None: the global generator
    with pytest.raises(TypeError, match="svertka.random.normal: argument 'seed'"):
        sr.normal((2,), seed="1")
    with pytest.raises(TypeError, match="SeedGenerator: argument 'seed'"):
        sr.SeedGenerator(1.5)
    with pytest.raises(ValueError, match="svertka.random.uniform: argument 'dtype'"):
        sr.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="svertka.random.randint: argument 'maxval'"):
        sr.randint((2,), 3, 3)


def test_dropout_scales_kept_values_and_broadcasts_noise_shape():
    x = np.ones((2000,), np.float32)
    y = sr.dropout(x, 0.25, seed=0)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    assert (y == 0).mean() == pytest.approx(0.25, abs=0.03)
    images = np.ones((2, 4, 4, 8))
    z = sr.dropout(images, 0.5, noise_shape=(2, 1, 1, 8), seed=1)
    per_channel = z.reshape(2, 16, 8)
    assert (per_channel == per_channel[:, :1]).all()  # whole channels dropped together
    with pytest.raises(ValueError, match="argument 'noise_shape'"):
        sr.dropout(images, 0.5, noise_shape=(3, 1, 1, 8))
    with pytest.raises(ValueError, match="svertka.random.dropout: argument 'rate'"):
        sr.dropout(images, 1.0)


def test_dropout_of_a_tensor_is_differentiable():
    x = np.random.default_rng(0).standard_normal((3, 5))
    check_grad(lambda t: sr.dropout(t, 0.4, seed=2), x)
    t = svertka.Tensor(x, requires_grad=True)
    y = sr.dropout(t, 0.4, seed=2)
    y.sum().backward()
    np.testing.assert_allclose(t.grad, (y.numpy() != 0) / 0.6)


def test_shuffle_permutes_along_an_axis():
    x = np.arange(12).reshape(3, 4)
    rows = sr.shuffle(x, seed=0)
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, x.tolist()))
    cols = sr.shuffle(x, axis=1, seed=3)
    assert sorted(cols[0].tolist()) == [0, 1, 2, 3] and (cols[1] - cols[0] == 4).all()
    assert np.array_equal(sr.shuffle(x, seed=1), sr.shuffle(x, seed=1))
