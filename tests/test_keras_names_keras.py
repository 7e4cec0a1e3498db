"""svertka's initializers, regularizers, activations, random functions and ``keras.ops`` names
against Keras 3 itself (torch backend): configs, names, the statistics of random draws (not the
numbers themselves), penalty and activation values, and op results on the same inputs."""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

import svertka  # noqa: E402
from svertka import activations, initializers, ops, regularizers  # noqa: E402
from svertka import random as srandom  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
RNG = np.random.default_rng(0)
X = np.array([[-3.4, -0.7, -0.2], [0.3, 1.1, 7.5]])


def numpy(x):
    return keras.ops.convert_to_numpy(x)




def _approx(value):
    """A config value as compared: numbers to 1e-6 (pytest 9.2 refuses approx of a string)."""
    return value if isinstance(value, str) else pytest.approx(value, rel=1e-6)

@pytest.mark.parametrize("name", [
    "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
    "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "Orthogonal",
    "Constant", "Zeros", "Ones",
])
def test_initializer_configs_equal_keras(name):
    kwargs = {} if name in ("Constant", "Zeros", "Ones") else {"seed": 7}
    theirs = keras.initializers.serialize(getattr(keras.initializers, name)(**kwargs))
    ours = initializers.serialize(getattr(initializers, name)(**kwargs))
    assert ours == theirs
    assert initializers.get(theirs).get_config() == ours["config"]  # Keras's dict loads


def test_variance_scaling_config_with_options_equals_keras():
    args = dict(scale=2.5, mode="fan_avg", distribution="uniform", seed=1)
    assert (initializers.VarianceScaling(**args).get_config()
            == keras.initializers.VarianceScaling(**args).get_config())


@pytest.mark.parametrize("name", [
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
    "lecun_uniform", "random_normal", "random_uniform", "truncated_normal", "orthogonal",
    "variance_scaling", "zeros", "ones", "identity", "normal", "uniform", "zero",
    "one", "HeNormal",
])
def test_initializer_names_give_the_classes_keras_gives(name):
    assert type(initializers.get(name)).__name__ == type(keras.initializers.get(name)).__name__


@pytest.mark.parametrize("name", ["GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform",
                                  "LecunNormal", "LecunUniform", "RandomNormal",
                                  "RandomUniform", "TruncatedNormal", "Orthogonal"])
@pytest.mark.parametrize("shape", [(3, 3, 16, 32), (64, 48)])
def test_draws_have_the_variance_and_range_of_keras(name, shape):
    theirs = numpy(getattr(keras.initializers, name)(seed=1)(shape)).astype(np.float64)
    ours = getattr(initializers, name)(seed=1)(shape).astype(np.float64)
    assert ours.shape == theirs.shape
    assert ours.var() == pytest.approx(theirs.var(), rel=0.08)
    assert np.abs(ours).max() <= np.abs(theirs).max() * 1.1 + 1e-6
    assert abs(ours.mean() - theirs.mean()) < 3 * np.sqrt(theirs.var() / ours.size) * 3


@pytest.mark.parametrize("ours, theirs", [
    (regularizers.L1(0.3), keras.regularizers.L1(0.3)),
    (regularizers.L2(0.2), keras.regularizers.L2(0.2)),
    (regularizers.L1L2(0.1, 0.4), keras.regularizers.L1L2(0.1, 0.4)),
    (regularizers.l2(0.05), keras.regularizers.l2(0.05)),
    (regularizers.l1_l2(l2=0.2), keras.regularizers.l1_l2(l2=0.2)),
    (regularizers.OrthogonalRegularizer(0.5), keras.regularizers.OrthogonalRegularizer(0.5)),
])
def test_regularizer_values_and_configs_equal_keras(ours, theirs):
    w = RNG.standard_normal((5, 4)).astype(np.float32)
    assert ours(svertka.Tensor(w)).item() == pytest.approx(float(numpy(theirs(w))), rel=1e-5)
    their_config = keras.regularizers.serialize(theirs)
    our_config = regularizers.serialize(ours)
    assert our_config["class_name"] == their_config["class_name"]
    assert our_config.keys() == their_config.keys()
    for key, value in their_config["config"].items():
        assert our_config["config"][key] == _approx(value)
    for key, value in regularizers.get(their_config).get_config().items():
        assert ours.get_config()[key] == _approx(value)


@pytest.mark.parametrize("name", ["l1", "l2", "L1", "L2", "L1L2", "l1l2",
                                  "orthogonal_regularizer"])
def test_regularizer_names_give_keras_defaults(name):
    theirs = keras.regularizers.get(name).get_config()
    ours = regularizers.get(name).get_config()
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert ours[key] == _approx(value)


