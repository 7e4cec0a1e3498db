"""Gaussian noise has the asked spread; Cutout zeroes squares of the asked size."""

import numpy as np

from svertka.augment import Cutout, GaussianNoise


def test_noise_has_the_asked_std_and_zero_mean():
    x = np.full((4, 64, 64, 3), 0.5, np.float32)
    y = GaussianNoise(0.05)(x, np.random.default_rng(0))
    assert abs(float((y - x).mean())) < 2e-3
    assert abs(float((y - x).std()) - 0.05) < 2e-3


def test_noise_std_is_in_pixel_units_for_uint8_and_clipped():
    x = np.full((2, 64, 64, 1), 128, np.uint8)
    y = GaussianNoise(0.04)(x, np.random.default_rng(0)).astype(np.float64)
    assert abs(y.std() - 0.04 * 255) < 0.3
    edge = GaussianNoise(0.2)(np.zeros((1, 32, 32, 1), np.uint8), 0)
    assert edge.min() == 0 and 0.4 < (edge == 0).mean() < 0.6  # half the noise clipped at 0


def test_a_std_range_draws_one_std_per_image():
    x = np.zeros((6, 64, 64, 1), np.float32)
    t = GaussianNoise((0.01, 0.3))
    y = t(x, np.random.default_rng(1))
    drawn = t.draw(6, np.random.default_rng(1), x.shape)["std"]
    np.testing.assert_allclose(y.std(axis=(1, 2, 3)), drawn, rtol=0.05)


def expected_cut(h, w, rows, cols, size):
    mask = np.zeros((h, w), bool)
    for r, c in zip(rows, cols):
        top, left = r - size // 2, c - size // 2
        mask[max(top, 0) : max(top + size, 0), max(left, 0) : max(left + size, 0)] = True
    return mask


def test_cutout_zeroes_a_square_of_the_given_size_at_the_drawn_place():
    x = np.full((40, 20, 20, 3), 255, np.uint8)
    t = Cutout(6)
    y = t(x, np.random.default_rng(2))
    d = t.draw(40, np.random.default_rng(2), x.shape)
    for i in range(40):
        mask = expected_cut(20, 20, d["row"][i], d["col"][i], 6)
        np.testing.assert_array_equal((y[i] == 0).all(-1), mask)
        np.testing.assert_array_equal((y[i] == 255).all(-1), ~mask)  # all channels, nothing else
        r, c = d["row"][i, 0], d["col"][i, 0]
        if 3 <= r <= 16 and 3 <= c <= 16:  # fully inside: exactly size x size
            assert mask.sum() == 36


def test_cutout_squares_are_clipped_at_the_border_and_overlap_as_a_union():
    x = np.ones((1, 10, 10, 1), np.float32)
    y = Cutout(4, count=3).apply(x, {"row": np.array([[0, 5, 6]]), "col": np.array([[0, 5, 6]])})
    expected = expected_cut(10, 10, [0, 5, 6], [0, 5, 6], 4)
    np.testing.assert_array_equal(y[0, :, :, 0] == 0, expected)
    assert expected[:2, :2].all() and expected.sum() == 4 + 16 + 16 - 9


def test_cutout_fill_value():
    y = Cutout(3, fill=0.5).apply(
        np.zeros((1, 5, 5, 2), np.float32), {"row": np.array([[2]]), "col": np.array([[2]])}
    )
    assert (y[0, 1:4, 1:4] == 0.5).all() and y.sum() == 9 * 2 * 0.5
