"""Conv1D, the 1-D pools and Embedding against Keras 3 itself (torch backend): the same
weights and inputs give the same outputs and output shapes, and the shared config keys agree.
Skipped where Keras is not installed."""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

# Keras's torch backend converts its own tensors with np.array(x, copy=False) (its warning)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from svertka import layers  # noqa: E402

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def assert_same(ours, theirs, x, atol=1e-5):
    """Build both on x, copy Keras's weights into ours, compare outputs and shapes."""
    expected = keras.ops.convert_to_numpy(theirs(x))
    ours(x)
    ours.set_weights(theirs.get_weights())
    got = ours(x).numpy()
    assert got.shape == expected.shape
    assert ours.compute_output_shape((None, *x.shape[1:])) == theirs.compute_output_shape(
        (None, *x.shape[1:]))
    np.testing.assert_allclose(got, expected, atol=atol, rtol=1e-5)


@pytest.mark.parametrize("kwargs, shape", [
    (dict(filters=4, kernel_size=3), (2, 11, 3)),
    (dict(filters=4, kernel_size=3, strides=2, activation="relu"), (2, 11, 3)),
    (dict(filters=2, kernel_size=4, strides=3, padding="same"), (2, 10, 3)),
    (dict(filters=3, kernel_size=2, padding="same"), (1, 7, 2)),
    (dict(filters=2, kernel_size=3, dilation_rate=2, padding="causal"), (2, 9, 3)),
    (dict(filters=2, kernel_size=3, strides=2, padding="causal", activation="tanh"), (2, 9, 2)),
    (dict(filters=4, kernel_size=3, groups=2, padding="same"), (2, 8, 4)),
    (dict(filters=3, kernel_size=5, dilation_rate=3, use_bias=False), (2, 16, 2)),
])
def test_conv1d_equals_keras(kwargs, shape):
    theirs = keras.layers.Conv1D(**kwargs)
    ours = layers.Conv1D(**kwargs)
    assert_same(ours, theirs, r(*shape))
    config, keras_config = ours.get_config(), theirs.get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "dilation_rate", "groups",
                "use_bias", "data_format"):
        assert config[key] == (list(keras_config[key]) if isinstance(keras_config[key], tuple)
                               else keras_config[key]), key


@pytest.mark.parametrize("kwargs, shape", [
    (dict(pool_size=2), (2, 9, 3)),  # Keras's AveragePooling1D has no default pool_size
    (dict(pool_size=3, strides=1), (2, 7, 2)),
    (dict(pool_size=3, strides=2), (1, 9, 2)),
    (dict(pool_size=3, strides=1, padding="same"), (2, 6, 2)),
    (dict(pool_size=2, padding="same"), (2, 8, 2)),
])
@pytest.mark.parametrize("name", ["MaxPooling1D", "AveragePooling1D"])
def test_pool1d_equals_keras(name, kwargs, shape):
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(layers, name)(**kwargs)
    assert_same(ours, theirs, r(*shape))
    keras_config = theirs.get_config()
    for key in ("pool_size", "strides", "padding"):
        assert ours.get_config()[key] == (list(keras_config[key])
                                          if isinstance(keras_config[key], tuple)
                                          else keras_config[key])


def test_max_pool_same_with_an_odd_padded_end_equals_keras():
    """An odd 'same' padding (the extra step at the end): the max never takes the pad."""
    x = r(2, 7, 3)
    assert_same(layers.MaxPooling1D(2, padding="same"),
                keras.layers.MaxPooling1D(2, padding="same"), x)
    assert_same(layers.MaxPooling1D(4, strides=3, padding="same"),
                keras.layers.MaxPooling1D(4, strides=3, padding="same"), r(1, 10, 2))


@pytest.mark.parametrize("name", ["GlobalAveragePooling1D", "GlobalMaxPooling1D"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pool1d_equals_keras(name, keepdims):
    theirs = getattr(keras.layers, name)(keepdims=keepdims)
    ours = getattr(layers, name)(keepdims=keepdims)
    assert_same(ours, theirs, r(3, 5, 4))


def test_embedding_equals_keras():
    ids = rng.integers(0, 12, (3, 6))
    theirs = keras.layers.Embedding(12, 5)
    ours = layers.Embedding(12, 5)
    assert_same(ours, theirs, ids)
    keras_config = theirs.get_config()
    config = ours.get_config()
    for key in ("input_dim", "output_dim", "mask_zero"):
        assert config[key] == keras_config[key]
    assert keras_config["embeddings_initializer"]["class_name"] == "RandomUniform"
    assert keras_config["embeddings_initializer"]["config"]["maxval"] == 0.05
    assert config["embeddings_initializer"] == "uniform"


def test_text_model_equals_keras():
    """Embedding -> Conv1D(causal) -> MaxPooling1D -> GlobalAveragePooling1D -> Dense."""
    import svertka

    def build(lib):
        return lib.Sequential([
            lib.Input((12,)), lib.layers.Embedding(30, 6),
            lib.layers.Conv1D(8, 3, padding="causal", activation="relu"),
            lib.layers.MaxPooling1D(2), lib.layers.GlobalAveragePooling1D(),
            lib.layers.Dense(3, activation="softmax"),
        ])

    theirs, ours = build(keras), build(svertka)
    ours.set_weights(theirs.get_weights())
    x = rng.integers(0, 30, (4, 12))
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               atol=1e-6)