@pytest.mark.parametrize("name", sorted(activations.ALL_OBJECTS) + ["swish", "hard_swish"])
def test_activations_equal_keras(name):
    ours = activations.get(name)(svertka.Tensor(X)).numpy()
    theirs = numpy(keras.activations.get(name)(X))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    assert activations.serialize(activations.get(name)) == keras.activations.serialize(
        keras.activations.get(name))


def test_relu_options_equal_keras():
    for kwargs in ({"negative_slope": 0.1}, {"max_value": 1.0}, {"threshold": 0.5},
                   {"negative_slope": 0.2, "max_value": 2.0, "threshold": -0.5},
                   {"negative_slope": 0.2, "threshold": -0.5}, {"max_value": 6.0}):
        np.testing.assert_allclose(activations.relu(svertka.Tensor(X), **kwargs).numpy(),
                                   numpy(keras.activations.relu(X, **kwargs)), rtol=1e-6)


def test_random_statistics_equal_keras():
    shape = (300, 300)
    for bounded, (ours, theirs) in enumerate(((srandom.normal(shape, 1.0, 2.0, seed=1),
                          keras.random.normal(shape, 1.0, 2.0, seed=1)),
                         (srandom.uniform(shape, -1.0, 3.0, seed=1),
                          keras.random.uniform(shape, -1.0, 3.0, seed=1)),
                         (srandom.truncated_normal(shape, 0.0, 2.0, seed=1),
                          keras.random.truncated_normal(shape, 0.0, 2.0, seed=1)))):
        theirs = numpy(theirs)
        assert ours.dtype == theirs.dtype
        assert ours.mean() == pytest.approx(theirs.mean(), abs=0.03)
        assert ours.std() == pytest.approx(theirs.std(), rel=0.02)
        if bounded:  # uniform and truncated normal: the same bounds
            assert ours.min() >= theirs.min() - 0.01 and ours.max() <= theirs.max() + 0.01
    ints = srandom.randint((1000,), 0, 4, seed=1)
    their_ints = numpy(keras.random.randint((1000,), 0, 4, seed=1))
    assert ints.dtype == their_ints.dtype and set(ints) == set(their_ints)
    x = np.ones((100, 100), np.float32)
    theirs = numpy(keras.random.dropout(keras.ops.convert_to_tensor(x), 0.3, seed=1))
    np.testing.assert_allclose(np.unique(srandom.dropout(x, 0.3, seed=1)), np.unique(theirs),
                               rtol=1e-6)


A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((3, 4)).astype(np.float32)


@pytest.mark.parametrize("name, args, kwargs", [
    ("square", (A,), {}), ("sqrt", (np.abs(A),), {}), ("abs", (A,), {}),
    ("absolute", (A,), {}), ("maximum", (A, B), {}), ("minimum", (A, B), {}),
    ("where", (A > 0, A, B), {}), ("clip", (A, -0.5, 0.5), {}), ("min", (A,), {"axis": 1}),
    ("max", (A,), {"axis": 0, "keepdims": True}), ("mean", (A,), {"axis": -1}),
    ("sum", (A,), {}), ("exp", (A,), {}), ("log", (np.abs(A),), {}),
    ("argmax", (A,), {}), ("argmax", (A,), {"axis": -1}), ("argmin", (A,), {"axis": 0}),
    ("equal", (A, A * (A > 0)), {}), ("not_equal", (A, A * (A > 0)), {}),
    ("stack", ([A, B],), {"axis": 1}), ("concatenate", ([A, B],), {}),
    ("expand_dims", (A, 1), {}), ("squeeze", (A[:, None],), {}),
    ("reshape", (A, (4, 3)), {}), ("transpose", (A,), {}), ("matmul", (A, B.T), {}),
    ("softmax", (A,), {}), ("relu", (A,), {}), ("sigmoid", (A,), {}),
    ("one_hot", (np.array([0, 2, 1]), 3), {}), ("cast", (A, "float64"), {}),
    ("subtract", (A, B), {}), ("multiply", (A, B), {}), ("divide", (A, B), {}),
])
def test_ops_equal_keras_ops(name, args, kwargs):
    theirs = numpy(getattr(keras.ops, name)(*args, **kwargs))
    ours = ops.convert_to_numpy(getattr(ops, name)(*args, **kwargs))
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype or name in ("equal", "not_equal", "argmax", "argmin")
    np.testing.assert_allclose(ours.astype(np.float64), theirs.astype(np.float64), rtol=1e-5,
                               atol=1e-6)


def test_shape_and_conversions_equal_keras():
    assert ops.shape(A) == tuple(keras.ops.shape(A))
    assert ops.convert_to_numpy(ops.convert_to_tensor(A)).dtype == numpy(
        keras.ops.convert_to_tensor(A)).dtype
