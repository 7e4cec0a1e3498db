"""Winograd F(4x4, 3x3) convolution, forward and backward, against the definition in float64
(kernels.conv.naive_conv, naive_conv_backward), and its float32 error."""

import numpy as np
import pytest
from helpers import naive_conv_relu

from svertka.kernels import jit, winograd4
from svertka.kernels.conv import (
    conv2d_backward,
    conv2d_forward,
    gemm_backward,
    gemm_forward,
    naive_conv_backward,
    plan,
)

rng = np.random.default_rng(44)

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="Numba is not installed")

CASES = [
    # x shape, pads: 'same', 'valid', odd and even outputs, partial last tiles, uneven padding
    ((2, 7, 9, 8), ((1, 1), (1, 1))),
    ((3, 6, 5, 16), ((0, 0), (0, 0))),
    ((1, 5, 6, 9), ((2, 0), (0, 1))),
    ((2, 3, 3, 8), ((0, 0), (0, 0))),  # one output pixel
    ((1, 4, 10, 12), ((0, 2), (2, 2))),
    ((1, 9, 8, 8), ((2, 1), (1, 2))),
    ((2, 11, 13, 8), ((1, 1), (1, 1))),  # several tiles each way, the last ones partial
    ((1, 12, 12, 8), ((1, 1), (1, 1))),  # whole tiles only
]
FLAGS = [(True, False), (False, False), (True, True), (False, True)]  # bias, relu


def reference_gradients(x, w, b, pads, relu, gy, need_gx=True, need_gw=True):
    """(gx, gw, gb) by the definitions in float64 (as in test_winograd.py)."""
    y = naive_conv_relu(x, w, b, pads, relu)
    gy = gy.astype(np.float64) * (y > 0) if relu else gy.astype(np.float64)
    gx, gw, gb = naive_conv_backward(x.astype(np.float64), w.astype(np.float64), gy, (1, 1),
                                     pads)
    return gx if need_gx else None, gw if need_gw else None, None if b is None else gb


def im2col_reference(x, w, b, pads, relu, gy):
    """``(y, (gx, gw, gb))`` by im2col + GEMM in float64, for the float32 sizes."""
    f64 = [None if a is None else a.astype(np.float64) for a in (x, w, b)]
    y, cache = gemm_forward(*f64, (1, 1), pads, (1, 1), relu, for_backward=True)
    return y, gemm_backward(gy.astype(np.float64), cache)


def conv3x3(x, w, b=None, pads=((0, 0), (0, 0)), relu=False):
    """The inference convolution: F(4x4)'s forward keeping nothing."""
    return winograd4.forward(x, w, b, pads, relu, for_backward=False)[0]


@pytest.mark.parametrize("shape, pads", CASES)
@pytest.mark.parametrize("bias, relu", FLAGS)
def test_matches_the_definition_in_float64(shape, pads, bias, relu):
    x, w = rng.standard_normal(shape), rng.standard_normal((3, 3, shape[3], 5))
    b = rng.standard_normal(5) if bias else None
    want = naive_conv_relu(x, w, b, pads, relu)
    np.testing.assert_allclose(conv3x3(x, w, b, pads, relu), want, rtol=1e-11, atol=1e-11)
    y, cache = winograd4.forward(x, w, b, pads, relu)
    assert cache.method == "winograd4" and y.dtype == np.float64
    np.testing.assert_allclose(y, want, rtol=1e-11, atol=1e-11)


def test_relu_keeps_nan_like_numpy_maximum():
    x, w = rng.standard_normal((1, 6, 6, 8)), rng.standard_normal((3, 3, 8, 2))
    x[0, 2, 2, 0] = np.nan
    y = conv3x3(x, w, None, ((0, 0), (0, 0)), relu=True)
    assert np.isnan(y).all()  # every window sees the NaN


def gradients_both_ways(x, w, b, pads, relu, gy, need_gx=True, need_gw=True):
    """(F(4x4)'s gradients, the definition's in float64) for the same forward and gy."""
    _, cache = winograd4.forward(x, w, b, pads, relu)
    ours = winograd4.backward(gy, cache, need_gx, need_gw)
    return ours, reference_gradients(x, w, b, pads, relu, gy, need_gx, need_gw)


