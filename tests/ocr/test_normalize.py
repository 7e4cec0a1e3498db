"""MNIST-style normalisation, checked against MNIST's own statistics."""

import numpy as np
import pytest

from svertka.ocr.normalize import centre_of_mass, deslant, ink_box, normalize_glyph

pytest.importorskip("PIL")


@pytest.mark.parametrize("shape", [(60, 30), (30, 90), (7, 5), (200, 13)])
def test_the_longer_side_fills_twenty_pixels_and_the_mass_sits_at_the_centre(shape):
    rng = np.random.default_rng(sum(shape))
    g = np.zeros((shape[0] + 10, shape[1] + 10), bool)
    g[5:-5, 5:-5] = rng.random(shape) < 0.6
    g[5, 5] = g[-6, -6] = True  # the ink box is the whole shape
    out = normalize_glyph(g)
    y0, y1, x0, x1 = ink_box(out)
    h, w = y1 - y0, x1 - x0
    assert max(h, w) == 20
    assert min(h, w) == pytest.approx(20 * min(shape) / max(shape), abs=1.5)
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_mnist_glyphs_come_back_as_mnist_made_them(mnist_test):
    x, _ = mnist_test
    x = x[:300]
    out = np.stack([normalize_glyph(g > 127) for g in x])
    boxes = np.array([ink_box(o) for o in out])
    assert (np.maximum(boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2]) == 20).all()
    coms = np.array([centre_of_mass(o) for o in out])
    mnist_coms = np.array([centre_of_mass(g) for g in x])
    # the same placement rule as MNIST's: both within half a pixel of the centre, on average
    # at the same place
    assert np.abs(coms - 14).max() <= 0.5
    assert np.abs(coms.mean(0) - mnist_coms.mean(0)).max() < 0.1
    # and the pictures themselves agree: MNIST's ink is where ours is
    overlap = ((out > 127) & (x > 127)).sum() / (x > 127).sum()
    assert overlap > 0.8


def test_grey_and_mask_input_scale_the_same_and_the_field_is_uint8():
    g = np.zeros((40, 20), np.uint8)
    g[2:38, 8:12] = 200
    a, b = normalize_glyph(g), normalize_glyph(g > 0)
    assert a.dtype == np.uint8 and a.shape == (28, 28)
    assert a.max() == 255  # grey levels are scaled to the glyph's own peak
    np.testing.assert_array_equal(a, b)


def test_an_empty_glyph_is_an_empty_field_and_a_wrong_shape_is_refused():
    assert not normalize_glyph(np.zeros((5, 5))).any()
    assert not normalize_glyph(np.zeros((0, 0))).any()
    with pytest.raises(ValueError, match=r"normalize_glyph: argument 'glyph' must be a 2-D"):
        normalize_glyph(np.zeros((3, 3, 3)))


def test_deslant_makes_a_slanted_stroke_upright():
    g = np.zeros((40, 40), np.float32)
    for y in range(40):
        g[y, 5 + y // 2: 8 + y // 2] = 1.0  # leans right by half a pixel a row
    straight = deslant(g) > 0.5
    cols = np.flatnonzero(straight.any(axis=0))
    assert cols.size <= 5  # was 23 columns wide
    slanted = normalize_glyph(g)
    upright = normalize_glyph(g, slant=True)
    assert np.count_nonzero(upright.any(axis=0)) < np.count_nonzero(slanted.any(axis=0))
