"""Per-channel sums as BLAS products, against NumPy's reductions."""

import numpy as np
import pytest

from svertka.kernels.sums import channel_mean, channel_sum

rng = np.random.default_rng(11)


@pytest.mark.parametrize("shape", [(7, 3), (2, 5, 4, 6), (1, 1, 1, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_sum_and_mean_match_numpy(shape, dtype):
    a = rng.standard_normal(shape).astype(dtype)
    axes = tuple(range(a.ndim - 1))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    s = channel_sum(a)
    assert s.dtype == dtype and s.shape == (shape[-1],)
    np.testing.assert_allclose(s, a.astype(np.float64).sum(axis=axes), rtol=tol, atol=tol)
    np.testing.assert_allclose(channel_mean(a), a.astype(np.float64).mean(axis=axes),
                               rtol=tol, atol=tol)


def test_integers_are_summed_exactly():
    a = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(channel_sum(a), a.sum(axis=(0, 1)))


def test_a_non_contiguous_view_is_summed_too():
    a = rng.standard_normal((4, 6, 5))[:, ::2]
    np.testing.assert_allclose(channel_sum(a), a.sum(axis=(0, 1)), rtol=1e-12)
