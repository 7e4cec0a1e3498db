"""Colour corrections change what they should (mean, spread, colour) and nothing else."""

import colorsys

import numpy as np
import pytest

from svertka.augment import Brightness, Contrast, Hue, Saturation, hsv_to_rgb, rgb_to_hsv


def rgb(n=6, h=5, w=4, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def grey(n=4, dtype=np.uint8):
    v = np.random.default_rng(1).integers(0, 256, (n, 5, 5, 1), dtype=np.uint8)
    g = np.repeat(v, 3, axis=-1)
    return g if dtype == np.uint8 else (g / 255).astype(dtype)


def test_brightness_moves_each_mean_by_its_drawn_delta():
    x = np.full((20, 4, 4, 3), 0.5, np.float32)
    t = Brightness(0.3)
    y = t(x, np.random.default_rng(4))
    delta = t.draw(20, np.random.default_rng(4), x.shape)["delta"]
    np.testing.assert_allclose(y.mean(axis=(1, 2, 3)), 0.5 + delta, atol=1e-6)
    assert np.abs(delta).max() <= 0.3 and delta.std() > 0.05


def test_brightness_on_uint8_is_in_pixel_units_and_float_is_not_clipped():
    x = np.full((1, 2, 2, 3), 100, np.uint8)
    assert (Brightness((0.1, 0.1))(x, 0) == 126).all()  # 100 + 25.5, rounded
    f = np.full((1, 2, 2, 3), 0.8, np.float32)
    np.testing.assert_allclose(Brightness((0.5, 0.5))(f, 0), 1.3)


def test_contrast_keeps_the_mean_and_scales_the_spread():
    x = rgb().astype(np.float64) / 255
    t = Contrast((0.3, 1.7))
    y = t(x, np.random.default_rng(2))
    f = t.draw(len(x), np.random.default_rng(2), x.shape)["factor"]
    np.testing.assert_allclose(y.mean(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3)), atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(1, 2, 3)), f * x.std(axis=(1, 2, 3)), rtol=1e-10)


def test_contrast_works_on_grey_images():
    x = rgb()[..., :1]
    assert Contrast(0.5)(x, 0).shape == x.shape


def test_saturation_zero_gives_the_luma_grey_in_every_channel():
    x = rgb().astype(np.float64)
    y = Saturation((0, 0))(x, 0)
    luma = x @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(y, np.repeat(luma[..., None], 3, -1), atol=1e-9)


@pytest.mark.parametrize("t", [Saturation((0.0, 3.0)), Hue(0.5)])
def test_grey_images_do_not_change(t):
    np.testing.assert_array_equal(t(grey(), 0), grey())
    np.testing.assert_allclose(t(grey(dtype=np.float32), 0), grey(dtype=np.float32), atol=1e-6)


@pytest.mark.parametrize("t", [Saturation((0.5, 1.5)), Hue(0.3)])
def test_colour_images_do_change(t):
    x = rgb(n=8)
    assert (t(x, 0) != x).any(axis=(1, 2, 3)).all()


def test_hue_turns_red_into_green_and_blue():
    red = np.array([255, 0, 0], np.uint8).reshape(1, 1, 1, 3)
    assert Hue((1 / 3, 1 / 3))(red, 0).ravel().tolist() == [0, 255, 0]
    assert Hue((-1 / 3, -1 / 3))(red, 0).ravel().tolist() == [0, 0, 255]


def test_hue_keeps_saturation_and_value_and_matches_colorsys():
    x = rgb(n=3).astype(np.float64) / 255
    delta = np.array([0.1, -0.37, 0.5])
    y = Hue(0.5).apply(x, {"delta": delta})
    for i in range(3):
        for r in range(x.shape[1]):
            for c in range(x.shape[2]):
                h, s, v = colorsys.rgb_to_hsv(*x[i, r, c])
                np.testing.assert_allclose(
                    y[i, r, c], colorsys.hsv_to_rgb((h + delta[i]) % 1, s, v), atol=1e-9
                )


def test_rgb_hsv_conversions_match_colorsys_and_invert():
    x = np.random.default_rng(3).random((50, 3))
    x[:5] = x[:5, :1]  # some greys
    x[5] = 0
    ours = rgb_to_hsv(x)
    ref = np.array([colorsys.rgb_to_hsv(*p) for p in x])
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    np.testing.assert_allclose(hsv_to_rgb(ours), x, atol=1e-12)


@pytest.mark.parametrize("t", [Saturation(0.2), Hue(0.1)])
def test_colour_only_transforms_reject_grey_batches(t):
    with pytest.raises(ValueError, match=r"needs colour images with 3 channels .* received 1"):
        t(np.zeros((2, 4, 4, 1), np.uint8), 0)


def test_bad_amounts_are_clear_errors():
    with pytest.raises(ValueError, match=r"Hue: argument 'max_delta' must be a finite number "
                                         r">= -0.5 and <= 0.5"):
        Hue(0.7)
    with pytest.raises(ValueError, match="Contrast: argument 'range' must be a finite "
                                         "number >= 0.0"):
        Contrast((-1, 1))
