"""Pipelines and the spec strings of the command line."""

import json

import numpy as np
import pytest

from svertka import augment
from svertka.augment import (
    Brightness,
    Compose,
    Cutout,
    HorizontalFlip,
    OneOf,
    RandomApply,
    RandomCrop,
    Rotation,
    Shift,
    VerticalFlip,
    Zoom,
)


def batch(n=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)


def test_compose_applies_in_order_from_one_generator():
    x = batch()
    steps = [HorizontalFlip(), Shift(0.25), Brightness(0.1)]
    y = Compose(steps)(x, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    expected = x
    for t in steps:
        expected = t(expected, rng)
    np.testing.assert_array_equal(y, expected)


def test_order_matters():
    x = np.ones((2, 4, 4, 1), np.float32)
    cut_all, brighten = Cutout(9), Brightness((0.5, 0.5))  # a 9 x 9 square covers 4 x 4
    np.testing.assert_array_equal(Compose([cut_all, brighten])(x, 0), 0.5)
    np.testing.assert_array_equal(Compose([brighten, cut_all])(x, 0), 0.0)


def test_empty_compose_is_a_copy():
    x = batch()
    y = Compose([])(x, 0)
    np.testing.assert_array_equal(y, x)
    assert y is not x


def test_random_apply_applies_the_chain_per_image():
    x = np.zeros((200, 2, 2, 1), np.float32)
    y = RandomApply([Brightness((0.1, 0.1)), Brightness((0.2, 0.2))], p=0.25)(x, 0)
    values = np.unique(y)
    np.testing.assert_allclose(values, [0.0, 0.3], atol=1e-6)
    assert 0.15 < (y[:, 0, 0, 0] > 0).mean() < 0.35


def test_one_of_picks_one_transform_per_image():
    x = batch(n=100)
    y = OneOf([HorizontalFlip(p=1.0), VerticalFlip(p=1.0)])(x, np.random.default_rng(0))
    is_h = (y == x[:, :, ::-1]).all(axis=(1, 2, 3))
    is_v = (y == x[:, ::-1]).all(axis=(1, 2, 3))
    assert (is_h | is_v).all() and 30 < is_h.sum() < 70


def test_one_of_weights():
    x = np.zeros((400, 1, 1, 1), np.float32)
    y = OneOf([Brightness((0.1, 0.1)), Brightness((0.2, 0.2))], weights=[3, 1])(x, 0)
    assert 0.65 < np.isclose(y, 0.1).mean() < 0.85
    with pytest.raises(ValueError, match="OneOf: argument 'weights' must hold 2"):
        OneOf([HorizontalFlip(), VerticalFlip()], weights=[1])


def test_nested_pipelines_round_trip_through_json():
    t = Compose([OneOf([Rotation(10), Zoom(0.1)]), RandomApply([Cutout(3)], p=0.3)])
    text = json.dumps(augment.serialize(t))
    back = augment.deserialize(json.loads(text))
    x = batch()
    np.testing.assert_array_equal(back(x, 9), t(x, 9))


def test_spec_string_builds_the_documented_transforms():
    t = augment.get("flip, shift=0.2,rotation=15 ,cutout=8,crop,vflip=0.1,ZOOM=0.2,hue")
    assert isinstance(t, Compose)
    assert [type(s).__name__ for s in t] == [
        "HorizontalFlip",
        "Shift",
        "Rotation",
        "Cutout",
        "RandomCrop",
        "VerticalFlip",
        "Zoom",
        "Hue",
    ]
    assert t[0].p == 0.5 and t[1].max_fraction == 0.2 and t[2].max_degrees == (-15, 15)
    assert t[3].size == 8 and t[4].padding == 4 and t[5].p == 0.1
    assert t[6].range == pytest.approx((0.8, 1.2)) and t[7].max_delta == (-0.05, 0.05)


@pytest.mark.parametrize("name", sorted(augment.compose.SPEC_NAMES))
def test_every_spec_name_builds_with_its_default(name):
    t = augment.get(name)
    assert len(t) == 1
    assert t(batch(), 0).shape == batch().shape


def test_spec_errors_list_the_valid_names():
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'.*valid names: flip, hflip"):
        augment.get("flip,rotate=10")
    with pytest.raises(ValueError, match="'shift' takes a number, received 'lots'"):
        augment.get("shift=lots")
    with pytest.raises(ValueError, match="'cutout' takes a whole number of pixels, received 8.5"):
        augment.get("cutout=8.5")
    with pytest.raises(TypeError, match="augment.get: argument 'identifier'"):
        augment.get(3)


def test_get_passes_through_what_is_already_an_augmentation():
    assert augment.get(None) is None and augment.get("") is None and augment.get("none") is None
    t = Shift(0.1)
    assert augment.get(t) is t

    def own(x, rng):
        return x

    assert augment.get(own) is own
    c = augment.get(["flip", RandomCrop(2)])
    assert [type(s).__name__ for s in c] == ["Compose", "RandomCrop"]
    assert isinstance(augment.get(augment.serialize(t)), Shift)


def test_compose_rejects_what_is_not_a_list_of_transforms():
    with pytest.raises(TypeError, match="Compose: argument 'transforms' must be a list"):
        Compose(HorizontalFlip())
    with pytest.raises(TypeError, match="every item of 'transforms' must be a transform"):
        Compose([HorizontalFlip(), 3])
