"""Fused 3x3 convolution + bias + ReLU + 2x2 max pooling (kernels.conv with ``maxpool``:
kernels.conv_pool's direct loop, Winograd's pooled output transform) against the layers' maths
in float64 by their definitions (kernels.conv.naive_conv, kernels.pool.pool2d_naive):
inference, and training's forward with winners and its filter and bias gradients."""

import numpy as np
import pytest
from helpers import naive_conv_relu

import svertka
from svertka.kernels import conv_pool, direct_jit, jit, winograd
from svertka.kernels.conv import (
    NO_PADS,
    conv2d_backward,
    conv2d_forward,
    gemm_backward,
    gemm_forward,
    naive_conv_backward,
    plan,
)
from svertka.kernels.pool import pool2d_backward, pool2d_forward, pool2d_naive
from svertka.ops.conv_pool import conv2d_maxpool as conv2d_maxpool_op
from svertka.ops.conv_pool import fuses

rng = np.random.default_rng(5)

compiled = pytest.mark.skipif(not jit.enabled(), reason="Numba is not installed")


def conv2d_maxpool(x, w, b=None, pads=NO_PADS, relu=False):
    """The fused inference pass the plan chooses."""
    return conv2d_forward(x, w, b, pads=pads, relu=relu, for_backward=False, maxpool=True)[0]


def train_forward(x, w, b=None, pads=NO_PADS, relu=False):
    """The fused training pass the plan chooses when the input needs no gradient."""
    return conv2d_forward(x, w, b, pads=pads, relu=relu, maxpool=True)


def reference(x, w, b, pads, relu):
    """The layers' maths in float64 by their definitions: ``helpers.naive_conv_relu``, then
    each 2x2 window's maximum by kernels.pool.pool2d_naive (a NaN wins its window); an odd
    last row or column is dropped, as by a 'valid' 2x2 pooling."""
    return pool2d_naive(naive_conv_relu(x, w, b, pads, relu), (2, 2), (2, 2), NO_PADS, "max")[0]


def im2col_reference(x, w, b, pads, relu):
    """The float32 tests' reference at sizes where the loops above would take seconds: the same
    maths by im2col + GEMM in float64 (checked against naive_conv in tests/kernels/test_conv.py),
    then each 2x2 window's maximum (NumPy's max propagates NaN)."""
    f64 = [None if a is None else a.astype(np.float64) for a in (x, w, b)]
    y = gemm_forward(*f64, (1, 1), pads, (1, 1), relu, for_backward=False)[0]
    n, oh, ow, c = y.shape
    ph, pw = oh // 2, ow // 2
    return y[:, : 2 * ph, : 2 * pw].reshape(n, ph, 2, pw, 2, c).max(axis=(2, 4))


CASES = [
    # x shape (N, H, W, C), pads, C_out: one channel ('same', the notes' first layer), RGB,
    # odd outputs whose last row/column the pooling drops, uneven padding, no padding
    ((3, 8, 8, 1), ((1, 1), (1, 1)), 6),
    ((2, 9, 7, 3), ((1, 1), (1, 1)), 5),
    ((2, 7, 10, 5), ((0, 2), (1, 0)), 4),
    ((1, 6, 6, 2), ((0, 0), (0, 0)), 3),
    ((2, 8, 9, 8), ((1, 1), (1, 1)), 7),  # 8 channels: Winograd
    ((3, 7, 7, 12), ((0, 1), (2, 0)), 5),
]


@compiled
@pytest.mark.parametrize("shape, pads, c_out", CASES)
@pytest.mark.parametrize("bias, relu", [(True, True), (True, False), (False, True)])
def test_fused_matches_the_layers_in_float64(shape, pads, c_out, bias, relu):
    x, w = rng.standard_normal(shape), rng.standard_normal((3, 3, shape[3], c_out))
    b = rng.standard_normal(c_out) if bias else None
    y = conv2d_maxpool(x, w, b, pads, relu)
    want = reference(x, w, b, pads, relu)
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


