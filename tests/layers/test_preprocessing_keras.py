"""The preprocessing layers against Keras 3 itself (torch backend), where they are
deterministic: Resizing, CenterCrop, inference of the random layers, and the random layers
with degenerate ranges (``factor=(a, a)``) that fix their draw."""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

# Keras's torch backend converts its own tensors with np.array(x, copy=False) (its warning)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

from svertka import layers  # noqa: E402

rng = np.random.default_rng(0)
X = rng.uniform(0, 255, (2, 9, 7, 3)).astype(np.float32)


def theirs(layer, x, training=False):
    return np.asarray(layer(x, training=training).detach().cpu().numpy())


def ours(layer, x, training=False):
    return layer(x, training=training).numpy()


@pytest.mark.parametrize("size", [(4, 5), (18, 14), (9, 3), (13, 7), (1, 1)])
@pytest.mark.parametrize("kwargs", [{}, {"crop_to_aspect_ratio": True},
                                    {"pad_to_aspect_ratio": True, "fill_value": 7.0}])
def test_resizing_bilinear_matches_keras(size, kwargs):
    np.testing.assert_allclose(ours(layers.Resizing(*size, **kwargs), X),
                               theirs(keras.layers.Resizing(*size, **kwargs), X),
                               rtol=1e-5, atol=1e-3)


def test_resizing_nearest_matches_keras_on_whole_upscaling():
    # Keras's torch backend floors o * H / OH, TensorFlow and JAX use half-pixel centres:
    # the two agree when OH is a multiple of H
    a = ours(layers.Resizing(18, 21, interpolation="nearest"), X)
    np.testing.assert_array_equal(a, theirs(keras.layers.Resizing(18, 21, "nearest"), X))


def test_resizing_keeps_kerass_rounded_integer_values():
    x = rng.integers(0, 256, (2, 5, 6, 1)).astype(np.uint8)
    a = ours(layers.Resizing(7, 4), x)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, theirs(keras.layers.Resizing(7, 4), x).astype(np.float32))


@pytest.mark.parametrize("size", [(5, 3), (9, 7), (4, 6), (12, 7), (3, 10)])
def test_center_crop_matches_keras(size):
    np.testing.assert_allclose(ours(layers.CenterCrop(*size), X),
                               theirs(keras.layers.CenterCrop(*size), X), rtol=1e-5, atol=1e-3)


RANDOM = [
    ("RandomFlip", {}),
    ("RandomRotation", {"factor": 0.3}),
    ("RandomZoom", {"height_factor": 0.3}),
    ("RandomTranslation", {"height_factor": 0.2, "width_factor": 0.1}),
    ("RandomContrast", {"factor": 0.4}),
]


@pytest.mark.parametrize("name, kwargs", RANDOM)
def test_random_layers_are_the_identity_in_inference_as_in_keras(name, kwargs):
    x = X.astype(np.uint8)
    a = ours(getattr(layers, name)(**kwargs), x)
    b = theirs(getattr(keras.layers, name)(**kwargs), x)
    assert a.dtype == np.float32  # Keras: float32 too, except RandomContrast's uint8 here
    np.testing.assert_array_equal(a, b.astype(np.float32))


FIXED = [  # ranges of one value: Keras draws exactly that value
    ("RandomRotation", {"factor": (0.1, 0.1)}),
    ("RandomRotation", {"factor": (-0.3, -0.3), "fill_mode": "wrap"}),
    ("RandomRotation", {"factor": (0.2, 0.2), "fill_mode": "constant", "fill_value": 9.0}),
    ("RandomRotation", {"factor": (0.15, 0.15), "fill_mode": "nearest"}),
    ("RandomZoom", {"height_factor": (0.3, 0.3)}),
    ("RandomZoom", {"height_factor": (-0.4, -0.4), "width_factor": (0.5, 0.5),
                    "fill_mode": "constant"}),
    ("RandomZoom", {"height_factor": (0.6, 0.6), "fill_mode": "wrap"}),
    ("RandomTranslation", {"height_factor": (0.3, 0.3), "width_factor": (-0.25, -0.25)}),
    ("RandomTranslation", {"height_factor": (-0.2, -0.2), "width_factor": (0.45, 0.45),
                           "fill_mode": "nearest"}),
    ("RandomTranslation", {"height_factor": (2 / 9, 2 / 9), "width_factor": (-3 / 7, -3 / 7),
                           "fill_mode": "constant", "interpolation": "nearest"}),
    ("RandomContrast", {"factor": (-0.5, 0.5)}),
    ("RandomContrast", {"factor": (-0.6, 0.6), "value_range": (0, 100)}),
]


