import math

import numpy as np
import pytest

from svertka import initializers as I
from svertka.layers import Conv2D, Dense
from svertka.utils import set_random_seed

KERNEL = (3, 3, 16, 32)  # fan_in 144, fan_out 288, as Keras computes them
FAN_IN, FAN_OUT = 144, 288


def test_fans_follow_keras():
    assert I.fans(KERNEL) == (FAN_IN, FAN_OUT)
    assert I.fans((20, 30)) == (20, 30)
    assert I.fans((7,)) == (7, 7)
    assert I.fans(()) == (1, 1)
    assert I.fans((2, 3, 4, 5), input_axes=[0, 1], output_axes=[3]) == (6, 5)


# Keras's formulas: uniform limit sqrt(3 * scale / n); (truncated) normal std sqrt(scale / n)
@pytest.mark.parametrize("cls, kind, variance", [
    (I.GlorotUniform, "uniform", 2 / (FAN_IN + FAN_OUT)),
    (I.GlorotNormal, "normal", 2 / (FAN_IN + FAN_OUT)),
    (I.HeUniform, "uniform", 2 / FAN_IN),
    (I.HeNormal, "normal", 2 / FAN_IN),
    (I.LecunUniform, "uniform", 1 / FAN_IN),
    (I.LecunNormal, "normal", 1 / FAN_IN),
])
def test_variance_scaling_presets_have_keras_statistics(cls, kind, variance):
    w = cls(seed=0)(KERNEL).astype(np.float64)
    assert w.shape == KERNEL and w.dtype == np.float64
    assert abs(w.mean()) < 0.02 * math.sqrt(variance) * 10
    assert w.var() == pytest.approx(variance, rel=0.03)
    if kind == "uniform":
        limit = math.sqrt(3 * variance)
        assert w.min() >= -limit and w.max() < limit
        assert w.max() > 0.99 * limit
    else:  # truncated at two of the (corrected) standard deviations
        assert np.abs(w).max() <= 2 * math.sqrt(variance) / 0.87962566103423978 + 1e-7


def test_random_normal_uniform_truncated_defaults_and_statistics():
    assert I.RandomNormal().get_config() == {"seed": None, "mean": 0.0, "stddev": 0.05}
    assert I.RandomUniform().get_config() == {"seed": None, "minval": -0.05, "maxval": 0.05}
    assert I.TruncatedNormal().get_config() == {"seed": None, "mean": 0.0, "stddev": 0.05}
    w = I.RandomNormal(1.0, 2.0, seed=1)((200, 200))
    assert w.dtype == np.float32
    assert w.mean() == pytest.approx(1.0, abs=0.03) and w.std() == pytest.approx(2.0, rel=0.02)
    u = I.RandomUniform(2.0, 3.0, seed=1)((40000,))
    assert u.min() >= 2.0 and u.max() < 3.0 and u.mean() == pytest.approx(2.5, abs=0.01)
    t = I.TruncatedNormal(0.0, 1.0, seed=1)((40000,))
    assert np.abs(t).max() <= 2.0
    assert t.std() == pytest.approx(0.87962566103423978, rel=0.02)


def test_variance_scaling_modes_and_distributions():
    w = I.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=0)(KERNEL)
    assert w.var() == pytest.approx(3.0 / FAN_OUT, rel=0.03)
    assert np.abs(w).max() > 2 * math.sqrt(3.0 / FAN_OUT)  # not truncated
    assert I.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    with pytest.raises(ValueError, match="VarianceScaling: argument 'scale'"):
        I.VarianceScaling(0.0)
    with pytest.raises(ValueError, match="VarianceScaling: argument 'mode'.*'fan_sum'"):
        I.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="VarianceScaling: argument 'distribution'"):
        I.VarianceScaling(distribution="cauchy")


def test_seeds_repeat_as_in_keras_3():
    a = I.HeNormal(seed=5)
    assert np.array_equal(a((4, 4)), a((4, 4)))  # int seed: the same values on each call
    assert np.array_equal(a((4, 4)), I.HeNormal(seed=5)((4, 4)))
    assert not np.array_equal(a((4, 4)), I.HeNormal(seed=6)((4, 4)))
    set_random_seed(3)
    first = I.GlorotUniform()((5, 5))
    set_random_seed(3)
    unseeded = I.GlorotUniform()
    assert np.array_equal(first, unseeded((5, 5)))  # unseeded: the global generator ...
    assert not np.array_equal(unseeded((5, 5)), unseeded((5, 5)))  # ... on each call
    # the draws svertka always made: uniform(-limit, limit) from the global generator
    set_random_seed(3)
    limit = math.sqrt(6 / 10)
    expected = np.random.default_rng(3).uniform(-limit, limit, (5, 5)).astype(np.float32)
    np.testing.assert_allclose(I.glorot_uniform((5, 5)), expected, rtol=1e-6)
    from svertka.random import SeedGenerator, get_state

    state = get_state()
    for name in ("glorot_uniform", "he_normal", "orthogonal", "random_normal"):
        I.get(name)  # making an initialiser (as loading a model does) draws nothing
    Dense(3, kernel_initializer="he_normal")
    assert get_state() == state

    stream = I.RandomNormal(seed=SeedGenerator(1))
    assert not np.array_equal(stream((3,)), stream((3,)))  # a SeedGenerator: new each call