@compiled
@pytest.mark.parametrize("channels", [1, 3, 16])
def test_float32_stays_within_float32_rounding_of_float64(channels):
    x = rng.random((5, 12, 12, channels)).astype(np.float32)
    w = (rng.standard_normal((3, 3, channels, 32)) * 0.3).astype(np.float32)
    b = (rng.standard_normal(32) * 0.1).astype(np.float32)
    y = conv2d_maxpool(x, w, b, ((1, 1), (1, 1)), relu=True)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, im2col_reference(x, w, b, ((1, 1), (1, 1)), True), rtol=1e-5,
                               atol=1e-5)


@compiled
@pytest.mark.parametrize("channels", [2, 8])
def test_a_nan_wins_its_window_and_only_its_window(channels):
    x, w = rng.standard_normal((1, 8, 8, channels)), rng.standard_normal((3, 3, channels, 3))
    x[0, 0, 0, 0] = np.nan  # reaches the conv outputs (0..1, 0..1): pooled cell (0, 0) only
    y = conv2d_maxpool(x, w, None, ((1, 1), (1, 1)), relu=True)
    assert np.isnan(y[0, 0, 0]).all()
    assert not np.isnan(y[0, 1:]).any() and not np.isnan(y[0, :, 1:]).any()
    np.testing.assert_array_equal(np.isnan(y), np.isnan(reference(x, w, None, ((1, 1), (1, 1)),
                                                                    True)))


def test_without_compiled_kernels_the_layers_run_one_after_the_other(monkeypatch):
    monkeypatch.setenv("SVERTKA_JIT", "0")
    x, w = rng.standard_normal((2, 7, 8, 3)), rng.standard_normal((3, 3, 3, 4))
    b = rng.standard_normal(4)
    assert plan(x, w, maxpool=True) == "unfused"
    y = conv2d_maxpool_op(*(svertka.Tensor(a) for a in (x, w, b)), ((1, 1), (1, 1)), "relu")
    np.testing.assert_allclose(y.numpy(), reference(x, w, b, ((1, 1), (1, 1)), True),
                               rtol=1e-12)


@compiled
def test_each_channel_count_goes_to_its_kernel(monkeypatch):
    calls = []
    real_direct, real_winograd = conv_pool.conv3x3_maxpool, winograd.forward
    monkeypatch.setattr(conv_pool, "conv3x3_maxpool",
                        lambda *a: calls.append("direct") or real_direct(*a))
    monkeypatch.setattr(winograd, "forward",
                        lambda *a, **k: calls.append("winograd") or real_winograd(*a, **k))
    for c in (1, 8):
        x, w = rng.standard_normal((2, 6, 6, c)), rng.standard_normal((3, 3, c, 2))
        conv2d_maxpool(x, w, None, ((1, 1), (1, 1)), True)
    assert calls == ["direct", "winograd"]


@compiled
@pytest.mark.parametrize("threads", [1, 3])
def test_slices_and_passes_give_the_same_values(monkeypatch, split_batches, threads):
    split_batches(threads)
    monkeypatch.setattr(winograd, "INFERENCE_TILES_PER_CHUNK", 10)  # 3x3 tiles: 1 per pass
    for c in (2, 8):
        x, w = rng.standard_normal((7, 6, 7, c)), rng.standard_normal((3, 3, c, 4))
        b = rng.standard_normal(4)
        np.testing.assert_allclose(conv2d_maxpool(x, w, b, ((1, 1), (1, 1)), True),
                                   reference(x, w, b, ((1, 1), (1, 1)), True), rtol=1e-12,
                                   atol=1e-12)


@compiled
def test_direct_loop_on_an_empty_batch_and_too_small_maps():
    w, b = rng.standard_normal((3, 3, 2, 3)), np.zeros(3)
    empty = np.empty((0, 2, 2, 3))
    direct_jit.conv3x3_maxpool(np.zeros((0, 6, 6, 2)), w, b, True, empty,
                               np.empty((0, 0, 0, 0), np.int32))
    assert conv2d_maxpool(rng.standard_normal((2, 3, 3, 2)), w).shape == (2, 0, 0, 3)


# -- training: winners recorded, and the gradients they route ----------------------------------

