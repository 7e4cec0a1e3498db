"""Convolution kernels against the plain nested-loop definition (kernels.conv.naive_conv)."""

import numpy as np
import pytest

from svertka.kernels import jit
from svertka.kernels.conv import (
    col2im,
    conv2d_backward,
    conv2d_forward,
    gemm_backward,
    gemm_forward,
    im2col,
    naive_conv,
    naive_conv_backward,
    plan,
)

rng = np.random.default_rng(0)


GRID = [
    # x shape, w shape, strides, pads, dilation
    ((2, 5, 5, 3), (3, 3, 3, 4), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((1, 7, 6, 2), (3, 3, 2, 2), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    ((1, 8, 7, 2), (2, 3, 2, 3), (3, 2), ((0, 2), (1, 0)), (1, 1)),
    ((2, 7, 7, 1), (3, 3, 1, 2), (1, 2), ((2, 2), (2, 2)), (2, 2)),
    ((1, 6, 9, 2), (3, 2, 2, 1), (2, 1), ((1, 0), (0, 1)), (2, 3)),
    ((2, 4, 5, 3), (1, 1, 3, 4), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((1, 5, 5, 2), (1, 1, 2, 2), (2, 2), ((1, 1), (0, 0)), (1, 1)),
    ((1, 3, 3, 2), (3, 3, 2, 2), (1, 1), ((0, 0), (0, 0)), (1, 1)),  # one output pixel
    ((5, 5, 4, 2), (3, 3, 2, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),  # 5 samples, 3 slices
]


@pytest.mark.parametrize("xs, ws, strides, pads, dilation", GRID)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("threads, engine", [("1", "numpy"), ("3", "numpy"), ("1", "jit"),
                                             ("3", "jit")])
def test_forward_and_backward_match_naive_loops(monkeypatch, split_batches, xs, ws, strides,
                                                pads, dilation, bias, threads, engine):
    split_batches(threads)  # the batch in 1 or up to 3 slices
    if engine == "numpy":  # col2im as per-tap GEMMs; otherwise the compiled scatter
        monkeypatch.setenv("SVERTKA_JIT", "0")
    elif not jit.enabled():
        pytest.skip("Numba is not installed")
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[3]) if bias else None
    y, cache = conv2d_forward(x, w, b, strides, pads, dilation)
    np.testing.assert_allclose(y, naive_conv(x, w, b, strides, pads, dilation), atol=1e-12)
    gy = rng.standard_normal(y.shape)
    gx, gw, gb = conv2d_backward(gy, cache)
    rgx, rgw, rgb = naive_conv_backward(x, w, gy, strides, pads, dilation)
    np.testing.assert_allclose(gx, rgx, atol=1e-12)
    np.testing.assert_allclose(gw, rgw, atol=1e-12)
    if bias:
        np.testing.assert_allclose(gb, rgb, atol=1e-12)
    else:
        assert gb is None


def test_im2col_holds_each_window_and_col2im_is_its_adjoint():
    xpad = rng.standard_normal((2, 7, 8, 3))
    v = im2col(xpad, (2, 3), strides=(2, 1), dilation=(2, 2))
    assert v.shape == (2, 3, 4, 2, 3, 3)  # OH = (7 - 3) // 2 + 1, OW = (8 - 5) // 1 + 1
    np.testing.assert_array_equal(v[1, 1, 2], xpad[1, 2:5:2, 2:7:2])
    g = rng.standard_normal(v.shape)
    np.testing.assert_allclose(
        (v * g).sum(),
        (xpad * col2im(lambda i, j: g[:, :, :, i, j], xpad.shape, (3, 4), (2, 3), (2, 1),
                       (2, 2))).sum(),
        rtol=1e-12,
    )


def test_one_by_one_convolution_is_a_matrix_product_over_channels():
    x, w = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((1, 1, 5, 6))
    y, _ = conv2d_forward(x, w)
    np.testing.assert_allclose(y, x @ w[0, 0], atol=1e-12)


def test_float32_stays_float32():
    x = rng.standard_normal((1, 6, 6, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    b = np.zeros(4, np.float32)
    y, cache = conv2d_forward(x, w, b, (2, 2), ((1, 1), (1, 1)))
    assert y.dtype == np.float32
    assert all(g.dtype == np.float32 for g in conv2d_backward(np.ones_like(y), cache))


def test_unneeded_gradients_are_skipped():
    x, w = rng.standard_normal((1, 4, 4, 1)), rng.standard_normal((3, 3, 1, 1))
    y, cache = conv2d_forward(x, w)
    gx, gw, gb = conv2d_backward(np.ones_like(y), cache, need_gx=False, need_gw=True)
    assert gx is None and gw is not None and gb is None
    gx, gw, _ = conv2d_backward(np.ones_like(y), cache, need_gx=True, need_gw=False)
    assert gx.shape == x.shape and gw is None


def test_pixels_no_window_reaches_get_zero_gradient():
    """7 wide, kernel 3, stride 3: windows cover columns 0..5, column 6 is never seen."""
    x, w = rng.standard_normal((1, 7, 7, 1)), rng.standard_normal((3, 3, 1, 1))
    y, cache = conv2d_forward(x, w, strides=(3, 3))
    assert y.shape == (1, 2, 2, 1)
    gx, _, _ = conv2d_backward(np.ones_like(y), cache)
    assert np.all(gx[:, 6] == 0) and np.all(gx[:, :, 6] == 0)
    assert np.all(gx[:, :6, :6] != 0)


def test_strided_and_flipped_input_views_are_read_correctly():
    """im2col reads the input's own strides, so transposed or reversed views need no copy first."""
    base, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((3, 2, 3, 2))
    for x in (base.transpose(0, 2, 3, 1), base.transpose(0, 2, 3, 1)[:, ::-1, ::2]):
        for pads in (((0, 0), (0, 0)), ((1, 0), (0, 1))):
            y, _ = conv2d_forward(x, w, None, (1, 1), pads)
            np.testing.assert_allclose(y, naive_conv(x, w, None, (1, 1), pads, (1, 1)), atol=1e-12)


@pytest.mark.parametrize("strides, pads, dilation", [((1, 1), ((1, 1), (1, 1)), (1, 1)),
                                                     ((2, 1), ((0, 2), (1, 0)), (1, 2))])
def test_input_gradient_engines_agree_in_float32(monkeypatch, strides, pads, dilation):
    """The compiled scatter (in chunks of images; Winograd for the 3x3, stride-1 case)
    against NumPy's per-tap col2im."""
    if not jit.enabled():
        pytest.skip("Numba is not installed")
    x = rng.standard_normal((9, 24, 22, 40)).astype(np.float32)  # chunks of about 5 images
    w = rng.standard_normal((3, 3, 40, 8)).astype(np.float32)
    y, cache = conv2d_forward(x, w, None, strides, pads, dilation)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx = conv2d_backward(gy, cache)[0]
    monkeypatch.setenv("SVERTKA_JIT", "0")  # the plan, made at forward, picks NumPy's col2im
    _, cache = conv2d_forward(x, w, None, strides, pads, dilation)
    assert cache.method == "im2col-numpy"
    gx_np = conv2d_backward(gy, cache)[0]
    assert gx.dtype == np.float32
    np.testing.assert_allclose(gx, gx_np, rtol=1e-4, atol=1e-4)


def test_the_plan_names_the_implementation_that_runs(monkeypatch):
    x1, x8 = np.zeros((1, 6, 6, 1), np.float32), np.zeros((1, 6, 6, 8), np.float32)
    w1, w8 = np.zeros((3, 3, 1, 4), np.float32), np.zeros((3, 3, 8, 4), np.float32)
    compiled = jit.enabled()
    assert plan(x8, w8) == ("winograd4" if compiled else "im2col-numpy")  # 4x4 output
    assert plan(x8, w8, pads=((1, 0), (0, 0))) == ("winograd" if compiled else "im2col-numpy")
    assert plan(x1, w1) == ("im2col" if compiled else "im2col-numpy")
    assert plan(x8, w8, strides=(2, 2)) == ("im2col" if compiled else "im2col-numpy")
    assert plan(x8, w8.astype(np.float64)) == "im2col-numpy"  # mixed dtypes: NumPy
    assert plan(x8, w8, maxpool=True) == ("winograd-maxpool" if compiled else "unfused")
    assert plan(x1, w1, maxpool=True) == ("direct-maxpool" if compiled else "unfused")
    assert plan(x1, w1, maxpool=True, need_gx=True) == "unfused"
    for xs, ws in ((x1, w1), (x8, w8)):
        y, cache = conv2d_forward(xs, ws, relu=True)
        assert cache.method == plan(xs, ws)


@pytest.mark.parametrize("contiguous", [True, False])
def test_a_pointwise_convolution_multiplies_the_input_itself(contiguous):
    """1x1, stride 1, unpadded: the window matrix is x seen as (N*H*W, C), kept for
    backward without a copy; a non-contiguous x takes the copying path. Same numbers."""
    base = rng.standard_normal((3, 5, 6, 8))
    x = base if contiguous else np.asfortranarray(base)
    w, b = rng.standard_normal((1, 1, 8, 4)), rng.standard_normal(4)
    y, cache = gemm_forward(x, w, b)
    np.testing.assert_allclose(y, naive_conv(base, w, b, (1, 1), ((0, 0), (0, 0))), rtol=1e-12)
    assert np.shares_memory(cache.cols, x) == contiguous
    gy = rng.standard_normal(y.shape)
    for got, want in zip(gemm_backward(gy, cache),
                         naive_conv_backward(base, w, gy, (1, 1), ((0, 0), (0, 0)))):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
