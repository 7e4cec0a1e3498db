"""Batch norm's compiled training passes (kernels.norm_jit) against the NumPy kernels and the
float64 definition (kernels.norm.naive_batch_norm)."""

import numpy as np
import pytest

from svertka.kernels import jit, norm, norm_jit

rng = np.random.default_rng(8)

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="Numba is not installed")

SHAPES = [
    (32, 8, 8, 16),  # 16 channels: rows of 16 pixels, no leftover
    (3, 5, 7, 16),  # 105 pixels: 6 whole rows of 16 and 9 left over
    (4, 3, 3, 1),  # one channel
    (5, 300),  # dense features: more than a block per pixel
    (2, 3, 3, 24),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [(True, True), (False, True), (True, False), (False, False)])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_matches_float64_maths(shape, affine, dtype, tol):
    c = shape[-1]
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    gamma = rng.standard_normal(c).astype(dtype) if affine[0] else None
    beta = rng.standard_normal(c).astype(dtype) if affine[1] else None
    y, mean, var, cache = norm_jit.train_forward(x, gamma, beta, 1e-3)
    gx, ggamma, gbeta = norm_jit.train_backward(gy, cache)
    want = norm.naive_batch_norm(x, gamma, beta, 1e-3, gy)
    for got, expected in zip((y, mean, var, gx, gbeta), want[:4] + want[5:]):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * 10)
    assert (ggamma is None) == (gamma is None)
    if gamma is not None:
        np.testing.assert_allclose(ggamma, want[4], rtol=tol, atol=tol * 10)


def test_a_mean_far_from_zero_loses_no_precision():
    x = 1e4 + rng.standard_normal((8, 6, 6, 16))  # float64: std 1 on a mean of 10,000
    _, mean, var, _ = norm_jit.train_forward(x, None, None, 0.0)
    np.testing.assert_allclose(var, x.var(axis=(0, 1, 2)), rtol=1e-9)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 1, 2)), rtol=1e-12)


@pytest.mark.parametrize("threads", [1, 3])
def test_slices_of_the_batch_agree_with_numpy(monkeypatch, split_batches, threads):
    split_batches(threads)
    x = rng.standard_normal((7, 5, 5, 16)).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    gamma, beta = rng.standard_normal(16).astype(np.float32), np.zeros(16, np.float32)
    compiled = norm.batch_norm_train_forward(x, gamma, beta, 1e-3)
    compiled_grads = norm.batch_norm_train_backward(gy, compiled[3])
    monkeypatch.setenv("SVERTKA_JIT", "0")
    plain = norm.batch_norm_train_forward(x, gamma, beta, 1e-3)
    plain_grads = norm.batch_norm_train_backward(gy, plain[3])
    for got, want in zip(compiled[:3] + compiled_grads, plain[:3] + plain_grads):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_the_kernels_take_only_what_they_can():
    x = np.zeros((2, 3, 3, 4), np.float32)
    assert norm._compiled(x, np.ones(4, np.float32), None)
    assert not norm._compiled(x, np.ones(4, np.float64), None)  # another dtype: NumPy
    assert not norm._compiled(x[:0])  # empty batch: NumPy's own result (NaN statistics)
    assert not norm._compiled(x.astype(np.int32))
