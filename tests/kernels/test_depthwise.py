"""Depthwise and grouped kernels: the NumPy definition against the six-loop convolution of
``kernels.conv``, and the compiled path against the NumPy one."""

import numpy as np
import pytest

from svertka.kernels import depthwise as kd
from svertka.kernels import jit
from svertka.kernels.conv import naive_conv, naive_conv_backward

rng = np.random.default_rng(7)
compiled = pytest.mark.skipif(not jit.enabled(), reason="compiled kernels are off (no Numba, "
                                                        "or SVERTKA_JIT=0)")

# x shape, (KH, KW), depth multiplier, strides, dilation, pads ((top, bottom), (left, right))
CASES = [
    ((2, 5, 5, 3), (3, 3), 1, (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((2, 6, 7, 4), (3, 3), 1, (1, 1), (1, 1), ((1, 1), (1, 1))),
    ((1, 7, 6, 2), (3, 3), 2, (2, 2), (1, 1), ((0, 1), (1, 1))),
    ((3, 8, 7, 3), (3, 2), 3, (2, 1), (2, 1), ((2, 2), (0, 1))),
    ((1, 6, 6, 5), (1, 1), 2, (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((2, 7, 7, 1), (5, 5), 1, (3, 3), (1, 1), ((2, 2), (2, 2))),
    ((1, 5, 6, 2), (2, 3), 1, (1, 2), (2, 2), ((1, 2), (3, 0))),  # padding wider than used
    ((1, 4, 4, 2), (3, 3), 1, (1, 1), (1, 1), ((3, 3), (3, 3))),  # windows wholly in padding
]


def naive_depthwise(x, w, b, strides, pads, dilation):
    """Channel c of x through ``naive_conv`` with its own M filters, side by side."""
    c = x.shape[3]
    ys = [naive_conv(x[..., k : k + 1], w[:, :, k : k + 1], None, strides, pads, dilation)
          for k in range(c)]
    y = np.concatenate(ys, axis=3)
    return y if b is None else y + b


def arrays(x_shape, kernel, m, dtype=np.float64, bias=True):
    c = x_shape[3]
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((*kernel, c, m)).astype(dtype)
    b = rng.standard_normal(c * m).astype(dtype) if bias else None
    return x, w, b


@pytest.mark.parametrize("x_shape, kernel, m, strides, dilation, pads", CASES)
def test_numpy_definition_equals_naive_conv_per_channel(x_shape, kernel, m, strides, dilation,
                                                        pads):
    x, w, b = arrays(x_shape, kernel, m)
    y = kd.numpy_forward(x, w, b, strides, pads, dilation)
    np.testing.assert_allclose(y, naive_depthwise(x, w, b, strides, pads, dilation), atol=1e-12)
    gy = rng.standard_normal(y.shape)
    gx, gw = kd.numpy_backward(gy, x, w, strides, pads, dilation)
    gy5 = gy.reshape(*y.shape[:3], x.shape[3], m)
    for c in range(x.shape[3]):  # each channel is a one-channel convolution of its own
        ngx, ngw, _ = naive_conv_backward(x[..., c : c + 1], w[:, :, c : c + 1], gy5[..., c, :],
                                          strides, pads, dilation)
        np.testing.assert_allclose(gx[..., c : c + 1], ngx, atol=1e-12)
        np.testing.assert_allclose(gw[:, :, c : c + 1], ngw, atol=1e-12)


@compiled
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape, kernel, m, strides, dilation, pads", CASES)
def test_compiled_equals_numpy(x_shape, kernel, m, strides, dilation, pads, bias, dtype, tol):
    x, w, b = arrays(x_shape, kernel, m, dtype, bias)
    assert kd.plan(x, w.reshape(*kernel, 1, -1), groups=x.shape[3]) == "depthwise"
    y, cache = kd.depthwise_forward(x, w, b, strides, pads, dilation)
    assert cache.method == "depthwise" and y.dtype == dtype
    ref = kd.numpy_forward(x, w, b, strides, pads, dilation)
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx, gw, gb = kd.depthwise_backward(gy, cache)
    rgx, rgw = kd.numpy_backward(gy, x, w, strides, pads, dilation)
    assert gx.dtype == gw.dtype == dtype
    np.testing.assert_allclose(gx, rgx, rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, rgw, rtol=tol, atol=tol * 10)
    if bias:
        np.testing.assert_allclose(gb, gy.sum(axis=(0, 1, 2)), rtol=tol, atol=tol * 10)
    else:
        assert gb is None


@pytest.mark.parametrize("threads", [2, 3])
def test_slices_of_the_batch_add_up(split_batches, threads):
    split_batches(threads)
    x, w, b = arrays((5, 6, 6, 4), (3, 3), 2)
    y, cache = kd.depthwise_forward(x, w, b, (1, 1), ((1, 1), (1, 1)))
    gy = rng.standard_normal(y.shape)
    gx, gw, _ = kd.depthwise_backward(gy, cache)
    rgx, rgw = kd.numpy_backward(gy, x, w, (1, 1), ((1, 1), (1, 1)))
    np.testing.assert_allclose(y, kd.numpy_forward(x, w, b, pads=((1, 1), (1, 1))), atol=1e-12)
    np.testing.assert_allclose(gx, rgx, atol=1e-12)
    np.testing.assert_allclose(gw, rgw, atol=1e-11)


def test_plan_names_the_numpy_path_without_the_compiled_kernels(monkeypatch):
    x, w, b = arrays((1, 5, 5, 3), (3, 3), 1)
    monkeypatch.setenv("SVERTKA_JIT", "0")
    y, cache = kd.depthwise_forward(x, w, b, pads=((1, 1), (1, 1)))
    assert cache.method == "depthwise-numpy"
    np.testing.assert_allclose(y, naive_depthwise(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1)),
                               atol=1e-12)


def test_mixed_dtypes_take_the_numpy_path():
    x, w, _ = arrays((1, 5, 5, 3), (3, 3), 1, np.float32)
    assert kd.plan(x, w.astype(np.float64).reshape(3, 3, 1, 3), groups=3) == "depthwise-numpy"
    y, cache = kd.depthwise_forward(x, w, None)
    gy = rng.standard_normal(y.shape)  # a float64 gradient of float32 activations
    gx, gw, _ = kd.depthwise_backward(gy, cache)
    rgx, rgw = kd.numpy_backward(gy, x.astype(np.float64), w.astype(np.float64))
    np.testing.assert_allclose(gx, rgx, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gw, rgw, rtol=1e-6, atol=1e-5)


def test_gradients_nobody_asked_for_are_none():
    x, w, b = arrays((1, 5, 5, 2), (3, 3), 1)
    for method in ("depthwise", "depthwise-numpy")[not jit.enabled():]:
        y, cache = kd.depthwise_forward(x, w, b, method=method)
        gx, gw, gb = kd.depthwise_backward(np.ones_like(y), cache, need_gx=False, need_gw=False)
        assert gx is None and gw is None and gb.shape == (2,)
    assert kd.depthwise_forward(x, w, b, for_backward=False)[1] is None


@pytest.mark.parametrize("groups, c, c_out", [(2, 4, 6), (3, 6, 3), (4, 4, 8), (4, 4, 4)])
def test_grouped_is_each_group_convolved_alone(groups, c, c_out):
    x = rng.standard_normal((2, 6, 5, c))
    w = rng.standard_normal((3, 3, c // groups, c_out))
    b = rng.standard_normal(c_out)
    strides, pads, dilation = (2, 1), ((1, 1), (0, 2)), (1, 2)
    y, cache = kd.grouped_forward(x, w, b, groups, strides, pads, dilation)
    assert cache.method == ("per-group" if groups < c else kd.plan(x, w, groups))
    assert cache.method.startswith("per-group" if groups < c else "depthwise")
    cg, og = c // groups, c_out // groups
    gy = rng.standard_normal(y.shape)
    gx, gw, gb = kd.grouped_backward(gy, cache)
    assert gx.shape == x.shape and gw.shape == w.shape
    for g in range(groups):
        xs, os = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
        np.testing.assert_allclose(
            y[..., os], naive_conv(x[..., xs], w[..., os], b[os], strides, pads, dilation),
            atol=1e-12)
        ngx, ngw, ngb = naive_conv_backward(x[..., xs], w[..., os], gy[..., os], strides, pads,
                                            dilation)
        np.testing.assert_allclose(gx[..., xs], ngx, atol=1e-12)
        np.testing.assert_allclose(gw[..., os], ngw, atol=1e-12)
        np.testing.assert_allclose(gb[os], ngb, atol=1e-12)
