import math

import numpy as np
import pytest

from svertka.kernels import activations as ka

# Cody's interval boundaries (0.46875, 4) and their neighbours, tails, and a dense grid.
EDGES = [0.0, 1e-300, 1e-20, 0.46875, np.nextafter(0.46875, 1), 4.0, np.nextafter(4.0, 5)]
GRID = np.concatenate([np.linspace(-27, 27, 20001), EDGES, np.negative(EDGES)])


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_erf_erfc_match_math_to_float64_precision(name):
    ours = getattr(ka, name)(GRID)
    ref = np.array([getattr(math, name)(v) for v in GRID])
    normal = np.abs(ref) > 1e-300  # below: denormal results, meaningless in relative terms
    rel = np.abs(ours[normal] - ref[normal]) / np.abs(ref[normal])
    assert rel.max() < 5e-15
    np.testing.assert_allclose(ours[~normal], ref[~normal], atol=1e-300)


def test_erf_is_odd_and_saturates_without_floating_point_errors():
    x = np.array([-1e300, -1000.0, -30.0, 30.0, 1000.0, 1e300, np.inf, -np.inf])
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(ka.erf(x), [-1, -1, -1, 1, 1, 1, 1, -1])
        np.testing.assert_array_equal(ka.erfc(x), [2, 2, 2, 0, 0, 0, 0, 2])
    np.testing.assert_array_equal(ka.erf(-GRID), -ka.erf(GRID))


def test_erf_float32_stays_float32_and_is_accurate():
    x = GRID.astype(np.float32)
    with np.errstate(all="raise"):
        e, c = ka.erf(x), ka.erfc(x)
    assert e.dtype == np.float32 and c.dtype == np.float32
    xd = x.astype(np.float64)
    np.testing.assert_allclose(e, [math.erf(v) for v in xd], rtol=1e-6, atol=1e-7)
    ref = np.array([math.erfc(v) for v in xd])
    keep = ref > 1e-37  # float32's normal range
    np.testing.assert_allclose(c[keep], ref[keep], rtol=2e-6)


def test_relu_backward_writes_a_fresh_array_and_leaves_gy_alone():
    x = np.array([-1.0, 0.0, 2.0], np.float32)
    gy = np.array([5.0, 6.0, 7.0], np.float32)
    gx = ka.relu_backward(gy, x, ka.relu_forward(x))
    np.testing.assert_array_equal(gx, [0, 0, 7])
    np.testing.assert_array_equal(gy, [5, 6, 7])
    assert gx.dtype == np.float32 and not np.shares_memory(gx, gy)


def test_sigmoid_is_accurate_in_relative_terms_on_the_negative_side():
    x = np.array([-700.0, -100.0, -30.0, -5.0, 0.0, 5.0, 30.0])
    ref = np.array([1 / (1 + math.exp(-v)) for v in x])
    np.testing.assert_allclose(ka.sigmoid_forward(x), ref, rtol=1e-14)
    x32 = np.array([-80.0, -30.0, -5.0], np.float32)
    ref32 = np.array([1 / (1 + math.exp(-float(v))) for v in x32])
    np.testing.assert_allclose(ka.sigmoid_forward(x32), ref32, rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.3, 1.0, 1.5, -0.2])
def test_leaky_relu_forward_for_slopes_on_both_sides_of_one(alpha):
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(ka.leaky_relu_forward(x, alpha), np.where(x > 0, x, alpha * x))


def test_prelu_backward_returns_alpha_gradient_at_x_shape():
    x = np.array([[-1.0, 2.0], [-3.0, 4.0]])
    gx, galpha = ka.prelu_backward(np.ones_like(x), x, np.array([0.5, 0.25]))
    np.testing.assert_array_equal(gx, [[0.5, 1.0], [0.5, 1.0]])
    np.testing.assert_array_equal(galpha, [[-1.0, 0.0], [-3.0, 0.0]])
