"""Rotations, shears and zooms: exact cases, and the sampler against a naive loop."""

import numpy as np
import pytest

from svertka.augment import (
    Affine,
    Rotation,
    Shear,
    Zoom,
    affine_matrices,
    shift_images,
    warp_affine,
)


def batch(n=4, h=9, w=9, c=3, seed=0, dtype=np.uint8):
    x = np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)
    return x if dtype == np.uint8 else (x / 255).astype(dtype)


def reference_warp(x, m, mode):
    """Per pixel, per image: bilinear read at m @ (row, col, 1), zeros or clamped outside."""
    n, h, w, c = x.shape
    out = np.zeros((n, h, w, c))
    for i in range(n):
        for r in range(h):
            for col in range(w):
                sr, sc = m[i] @ np.array([r, col, 1.0])
                if mode == "replicate":
                    sr, sc = min(max(sr, 0), h - 1), min(max(sc, 0), w - 1)
                r0, c0 = int(np.floor(sr)), int(np.floor(sc))
                for rr, wr in ((r0, 1 - (sr - r0)), (r0 + 1, sr - r0)):
                    for cc, wc in ((c0, 1 - (sc - c0)), (c0 + 1, sc - c0)):
                        if mode == "replicate":
                            rr, cc = min(max(rr, 0), h - 1), min(max(cc, 0), w - 1)
                        if 0 <= rr < h and 0 <= cc < w:
                            out[i, r, col] += wr * wc * x[i, rr, cc]
    return out


@pytest.mark.parametrize("mode", ["zeros", "replicate"])
def test_warp_matches_a_naive_bilinear_loop(mode):
    x = batch(n=3, h=7, w=6, dtype=np.float64)
    rng = np.random.default_rng(2)
    m = affine_matrices(
        x.shape,
        rotation=rng.uniform(-40, 40, 3),
        shear=rng.uniform(-20, 20, 3),
        zoom=rng.uniform(0.7, 1.3, 3),
        shift=rng.uniform(-2, 2, (3, 2)),
    )
    np.testing.assert_allclose(warp_affine(x, m, mode), reference_warp(x, m, mode), atol=1e-5)


def test_uint8_warp_is_the_float_result_rounded():
    x = batch(n=3, h=7, w=6)
    m = affine_matrices(x.shape, rotation=[10.0, -25.0, 33.0])
    exact = reference_warp(x.astype(np.float64), m, "zeros")
    assert np.abs(warp_affine(x, m).astype(np.float64) - exact).max() <= 0.5 + 1e-3


@pytest.mark.parametrize("size", [6, 7])
@pytest.mark.parametrize("angle, k", [(90, 1), (-90, -1), (180, 2), (270, 3)])
def test_rotation_by_right_angles_equals_rot90(size, angle, k):
    x = batch(h=size, w=size)
    y = Rotation((angle, angle))(x, 0)
    np.testing.assert_array_equal(y, np.rot90(x, k, axes=(1, 2)))
    xf = x.astype(np.float32)
    np.testing.assert_allclose(
        Rotation((angle, angle))(xf, 0), np.rot90(xf, k, axes=(1, 2)), atol=1e-3
    )


def test_the_same_rotation_by_apply_with_a_fixed_angle():
    x = batch(h=8, w=8)
    y = Rotation(30).apply(x, {"angle": np.full(len(x), 90.0)})
    np.testing.assert_array_equal(y, np.rot90(x, axes=(1, 2)))


def test_zero_angles_and_unit_zoom_are_the_identity():
    x = batch(h=8, w=11)
    for t in (Rotation((0, 0)), Shear((0, 0)), Zoom((1, 1)), Affine()):
        np.testing.assert_array_equal(t(x, 0), x)


def test_integer_translation_equals_the_exact_shift():
    x = batch(n=3, h=8, w=10, dtype=np.float32)
    dy, dx = np.array([1, -2, 3]), np.array([0, 2, -1])
    m = affine_matrices(x.shape, shift=np.stack([dy, dx], 1).astype(float))
    np.testing.assert_allclose(warp_affine(x, m), shift_images(x, dy, dx), atol=1e-6)


def test_shear_of_45_degrees_slides_each_row_by_its_distance_to_the_centre():
    x = batch(n=2, h=7, w=9, dtype=np.float32)  # centre row 3: row r moves by r - 3
    y = Shear((45, 45))(x, 0)
    for r in range(7):
        np.testing.assert_allclose(y[:, r], shift_images(x, [0, 0], [r - 3] * 2)[:, r], atol=1e-5)


def test_zoom_keeps_the_centre_and_enlarges_the_content():
    x = np.zeros((1, 9, 9, 1), np.float32)
    x[0, 4, 4] = 1.0
    x[0, 4, 6] = 1.0  # two pixels right of the centre
    y = Zoom((2, 2))(x, 0)
    assert y[0, 4, 4, 0] == pytest.approx(1.0)
    assert y[0, 4, 8, 0] == pytest.approx(1.0)  # now four pixels right
    small = Zoom((0.5, 0.5))(np.ones((1, 9, 9, 1), np.float32), 0)
    assert small[0, 0, 0, 0] == 0 and small[0, 4, 4, 0] == 1  # the border is filled


def test_fill_modes():
    x = np.full((2, 10, 10, 3), 200, np.uint8)
    zeros = Rotation((45, 45))(x, 0)
    assert zeros[0, 0, 0].tolist() == [0, 0, 0] and zeros[0, 5, 5].tolist() == [200] * 3
    replicate = Rotation((45, 45), mode="replicate")(x, 0)
    assert (replicate == 200).all()


def test_each_image_draws_its_own_angle():
    t = Rotation((-30, 10))
    a = t.draw(1000, np.random.default_rng(0), (1000, 8, 8, 3))["angle"]
    assert a.min() >= -30 and a.max() <= 10 and a.std() > 5


def test_float64_stays_float64_and_is_not_clipped():
    x = batch(dtype=np.float64) * 3 - 1
    y = Affine(rotation=20, zoom=(0.9, 1.1))(x, 0)
    assert y.dtype == np.float64 and y.min() < 0 and y.max() > 1


def test_bad_matrices_are_a_clear_error():
    with pytest.raises(
        ValueError, match=r"warp_affine: argument 'matrices' must have shape \(4, 2, 3\)"
    ):
        warp_affine(batch(), np.zeros((2, 2, 3)))
    with pytest.raises(
        ValueError, match="Rotation: argument 'mode' must be one of 'zeros', 'replicate'"
    ):
        Rotation(10, mode="reflect")
