"""The dense kernels against float64 matrix products, on 1 and several threads."""

import numpy as np
import pytest

from svertka.kernels.dense import dense_backward, dense_forward

rng = np.random.default_rng(11)


@pytest.mark.parametrize("threads", ["1", "2", "3"])
@pytest.mark.parametrize("n", [1, 9, 17, 40])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_and_gradients_match_the_definition(split_batches, threads, n, bias):
    split_batches(threads)
    x, w = rng.standard_normal((n, 13)), rng.standard_normal((13, 6))
    b = rng.standard_normal(6) if bias else None
    np.testing.assert_allclose(
        dense_forward(x, w, b), x @ w + (0 if b is None else b), rtol=1e-12, atol=1e-12
    )
    gy = rng.standard_normal((n, 6))
    gx, gw, gb = dense_backward(gy, x, w, has_bias=bias)
    np.testing.assert_allclose(gx, gy @ w.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, x.T @ gy, rtol=1e-12, atol=1e-12)
    if bias:
        np.testing.assert_allclose(gb, gy.sum(axis=0), rtol=1e-12, atol=1e-12)
    else:
        assert gb is None


def test_float32_stays_float32():
    x, w = np.ones((20, 4), np.float32), np.ones((4, 3), np.float32)
    y = dense_forward(x, w, np.zeros(3, np.float32))
    gx, gw, gb = dense_backward(np.ones_like(y), x, w)
    assert {a.dtype for a in (y, gx, gw, gb)} == {np.dtype(np.float32)}
