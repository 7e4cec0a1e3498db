"""Winograd F(2x2, 3x3) convolution, forward and backward, against the definition in float64
(kernels.conv.naive_conv, naive_conv_backward)."""

import numpy as np
import pytest
from helpers import naive_conv_relu

from svertka.kernels import jit, winograd
from svertka.kernels.conv import (
    conv2d_backward,
    conv2d_forward,
    gemm_backward,
    gemm_forward,
    naive_conv_backward,
    plan,
)

rng = np.random.default_rng(21)

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="Numba is not installed")


def reference_gradients(x, w, b, pads, relu, gy, need_gx=True, need_gw=True):
    """(gx, gw, gb) by the definitions in float64: ReLU's gate (``y > 0``), then
    kernels.conv.naive_conv_backward; None for what is not asked for, and gb without b."""
    y = naive_conv_relu(x, w, b, pads, relu)
    gy = gy.astype(np.float64) * (y > 0) if relu else gy.astype(np.float64)
    gx, gw, gb = naive_conv_backward(x.astype(np.float64), w.astype(np.float64), gy, (1, 1),
                                     pads)
    return gx if need_gx else None, gw if need_gw else None, None if b is None else gb


def im2col_reference(x, w, b, pads, relu, gy=None):
    """The float32 tests' reference at sizes where the loops above would take seconds: im2col
    + GEMM in float64 (checked against naive_conv in tests/kernels/test_conv.py); returns
    ``(y, (gx, gw, gb))``, the gradients for ``gy`` or None."""
    f64 = [None if a is None else a.astype(np.float64) for a in (x, w, b)]
    y, cache = gemm_forward(*f64, (1, 1), pads, (1, 1), relu, for_backward=True)
    return y, None if gy is None else gemm_backward(gy.astype(np.float64), cache)


def conv3x3(x, w, b=None, pads=((0, 0), (0, 0)), relu=False, out=None):
    """The inference convolution: Winograd's forward keeping nothing."""
    return winograd.forward(x, w, b, pads, relu, for_backward=False, out=out)[0]


CASES = [
    # x shape, pads: 'same', 'valid', odd and even outputs, uneven padding
    ((2, 7, 9, 8), ((1, 1), (1, 1))),
    ((3, 6, 5, 16), ((0, 0), (0, 0))),
    ((1, 5, 6, 9), ((2, 0), (0, 1))),
    ((2, 3, 3, 8), ((0, 0), (0, 0))),  # one output pixel
    ((1, 4, 10, 12), ((0, 2), (2, 2))),
]


@pytest.mark.parametrize("shape, pads", CASES)
@pytest.mark.parametrize("bias, relu", [(True, False), (False, False), (True, True)])
def test_matches_the_definition_in_float64(shape, pads, bias, relu):
    x, w = rng.standard_normal(shape), rng.standard_normal((3, 3, shape[3], 5))
    b = rng.standard_normal(5) if bias else None
    np.testing.assert_allclose(conv3x3(x, w, b, pads, relu),
                               naive_conv_relu(x, w, b, pads, relu), rtol=1e-12, atol=1e-12)


def test_float32_stays_within_float32_rounding_of_float64():
    x = rng.standard_normal((4, 14, 14, 32)).astype(np.float32)
    w = (rng.standard_normal((3, 3, 32, 64)) * 0.1).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    y = conv3x3(x, w, b, ((1, 1), (1, 1)), relu=True)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, im2col_reference(x, w, b, ((1, 1), (1, 1)), True)[0],
                               rtol=1e-5, atol=1e-5)


def test_images_in_several_passes_and_into_a_given_array(monkeypatch):
    monkeypatch.setattr(winograd, "INFERENCE_TILES_PER_CHUNK", 10)  # 3x3 tiles: 1 per pass
    x, w = rng.standard_normal((5, 6, 6, 8)), rng.standard_normal((3, 3, 8, 4))
    out = np.full((5, 6, 6, 4), np.nan)
    y = conv3x3(x, w, None, ((1, 1), (1, 1)), out=out)
    assert y is out
    want = naive_conv_relu(x, w, None, ((1, 1), (1, 1)), False)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape, pads", CASES)
