"""What every augmentation must preserve: shape, dtype, range, the input, the seed's draws."""

import json

import numpy as np
import pytest

from svertka import augment
from svertka.augment import (
    Affine,
    Brightness,
    Compose,
    Contrast,
    Cutout,
    GaussianNoise,
    HorizontalFlip,
    Hue,
    OneOf,
    RandomApply,
    RandomCrop,
    Rotation,
    Saturation,
    Shear,
    Shift,
    VerticalFlip,
    Zoom,
)

ALL = [
    HorizontalFlip(),
    VerticalFlip(),
    Shift(0.1),
    Shift(0.2, mode="reflect"),
    RandomCrop(4),
    RandomCrop(2, mode="replicate"),
    Rotation(20),
    Rotation(20, mode="replicate"),
    Shear(15),
    Zoom((0.8, 1.2)),
    Affine(10, 5, (0.9, 1.1), 0.05),
    Brightness(0.3),
    Contrast((0.5, 1.5)),
    Saturation((0.5, 1.5)),
    Hue(0.2),
    GaussianNoise(0.1),
    GaussianNoise((0.0, 0.2)),
    Cutout(4, count=2),
    Compose([HorizontalFlip(), Shift(0.1)]),
    RandomApply([Rotation(10)]),
    OneOf([Brightness(0.2), Contrast(0.2)], weights=[2, 1]),
]
IDS = [type(t).__name__ for t in ALL]


def images(dtype, n=16, h=12, w=10, c=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, h, w, c), dtype=np.uint8)
    return x if dtype == np.uint8 else (x / 255).astype(dtype)


@pytest.mark.parametrize("t", ALL, ids=IDS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_shape_dtype_and_input_kept(t, dtype):
    x = images(dtype)
    before = x.copy()
    y = t(x, np.random.default_rng(1))
    assert y.shape == x.shape and y.dtype == x.dtype
    np.testing.assert_array_equal(x, before)  # never modified in place
    assert not np.shares_memory(x, y)
    assert np.isfinite(y.astype(np.float64)).all()


@pytest.mark.parametrize("t", ALL, ids=IDS)
def test_same_seed_same_batch_different_seed_different(t):
    x = images(np.uint8, n=32)
    a = t(x, np.random.default_rng(7))
    b = t(x, np.random.default_rng(7))
    c = t(x, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, x)


@pytest.mark.parametrize("t", ALL, ids=IDS)
def test_p_zero_is_the_identity(t):
    x = images(np.float32)
    off = type(t).from_config({**t.get_config(), "p": 0.0})
    np.testing.assert_array_equal(off(x, np.random.default_rng(0)), x)


@pytest.mark.parametrize("t", ALL, ids=IDS)
def test_config_survives_json_and_gives_the_same_draws(t):
    config = json.loads(json.dumps(augment.serialize(t)))
    back = augment.deserialize(config)
    assert type(back) is type(t)
    assert json.loads(json.dumps(augment.serialize(back))) == config
    x = images(np.uint8)
    np.testing.assert_array_equal(back(x, np.random.default_rng(3)), t(x, np.random.default_rng(3)))


@pytest.mark.parametrize("t", ALL, ids=IDS)
def test_repr_is_readable_and_rebuilds_the_transform(t):
    text = repr(t)
    assert text.startswith(type(t).__name__ + "(")
    rebuilt = eval(text, vars(augment))  # noqa: S307 - our own repr
    assert augment.serialize(rebuilt) == augment.serialize(t)


def test_parameters_are_drawn_per_image_not_per_batch():
    x = np.full((8, 4, 4, 3), 0.5, np.float32)
    y = Brightness(0.3)(x, np.random.default_rng(0))
    deltas = y.mean(axis=(1, 2, 3)) - 0.5
    assert len(np.unique(deltas.round(6))) == 8


def test_uint8_results_are_rounded_and_clipped():
    x = np.array([3, 128, 252], np.uint8).reshape(1, 1, 3, 1)
    y = Brightness((0.02, 0.02))(x, 0)  # + 5.1
    assert y.ravel().tolist() == [8, 133, 255]
    y = Brightness((-0.02, -0.02))(x, 0)
    assert y.ravel().tolist() == [0, 123, 247]


def test_an_int_seed_or_none_is_accepted_as_rng():
    x = images(np.uint8)
    np.testing.assert_array_equal(Shift(0.2)(x, 5), Shift(0.2)(x, np.random.default_rng(5)))
    assert Shift(0.2)(x).shape == x.shape  # svertka's global generator


def test_an_empty_batch_passes_through():
    x = np.zeros((0, 8, 8, 3), np.uint8)
    for t in ALL:
        assert t(x, np.random.default_rng(0)).shape == x.shape


@pytest.mark.parametrize(
    "x, error, match",
    [
        (np.zeros((4, 4, 3), np.uint8), ValueError, r"4-D \(N, H, W, C\).*x\[None\]"),
        (
            np.zeros((2, 4, 4, 3), np.int32),
            TypeError,
            "uint8 or floating point, received dtype int32",
        ),
        ([[[[0]]]], TypeError, "NumPy array"),
    ],
)
def test_bad_batches_are_clear_errors(x, error, match):
    with pytest.raises(error, match=match):
        Shift(0.1)(x, np.random.default_rng(0))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match=r"HorizontalFlip: argument 'p' must be a finite "
                                         r"number >= 0.0 and <= 1.0"):
        HorizontalFlip(p=1.5)
    with pytest.raises(ValueError, match="HorizontalFlip: argument 'p'.*received nan"):
        HorizontalFlip(p=float("nan"))
    with pytest.raises(ValueError, match="Cutout: argument 'fill'.*received inf"):
        Cutout(2, fill=float("inf"))
    assert Cutout(np.int64(3), count=np.int32(2)).size == 3
    with pytest.raises(TypeError, match="Rotation: argument 'max_degrees'"):
        Rotation("a lot")
    with pytest.raises(ValueError, match="Zoom: argument 'range' must have low <= high"):
        Zoom((1.2, 0.8))
    with pytest.raises(ValueError, match="Shift: argument 'mode' must be one of"):
        Shift(0.1, mode="wrap")
    with pytest.raises(ValueError, match="Cutout: argument 'size' must be a positive int"):
        Cutout(0)
    with pytest.raises(TypeError, match="rng"):
        Shift(0.1)(images(np.uint8), rng="seed")