def test_constant_zeros_ones_identity_orthogonal():
    assert I.Zeros()((2, 2), "int32").dtype == np.int32
    assert I.Ones()((3,)).tolist() == [1.0, 1.0, 1.0]
    assert I.Constant(3)((2,)).tolist() == [3.0, 3.0]
    assert I.Identity(gain=2.0)((3, 3)).tolist() == (2 * np.eye(3)).tolist()
    with pytest.raises(ValueError, match="Identity: argument 'shape' must be 2-D"):
        I.Identity()((3, 3, 3))
    q = I.Orthogonal(gain=1.5, seed=0)((3, 3, 4, 8)).astype(np.float64).reshape(36, 8)
    np.testing.assert_allclose(q.T @ q, 2.25 * np.eye(8), atol=1e-5)  # orthogonal columns
    wide = I.Orthogonal(seed=0)((4, 10)).astype(np.float64)
    np.testing.assert_allclose(wide @ wide.T, np.eye(4), atol=1e-5)  # orthogonal rows
    with pytest.raises(ValueError, match="Orthogonal: argument 'shape' must have rank >= 2"):
        I.Orthogonal()((5,))
    with pytest.raises(TypeError, match="Constant: argument 'value'"):
        I.Constant("1")


@pytest.mark.parametrize("name, cls", [
    ("glorot_uniform", I.GlorotUniform), ("glorot_normal", I.GlorotNormal),
    ("he_normal", I.HeNormal), ("he_uniform", I.HeUniform), ("lecun_normal", I.LecunNormal),
    ("lecun_uniform", I.LecunUniform), ("random_normal", I.RandomNormal),
    ("random_uniform", I.RandomUniform), ("truncated_normal", I.TruncatedNormal),
    ("variance_scaling", I.VarianceScaling), ("orthogonal", I.Orthogonal),
    ("identity", I.Identity), ("zeros", I.Zeros), ("ones", I.Ones), ("constant", I.Constant),
    ("GlorotNormal", I.GlorotNormal), ("normal", I.RandomNormal), ("uniform", I.RandomUniform),
    ("zero", I.Zeros), ("one", I.Ones),
])
def test_get_by_keras_name(name, cls):
    assert type(I.get(name)) is cls


def test_get_other_identifiers_and_config_round_trip():
    assert I.get(None) is None
    assert type(I.get(I.HeNormal)) is I.HeNormal
    fn = lambda shape, dtype=None: np.ones(shape, dtype)  # noqa: E731
    assert I.get(fn) is fn
    init = I.RandomNormal(0.5, 0.2, seed=3)
    assert I.get(init) is init
    config = I.serialize(init)
    assert config == {"module": "keras.initializers", "class_name": "RandomNormal",
                      "config": {"seed": 3, "mean": 0.5, "stddev": 0.2},
                      "registered_name": None}
    again = I.get(config)
    assert np.array_equal(again((4,)), init((4,)))
    for obj in (I.GlorotNormal(seed=1), I.VarianceScaling(2.0, "fan_avg", "uniform", 4),
                I.Orthogonal(2.0, 1), I.Constant(0.3), I.Identity(0.5), I.Zeros()):
        assert type(obj).from_config(obj.get_config()).get_config() == obj.get_config()
        assert I.deserialize(I.serialize(obj)).get_config() == obj.get_config()
    assert I.GlorotNormal(seed=2).get_config() == {"seed": 2, "input_axes": None,
                                                   "output_axes": None}
    axes = I.HeNormal(seed=0, input_axes=[0], output_axes=[1, 2])
    assert I.get(I.serialize(axes)).get_config() == axes.get_config()
    w = I.VarianceScaling(1.0, "fan_in", "untruncated_normal", 0, [0], [1, 2])((50, 40, 40))
    assert w.var() == pytest.approx(1 / 50, rel=0.03)  # fan_in from input_axes alone
    values = np.arange(6.0).reshape(2, 3)
    assert I.get(values)((2, 3), "float32").tolist() == values.tolist()
    with pytest.raises(ValueError, match=r"array given as initializer has shape \(2, 3\)"):
        I.get(values)((3, 2))
    with pytest.raises(ValueError, match="initializers.get: argument 'initializer'"):
        I.get("orthogonal_typo")
    with pytest.raises(ValueError, match="initializers.deserialize"):
        I.deserialize({"class_name": "Nope", "config": {}})


def test_lower_case_names_draw_with_a_shape_or_make_the_initializer():
    w = I.he_normal((3, 3, 1, 8), "float32")  # svertka's older functional use
    assert w.shape == (3, 3, 1, 8) and w.dtype == np.float32
    assert type(I.he_normal(seed=1)) is I.HeNormal  # Keras's alias use
    assert I.random_normal(stddev=0.2).stddev == 0.2
    assert I.constant(2.0).value == 2.0
    assert I.zeros(shape=(2,)).tolist() == [0.0, 0.0]


def test_layers_accept_classes_names_and_conv_fans():
    set_random_seed(0)
    layer = Conv2D(64, 3, kernel_initializer=I.HeUniform(seed=0))
    layer(np.zeros((1, 8, 8, 32), np.float32))
    w = layer.kernel.numpy()
    assert np.abs(w).max() <= math.sqrt(6 / (9 * 32))  # He uniform, fan_in = 3*3*32
    assert w.var() == pytest.approx(2 / (9 * 32), rel=0.05)
    dense = Dense(4, kernel_initializer="random_normal", bias_initializer=I.Constant(0.5))
    dense(np.zeros((1, 3), np.float32))
    assert dense.bias.numpy().tolist() == [0.5] * 4