def test_pooled_forward_is_the_pooled_output_to_the_bit(shape, pads):
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((3, 3, shape[3], 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    y = conv3x3(x, w, b, pads, relu=True)
    n, oh, ow, c = y.shape
    windows = y[:, : oh // 2 * 2, : ow // 2 * 2].reshape(n, oh // 2, 2, ow // 2, 2, c)
    pooled, cache = winograd.forward(x, w, b, pads, True, for_backward=False, maxpool=True)
    assert cache is None
    np.testing.assert_array_equal(pooled, windows.max(axis=(2, 4)))


def test_relu_keeps_nan_like_numpy_maximum():
    x, w = rng.standard_normal((1, 4, 4, 8)), rng.standard_normal((3, 3, 8, 2))
    x[0, 1, 1, 0] = np.nan
    y = conv3x3(x, w, None, ((0, 0), (0, 0)), relu=True)
    assert np.isnan(y).all()  # every window sees the NaN


def test_planned_only_where_it_computes_the_same_convolution():
    x, w = np.zeros((1, 5, 5, 8), np.float32), np.zeros((3, 3, 8, 4), np.float32)
    assert plan(x, w, (1, 1), (1, 1)) == "winograd"
    assert plan(x, w, (2, 1), (1, 1)) != "winograd"  # strided
    assert plan(x, w, (1, 1), (2, 2)) != "winograd"  # dilated
    assert plan(x, np.zeros((5, 5, 8, 4), np.float32), (1, 1), (1, 1)) != "winograd"
    assert plan(x[..., :1], w[:, :, :1], (1, 1), (1, 1)) != "winograd"  # one channel
    assert plan(x, w.astype(np.float64), (1, 1), (1, 1)) != "winograd"  # mixed dtypes


def test_inference_convolution_uses_it_with_the_training_values():
    x = rng.standard_normal((6, 9, 8, 16)).astype(np.float32)
    w = rng.standard_normal((3, 3, 16, 8)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    pads = ((1, 1), (1, 1))
    y_infer, cache = conv2d_forward(x, w, b, (1, 1), pads, (1, 1), True, for_backward=False)
    y_train = conv2d_forward(x, w, b, (1, 1), pads, (1, 1), True, for_backward=True)[0]
    assert cache is None
    np.testing.assert_allclose(y_infer, y_train, rtol=1e-5, atol=1e-5)


def gradients_both_ways(x, w, b, pads, relu, gy, need_gx=True, need_gw=True):
    """(Winograd's gradients, the definition's in float64) for the same forward and gy."""
    y, cache = winograd.forward(x, w, b, pads, relu)
    ours = winograd.backward(gy, cache, need_gx, need_gw)
    return ours, reference_gradients(x, w, b, pads, relu, gy, need_gx, need_gw)


@pytest.mark.parametrize("shape, pads", CASES)
@pytest.mark.parametrize("bias, relu", [(True, False), (False, False), (True, True)])
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


def test_float32_gradients_stay_within_float32_rounding_of_float64():
    x = rng.standard_normal((4, 14, 14, 32)).astype(np.float32)
    w = (rng.standard_normal((3, 3, 32, 64)) * 0.1).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    gy = rng.standard_normal((4, 14, 14, 64)).astype(np.float32)
    _, cache = winograd.forward(x, w, b, ((1, 1), (1, 1)), True)
    ours = winograd.backward(gy, cache, True, True)
    ref = im2col_reference(x, w, b, ((1, 1), (1, 1)), True, gy)[1]
    for got, want in zip(ours, ref):
        assert got.dtype == np.float32
        scale = np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize("threads", [1, 3])
def test_passes_and_slices_give_the_same_gradients(monkeypatch, split_batches, threads):
    split_batches(threads)
    monkeypatch.setattr(winograd, "TILES_PER_CHUNK", 10)  # 3x3 tiles an image: 1 per pass
    x, w = rng.standard_normal((7, 6, 5, 8)), rng.standard_normal((3, 3, 8, 4))
    b = rng.standard_normal(4)
    gy = rng.standard_normal((7, 6, 5, 4))
    ours, ref = gradients_both_ways(x, w, b, ((1, 1), (1, 1)), True, gy)
    for got, want in zip(ours, ref):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def test_convolution_dispatches_training_to_winograd_and_back():
    x = rng.standard_normal((2, 5, 5, 8))
    w = rng.standard_normal((3, 3, 8, 4))
    y, cache = conv2d_forward(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1))
    assert cache[0] == "winograd"
    gy = rng.standard_normal(y.shape)
    ref = naive_conv_backward(x, w, gy, (1, 1), ((1, 1), (1, 1)))
    for got, want in zip(conv2d_backward(gy, cache)[:2], ref[:2]):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
    strided = conv2d_forward(x, w, None, (2, 2), ((1, 1), (1, 1)), (1, 1))[1]
    assert strided[0] == "im2col"