@pytest.mark.parametrize("name, kwargs", FIXED)
def test_random_layers_with_a_fixed_draw_match_keras_in_training(name, kwargs):
    a = ours(getattr(layers, name)(**kwargs), X, training=True)
    b = theirs(getattr(keras.layers, name)(**kwargs), X, training=True)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-3)


def test_random_flip_in_training_flips_as_keras_does():
    x = np.arange(2 * 3 * 4).reshape(2, 3, 4, 1).astype(np.float32)
    for mode, flip in [("horizontal", lambda v: v[:, ::-1]), ("vertical", lambda v: v[::-1]),
                       ("horizontal_and_vertical", lambda v: v[::-1, ::-1])]:
        seen = set()
        for seed in range(12):
            for layer, run in ((layers.RandomFlip(mode, seed=seed), ours),
                               (keras.layers.RandomFlip(mode, seed=seed), theirs)):
                for img, out in zip(x, run(layer, x, training=True)):
                    same = np.array_equal(out, img)
                    assert same or np.array_equal(out, flip(img))
                    seen.add((run.__name__, same))
        assert len(seen) == 4  # both libraries both flipped and kept some images


@pytest.mark.parametrize("name, kwargs", [
    ("Resizing", {"height": 3, "width": 4}),
    ("CenterCrop", {"height": 3, "width": 4}),
    ("RandomFlip", {"mode": "vertical", "seed": 3}),
    ("RandomRotation", {"factor": 0.2, "fill_mode": "constant", "seed": 1}),
    ("RandomZoom", {"height_factor": (-0.2, 0.3), "width_factor": 0.1}),
    ("RandomTranslation", {"height_factor": 0.2, "width_factor": (0.1, 0.3)}),
    ("RandomContrast", {"factor": 0.2, "value_range": (0, 1)}),
])
def test_configs_hold_kerass_keys_and_values_and_load_kerass(name, kwargs):
    keras_config = getattr(keras.layers, name)(**kwargs).get_config()
    config = getattr(layers, name)(**kwargs).get_config()
    for key, value in config.items():
        if key not in ("name", "trainable"):
            expected = keras_config[key]
            expected = list(expected) if isinstance(expected, tuple) else expected
            assert value == expected, key
    missing = set(keras_config) - set(config) - {"dtype"}
    assert missing <= {"data_format"}
    rebuilt = getattr(layers, name).from_config(
        {k: v for k, v in keras_config.items() if k != "dtype"})
    assert rebuilt.get_config() | {"name": None} == config | {"name": None}


@pytest.mark.parametrize("name, kwargs", [
    ("RandomRotation", {"factor": 1.5}),
    ("RandomRotation", {"factor": (1.2, 1.5)}),
    ("RandomRotation", {"factor": (0.1, 0.2, 0.3)}),
    ("RandomZoom", {"height_factor": -1.0}),
    ("RandomZoom", {"height_factor": 0.1, "width_factor": (0.2, 1.5)}),
    ("RandomTranslation", {"height_factor": 1.2, "width_factor": 0}),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": (-1.1, 0.0)}),
    ("RandomContrast", {"factor": 1.5}),
    ("RandomContrast", {"factor": -0.1}),
    ("RandomContrast", {"factor": (0.6, -0.6)}),
    ("Resizing", {"height": 4, "width": 4, "crop_to_aspect_ratio": True,
                  "pad_to_aspect_ratio": True}),
])
def test_factors_keras_refuses_are_refused(name, kwargs):
    with pytest.raises(ValueError):
        getattr(keras.layers, name)(**kwargs)(X)
    with pytest.raises(ValueError, match=name):
        getattr(layers, name)(**kwargs)


@pytest.mark.parametrize("name, kwargs", [
    ("RandomRotation", {"factor": (-0.5, 1.0)}),
    ("RandomZoom", {"height_factor": 1.0}),
    ("RandomZoom", {"height_factor": (-0.9, 1.0)}),
    ("RandomTranslation", {"height_factor": -1.0, "width_factor": (1.0, -1.0)}),
    ("RandomContrast", {"factor": 1.0}),
    ("RandomContrast", {"factor": (-0.4, 0.0)}),
])
def test_factors_keras_accepts_are_accepted_with_its_ranges(name, kwargs):
    ref, ours_ = getattr(keras.layers, name)(**kwargs), getattr(layers, name)(**kwargs)
    if hasattr(ref, "factor"):
        assert tuple(ours_.factor) == tuple(ref.factor)
    else:
        assert ours_.height_range == (ref.height_lower, ref.height_upper)