def reference_gradients(x, w, b, pads, relu, gp):
    """(gx, gw, gb) of the unfused layers in float64 by their definitions: the naive pooling's
    backward (ties to the first cell), ReLU's gate (``y > 0``: not at 0, not through NaN),
    then the naive convolution's backward."""
    y = naive_conv_relu(x, w, b, pads, relu)
    _, gy = pool2d_naive(y, (2, 2), (2, 2), NO_PADS, "max", gp.astype(np.float64))
    if relu:
        gy = gy * (y > 0)
    return naive_conv_backward(x.astype(np.float64), w.astype(np.float64), gy, (1, 1), pads)


def im2col_reference_gradients(x, w, b, pads, relu, gp):
    """:func:`reference_gradients` for the float32 tests' sizes: im2col convolution (+ ReLU),
    the pooling kernel's backward (ties to the first cell), then the convolution's backward,
    in float64 (each checked against its naive loops in tests/kernels)."""
    f64 = [None if a is None else a.astype(np.float64) for a in (x, w, b)]
    y, cache = gemm_forward(*f64, (1, 1), pads, (1, 1), relu, for_backward=True)
    n, oh, ow, c = y.shape
    cropped = np.ascontiguousarray(y[:, : 2 * (oh // 2), : 2 * (ow // 2)])
    _, pool_cache = pool2d_forward(cropped, (2, 2), (2, 2), NO_PADS, "max", for_backward=True)
    gy = np.zeros_like(y)
    gy[:, : cropped.shape[1], : cropped.shape[2]] = pool2d_backward(gp.astype(np.float64),
                                                                    pool_cache)
    return gemm_backward(gy, cache)


def check_training(x, w, b, pads, relu, gp=None, rtol=1e-10):
    """The fused training forward and conv2d_backward against the float64 layers; returns
    the cache."""
    y, cache = train_forward(x, w, b, pads, relu)
    np.testing.assert_allclose(y, reference(x, w, b, pads, relu), rtol=rtol, atol=rtol)
    gp = rng.standard_normal(y.shape) if gp is None else gp
    need_gx = cache.method == "winograd-maxpool"  # the direct loop gives no input gradient
    assert need_gx == (x.shape[3] >= 8)
    gx, gw, gb = conv2d_backward(gp, cache, need_gx=need_gx)
    want_gx, want_gw, want_gb = reference_gradients(x, w, b, pads, relu, gp)
    np.testing.assert_allclose(gw, want_gw, rtol=rtol, atol=rtol)
    if need_gx:
        np.testing.assert_allclose(gx, want_gx, rtol=rtol, atol=rtol)
    else:
        assert gx is None
    if b is not None:
        np.testing.assert_allclose(gb, want_gb, rtol=rtol, atol=rtol)
    else:
        assert gb is None
    return cache


@compiled
@pytest.mark.parametrize("shape, pads, c_out", CASES)
@pytest.mark.parametrize("bias, relu", [(True, True), (True, False), (False, True)])
def test_training_forward_and_gradients_match_the_layers_in_float64(shape, pads, c_out, bias,
                                                                     relu):
    x, w = rng.standard_normal(shape), rng.standard_normal((3, 3, shape[3], c_out))
    check_training(x, w, rng.standard_normal(c_out) if bias else None, pads, relu)


@compiled
@pytest.mark.parametrize("channels", [1, 16])
def test_float32_training_gradients_stay_within_float32_rounding(channels):
    x = rng.random((6, 14, 14, channels)).astype(np.float32)
    w = (rng.standard_normal((3, 3, channels, 16)) * 0.3).astype(np.float32)
    b = (rng.standard_normal(16) * 0.1).astype(np.float32)
    y, cache = train_forward(x, w, b, ((1, 1), (1, 1)), relu=True)
    gp = rng.standard_normal(y.shape).astype(np.float32)
    gx, gw, gb = conv2d_backward(gp, cache, need_gx=channels >= 8)
    assert y.dtype == gw.dtype == gb.dtype == np.float32
    want_gx, want_gw, want_gb = im2col_reference_gradients(x, w, b, ((1, 1), (1, 1)), True,
                                                           gp)
    for got, want in ((gw, want_gw), (gb, want_gb)) + (((gx, want_gx),) if channels >= 8 else ()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


@compiled
@pytest.mark.parametrize("channels", [1, 8])
@pytest.mark.parametrize("relu", [True, False])
def test_ties_send_the_gradient_to_the_first_cell_and_relu_stops_it_at_zero(channels, relu):
    # a constant input: all four cells of an inner window are equal
    x = np.ones((1, 6, 6, channels))
    w = rng.standard_normal((3, 3, channels, 3))
    for b in (np.full(3, -500.0), np.full(3, 500.0)):  # every output negative, then positive
        won = check_training(x, w, b, ((1, 1), (1, 1)), relu, rtol=1e-9).won
        if relu and b[0] < 0:
            assert (won == 4).all()
        else:
            assert (won[0, 1, 1] == 0).all()  # the inner window: a four-way tie


@compiled
@pytest.mark.parametrize("channels", [2, 8])
def test_a_nan_window_wins_its_pool_and_its_gradients_are_those_of_the_layers(channels):
    x, w = rng.standard_normal((1, 8, 8, channels)), rng.standard_normal((3, 3, channels, 3))
    x[0, 0, 0, 0] = np.nan  # reaches the conv outputs (0..1, 0..1): pooled cell (0, 0) only
    y, cache = train_forward(x, w, None, ((1, 1), (1, 1)), relu=True)
    assert np.isnan(y[0, 0, 0]).all() and (cache.won[0, 0, 0] == 4).all()
    gp = rng.standard_normal(y.shape)
    _, gw, _ = conv2d_backward(gp, cache, need_gx=False)
    # NaN * 0 is NaN, in the fused loops as in the unfused GEMM: the filter taps that saw
    # the NaN pixel get NaN. Winograd's transformed filter gradient then mixes the taps (as
    # the unfused Winograd convolution does): more of them are NaN, the rest are equal.
    _, want, _ = reference_gradients(x, w, None, ((1, 1), (1, 1)), True, gp)
    assert np.isnan(gw).any() and np.isfinite(gw).any()
    assert np.isnan(gw[np.isnan(want)]).all()
    finite = np.isfinite(gw)
    np.testing.assert_allclose(gw[finite], want[finite], rtol=1e-10, atol=1e-10)
    if channels < 8:
        np.testing.assert_array_equal(finite, np.isfinite(want))


@compiled
@pytest.mark.parametrize("threads", [1, 3])
def test_training_slices_and_passes_give_the_same_values(monkeypatch, split_batches, threads):
    split_batches(threads)
    monkeypatch.setattr(winograd, "TILES_PER_CHUNK", 10)  # 3x3 pooled tiles: 1 image a pass
    for c in (2, 8):
        x, w = rng.standard_normal((7, 6, 7, c)), rng.standard_normal((3, 3, c, 4))
        check_training(x, w, rng.standard_normal(4), ((1, 1), (1, 1)), True)


@compiled
@pytest.mark.parametrize("channels", [2, 8])
def test_training_on_an_empty_batch_gives_zero_gradients(channels):
    w, b = rng.standard_normal((3, 3, channels, 3)), rng.standard_normal(3)
    y, cache = train_forward(np.zeros((0, 6, 6, channels)), w, b, ((1, 1), (1, 1)), True)
    assert y.shape == (0, 3, 3, 3)
    _, gw, gb = conv2d_backward(np.zeros(y.shape), cache, need_gx=False)
    assert gw.shape == w.shape and not gw.any() and gb.shape == (3,) and not gb.any()


def test_training_fuses_3x3_filters_of_one_float_dtype_with_numba(monkeypatch):
    w1, w8 = np.zeros((3, 3, 1, 4), np.float32), np.zeros((3, 3, 8, 4), np.float32)
    x1, x8 = np.zeros((1, 6, 6, 1), np.float32), np.zeros((1, 6, 6, 8), np.float32)
    assert fuses(x1, w1) == fuses(x8, w8) == jit.enabled()
    assert fuses(x8, w8, need_gx=True) == jit.enabled()
    assert not fuses(x1, w1, need_gx=True)  # the direct loop has no gx
    assert not fuses(x1, w1.astype(np.float64))
    assert not fuses(x1, np.zeros((5, 5, 1, 4), np.float32))
    monkeypatch.setenv("SVERTKA_JIT", "0")
    assert not fuses(x1, w1)
    assert not fuses(x8, w8)
