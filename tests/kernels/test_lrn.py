"""The LRN kernels against their definitions: the channel window and the forward pass."""

import numpy as np
import pytest

from svertka.kernels.lrn import (
    channel_window_sum,
    lrn_backward,
    lrn_forward,
    naive_local_response_norm,
    window_bounds,
)

rng = np.random.default_rng(21)


@pytest.mark.parametrize("size, bounds", [(1, (0, 0)), (2, (1, 0)), (3, (1, 1)), (4, (2, 1)),
                                          (5, (2, 2))])
def test_window_bounds_are_torch_padding(size, bounds):
    assert window_bounds(size) == bounds  # torch pads size // 2 before, (size - 1) // 2 after


@pytest.mark.parametrize("before, after", [(0, 0), (1, 0), (0, 2), (2, 2), (3, 1), (9, 7)])
@pytest.mark.parametrize("c", [1, 2, 5])
def test_channel_window_sum_is_a_zero_padded_window(before, after, c):
    a = rng.standard_normal((3, 2, c))
    s = channel_window_sum(a, before, after)
    want = np.stack([a[..., max(0, i - before): i + after + 1].sum(axis=-1) for i in range(c)],
                    axis=-1)
    np.testing.assert_allclose(s, want, rtol=1e-12, atol=1e-12)
    assert s is not a


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 11])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 3, 7), (2, 5, 16)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_is_the_definition(size, shape, dtype):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    y, cache = lrn_forward(x, size, 0.5, 0.75, 1.5)
    assert y.dtype == dtype and cache.d.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(y, naive_local_response_norm(x, size, 0.5, 0.75, 1.5),
                               rtol=tol, atol=tol)


def test_backward_leaves_its_inputs_alone_and_keeps_the_dtype():
    x = rng.standard_normal((2, 4, 4, 6)).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    saved = x.copy(), gy.copy()
    _, cache = lrn_forward(x, 4, 1e-2, 0.75, 2.0)
    gx = lrn_backward(gy, cache)
    assert gx.dtype == np.float32 and gx.shape == x.shape
    np.testing.assert_array_equal(x, saved[0])
    np.testing.assert_array_equal(gy, saved[1])