@pytest.mark.parametrize("shape, pads", CASES)
@pytest.mark.parametrize("bias, relu", FLAGS)
def test_gradients_match_the_definition_in_float64(shape, pads, bias, relu):
    x, w = rng.standard_normal(shape), rng.standard_normal((3, 3, shape[3], 5))
    b = rng.standard_normal(5) if bias else None
    gy = rng.standard_normal(naive_conv_relu(x, w, b, pads, relu).shape)
    ours, ref = gradients_both_ways(x, w, b, pads, relu, gy)
    for name, got, want in zip(("gx", "gw", "gb"), ours, ref):
        if want is None:
            assert got is None, name
            continue
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("need_gx, need_gw", [(True, False), (False, True), (False, False)])
def test_backward_skips_the_gradients_nobody_needs(need_gx, need_gw):
    x, w = rng.standard_normal((2, 6, 6, 8)), rng.standard_normal((3, 3, 8, 3))
    gy = rng.standard_normal((2, 6, 6, 3))
    ours, ref = gradients_both_ways(x, w, None, ((1, 1), (1, 1)), False, gy, need_gx, need_gw)
    assert (ours[0] is None) == (not need_gx) and (ours[1] is None) == (not need_gw)
    for got, want in zip(ours[:2], ref[:2]):
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("values", [0, 64])
def test_passes_and_slices_give_the_same_gradients(monkeypatch, split_batches, threads, values):
    split_batches(threads)
    monkeypatch.setattr(winograd4, "TILES_PER_CHUNK", 3)  # 2x2 tiles an image: 1 per pass
    monkeypatch.setattr(winograd4, "CHUNK_VALUES", values)  # 64 / 8 channels: 2 a pass
    x, w = rng.standard_normal((7, 6, 5, 8)), rng.standard_normal((3, 3, 8, 4))
    b = rng.standard_normal(4)
    gy = rng.standard_normal((7, 6, 5, 4))
    y, cache = winograd4.forward(x, w, b, ((1, 1), (1, 1)), True)
    np.testing.assert_allclose(y, naive_conv_relu(x, w, b, ((1, 1), (1, 1)), True),
                               rtol=1e-11, atol=1e-11)
    ours, ref = gradients_both_ways(x, w, b, ((1, 1), (1, 1)), True, gy)
    for got, want in zip(ours, ref):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def test_passes_hold_about_chunk_values_tiles_times_channels():
    sizes = {c: [p.stop - p.start for p in winograd4._passes(slice(0, 128), 64, c)]
             for c in (16, 32, 64, 128)}  # 32x32 outputs: 64 tiles an image
    assert sizes == {16: [4] * 32, 32: [2] * 64, 64: [1] * 128, 128: [1] * 128}
    assert [p.stop - p.start for p in winograd4._passes(slice(5, 12), 4, 64)] == [7]


# float32: the layers of ResNet-20 and the notes' model, He-initialised filters. F(4x4)'s
# transforms round about ten times more than F(2x2)'s (docs/performance.md): forward errors
# up to about 5e-5 where F(2x2) stays under 2e-6, so the bound here is F(2x2)'s times ten.
FLOAT32 = [(32, 16, 16), (16, 32, 32), (8, 64, 64), (28, 32, 64), (14, 64, 64)]


@pytest.mark.parametrize("size, c, c_out", FLOAT32)
def test_float32_error_against_float64(size, c, c_out):
    x = rng.standard_normal((2, size, size, c)).astype(np.float32)
    w = (rng.standard_normal((3, 3, c, c_out)) * np.sqrt(2 / (9 * c))).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    gy = rng.standard_normal((2, size, size, c_out)).astype(np.float32)
    pads = ((1, 1), (1, 1))
    y, cache = winograd4.forward(x, w, b, pads, True)
    ours = winograd4.backward(gy, cache)
    want_y, ref = im2col_reference(x, w, b, pads, True, gy)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, want_y, rtol=1e-4, atol=1e-4)
    for got, want in zip(ours, ref):  # the gradients keep F(2x2)'s float32 bound
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_convolution_dispatches_it_by_name_and_back():
    x, w = rng.standard_normal((2, 9, 7, 8)), rng.standard_normal((3, 3, 8, 4))
    b = rng.standard_normal(4)
    pads = ((1, 1), (1, 1))
    y, cache = conv2d_forward(x, w, b, (1, 1), pads, (1, 1), method="winograd4")
    assert cache.method == "winograd4"
    np.testing.assert_allclose(y, naive_conv_relu(x, w, b, pads, False), rtol=1e-11, atol=1e-11)
    gy = rng.standard_normal(y.shape)
    ref = naive_conv_backward(x, w, gy, (1, 1), pads)
    for got, want in zip(conv2d_backward(gy, cache), ref):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("size, c, c_out", FLOAT32)
def test_plan_picks_f4x4_where_its_tiles_cover_the_output(size, c, c_out):
    x = np.zeros((1, size, size, c), np.float32)
    w = np.zeros((3, 3, c, c_out), np.float32)
    same = ((1, 1), (1, 1))
    expected = "winograd4" if size % 4 == 0 and c <= 64 else "winograd"
    assert plan(x, w, pads=same) == (expected if jit.enabled() else "im2col-numpy")
    assert plan(np.zeros((1, 8, 8, 128), np.float32), np.zeros((3, 3, 128, 8), np.float32),
                pads=same) == ("winograd" if jit.enabled() else "im2col-numpy")
