"""Flips, shifts and random crops move pixels exactly where they should."""

import numpy as np
import pytest

from svertka.augment import HorizontalFlip, RandomCrop, Shift, VerticalFlip, shift_images


def batch(n=10, h=9, w=7, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)


def test_horizontal_flip_with_p1_mirrors_every_image():
    x = batch()
    np.testing.assert_array_equal(HorizontalFlip(p=1.0)(x, 0), x[:, :, ::-1])


def test_vertical_flip_with_p1_mirrors_every_image():
    x = batch().astype(np.float32)
    np.testing.assert_array_equal(VerticalFlip(p=1.0)(x, 0), x[:, ::-1])


@pytest.mark.parametrize(
    "cls, flip", [(HorizontalFlip, lambda a: a[:, ::-1]), (VerticalFlip, lambda a: a[::-1])]
)
def test_flip_picks_images_with_probability_p(cls, flip):
    x = batch(n=400)
    y = cls(p=0.3)(x, np.random.default_rng(5))
    picked = np.random.default_rng(5).random(400) < 0.3  # the draw __call__ makes first
    for i in range(400):
        np.testing.assert_array_equal(y[i], flip(x[i]) if picked[i] else x[i])
    assert 0.2 < picked.mean() < 0.4


def reference_shift(x, dy, dx, mode):
    """Naive: pad each image by its own shift with np.pad, then slice."""
    np_mode = {
        "zeros": "constant",
        "replicate": "edge",
        "reflect": "reflect",
        "symmetric": "symmetric",
        "circular": "wrap",
    }[mode]
    out = np.empty_like(x)
    h, w = x.shape[1:3]
    for i in range(len(x)):
        m = max(abs(dy[i]), abs(dx[i]))
        p = np.pad(x[i], ((m, m), (m, m), (0, 0)), mode=np_mode)
        out[i] = p[m - dy[i] : m - dy[i] + h, m - dx[i] : m - dx[i] + w]
    return out


@pytest.mark.parametrize("mode", ["zeros", "replicate", "reflect", "symmetric", "circular"])
def test_shift_images_matches_a_naive_pad_and_slice(mode):
    x = batch(n=6)
    dy = np.array([0, 1, -2, 3, -3, 2])
    dx = np.array([2, -1, 0, -3, 3, 1])
    np.testing.assert_array_equal(shift_images(x, dy, dx, mode), reference_shift(x, dy, dx, mode))


def test_shift_moves_a_known_pixel_by_the_drawn_amount():
    x = np.zeros((50, 20, 20, 1), np.float32)
    x[:, 10, 8] = 1.0
    t = Shift(0.2)
    y = t(x, np.random.default_rng(3))
    drawn = t.draw(50, np.random.default_rng(3), x.shape)  # p=1: no pick draw before
    assert np.abs(drawn["dy"]).max() == 4 and np.abs(drawn["dx"]).max() == 4  # round(0.2*20)
    for i in range(50):
        (r,), (c,) = np.nonzero(y[i, :, :, 0])
        assert (r, c) == (10 + drawn["dy"][i], 8 + drawn["dx"][i])


def test_shift_uses_the_fraction_of_each_side():
    t = Shift(0.25)
    assert t.max_shift((1, 8, 16, 3)) == (2, 4)
    d = t.draw(1000, np.random.default_rng(0), (1000, 8, 16, 3))
    assert set(np.unique(d["dy"])) == set(range(-2, 3))
    assert set(np.unique(d["dx"])) == set(range(-4, 5))


def test_random_crop_is_pad_then_crop_of_the_original_size():
    x = batch(n=20, h=8, w=8)
    t = RandomCrop(padding=3, mode="reflect")
    y = t(x, np.random.default_rng(1))
    d = t.draw(20, np.random.default_rng(1), x.shape)
    padded = np.pad(x, ((0, 0), (3, 3), (3, 3), (0, 0)), mode="reflect")
    for i in range(20):
        top, left = 3 - d["dy"][i], 3 - d["dx"][i]  # the crop window's corner in the padding
        assert 0 <= top <= 6 and 0 <= left <= 6
        np.testing.assert_array_equal(y[i], padded[i, top : top + 8, left : left + 8])


def test_zero_shift_is_exact_identity():
    x = batch()
    np.testing.assert_array_equal(Shift(0.0)(x, 0), x)
    np.testing.assert_array_equal(RandomCrop(0)(x, 0), x)


def test_reflect_padding_wider_than_the_image_is_a_clear_error():
    with pytest.raises(ValueError, match="RandomCrop: padding mode 'reflect' needs padding <="):
        RandomCrop(5, mode="reflect")(np.zeros((2, 4, 4, 1), np.uint8), 0)
