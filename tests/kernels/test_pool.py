"""Pooling kernels against naive loop references, window by window."""

import numpy as np
import pytest

from svertka.kernels import jit
from svertka.kernels.pool import (
    global_pool2d_backward,
    global_pool2d_forward,
    plan,
    pool2d_backward,
    pool2d_forward,
    pool2d_naive,
    window_counts,
)
from svertka.kernels.shapes import resolve_padding

rng = np.random.default_rng(3)


@pytest.fixture(autouse=True, params=["numpy", "jit"])
def engine(request, monkeypatch, split_batches):
    """Every test runs on the NumPy tap loop and on the compiled loop (where Numba is), the
    compiled one on batches cut into slices for up to 3 threads."""
    split_batches(3)
    if request.param == "numpy":
        monkeypatch.setenv("SVERTKA_JIT", "0")
    elif not jit.enabled():
        pytest.skip("Numba is not installed")
    return request.param


def distinct(*shape):
    """Values at least 0.1 apart in random order: no ties, so max/min are unambiguous."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


CONFIGS = [
    # (input H, W), pool, strides, padding
    ((4, 4), (2, 2), (2, 2), "valid"),  # windows tile the map exactly
    ((5, 7), (2, 2), (2, 2), "valid"),  # remainder pixels never seen
    ((5, 7), (2, 2), (2, 2), "same"),  # odd sizes: extra pad bottom/right
    ((5, 6), (3, 3), (1, 1), "valid"),  # overlapping windows
    ((5, 6), (3, 3), (1, 1), "same"),
    ((6, 5), (3, 2), (2, 1), "same"),  # rectangular window, overlap along one axis
    ((7, 7), (2, 3), (3, 3), "valid"),  # gaps between windows
    ((7, 6), (3, 3), (2, 3), "same"),
    ((5, 5), (3, 3), (2, 2), ((1, 2), (2, 0))),  # explicit asymmetric padding
    ((3, 3), (3, 3), (3, 3), "same"),
]


@pytest.mark.parametrize("mode", ["max", "min", "sum", "avg"])
@pytest.mark.parametrize("size, pool, strides, padding", CONFIGS)
def test_kernel_matches_naive_loops(mode, size, pool, strides, padding):
    x = distinct(2, *size, 3)
    pads = resolve_padding(padding, size, pool, strides)
    y, cache = pool2d_forward(x, pool, strides, pads, mode)
    gy = rng.standard_normal(y.shape)
    y_ref, gx_ref = pool2d_naive(x, pool, strides, pads, mode, gy)
    np.testing.assert_allclose(y, y_ref, atol=1e-12)
    np.testing.assert_allclose(pool2d_backward(gy, cache), gx_ref, atol=1e-12)


@pytest.mark.parametrize("mode", ["max", "min"])
def test_ties_send_gradient_to_first_element_in_row_major_order(mode):
    # every window of the constant map is one big tie; overlapping windows share pixels
    x = np.ones((1, 3, 3, 1))
    y, cache = pool2d_forward(x, (2, 2), (1, 1), ((0, 0), (0, 0)), mode)
    gx = pool2d_backward(np.ones(y.shape), cache)
    np.testing.assert_array_equal(gx[0, :, :, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    y_ref, gx_ref = pool2d_naive(x, (2, 2), (1, 1), ((0, 0), (0, 0)), mode, np.ones(y.shape))
    np.testing.assert_array_equal(gx, gx_ref)


def test_average_excludes_padded_cells_from_the_count():
    counts = window_counts((3, 3), (2, 2), (2, 2), ((0, 1), (0, 1)), (2, 2), np, np.float64)
    np.testing.assert_array_equal(counts[0, :, :, 0], [[4, 2], [2, 1]])
    y, _ = pool2d_forward(np.ones((1, 3, 3, 1)), (2, 2), (2, 2), ((0, 1), (0, 1)), "avg")
    np.testing.assert_array_equal(y, np.ones((1, 2, 2, 1)))


@pytest.mark.parametrize("mode", ["max", "min", "sum", "avg"])
def test_float32_stays_float32_and_input_is_untouched(mode):
    x = distinct(2, 5, 5, 3).astype(np.float32)
    before = x.copy()
    y, cache = pool2d_forward(x, (2, 2), (2, 2), ((0, 1), (0, 1)), mode)
    gx = pool2d_backward(np.ones(y.shape, np.float32), cache)
    assert y.dtype == np.float32 and gx.dtype == np.float32
    np.testing.assert_array_equal(x, before)


def test_integer_maps_pool_without_overflowing_the_padding():
    x = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]]).reshape(1, 3, 3, 1)
    pads = ((0, 1), (0, 1))
    assert pool2d_forward(x, (2, 2), (2, 2), pads, "max")[0][0, :, :, 0].tolist() == [
        [5, 6],
        [8, 9],
    ]
    assert pool2d_forward(x, (2, 2), (2, 2), pads, "min")[0][0, :, :, 0].tolist() == [
        [1, 3],
        [7, 9],
    ]


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_global_pooling_matches_naive_loops(mode):
    x = distinct(2, 3, 4, 5)
    x[1, 2, 3, 0] = x[1, 0, 1, 0] = x[1].max() + 1  # a tie: the first pixel gets the gradient
    y, cache = global_pool2d_forward(x, mode)
    gy = rng.standard_normal(y.shape)
    gx = global_pool2d_backward(gy, cache)
    y_ref, gx_ref = pool2d_naive(x, (3, 4), (1, 1), ((0, 0), (0, 0)), mode, gy[:, None, None, :])
    np.testing.assert_allclose(y, y_ref[:, 0, 0, :], atol=1e-12)
    np.testing.assert_allclose(gx, gx_ref, atol=1e-12)
    if mode == "max":
        assert gx[1, 0, 1, 0] == gy[1, 0] and gx[1, 2, 3, 0] == 0


@pytest.mark.parametrize("mode", ["max", "min"])
def test_the_engine_in_use_is_the_one_asked_for(engine, mode):
    x = distinct(1, 4, 4, 2)
    _, cache = pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)), mode)
    assert cache.path.startswith("compiled") == (engine == "jit")
    assert cache.path == plan(x, (2, 2), (2, 2), ((0, 0), (0, 0)), mode)


@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize("size, pool, strides, padding", CONFIGS)
def test_ties_and_nans_agree_between_engines(mode, size, pool, strides, padding):
    """Few distinct values (many ties) and a NaN: both engines give the same y and gx."""
    x = rng.integers(0, 3, (2, *size, 3)).astype(np.float32)
    x[0, 0, 0, 0] = np.nan
    pads = resolve_padding(padding, size, pool, strides)
    y, cache = pool2d_forward(x, pool, strides, pads, mode)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    gx = pool2d_backward(gy, cache)
    with pytest.MonkeyPatch.context() as m:
        m.setenv("SVERTKA_JIT", "0")
        y_np, cache_np = pool2d_forward(x, pool, strides, pads, mode)
        gx_np = pool2d_backward(gy, cache_np)
    np.testing.assert_array_equal(y, y_np)  # NaN == NaN for assert_array_equal
    # overlapping windows add in another order: float32 rounding apart, no more
    np.testing.assert_allclose(gx, gx_np, rtol=1e-6, atol=1e-7)
    assert ((gx != 0) == (gx_np != 0)).all()


@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize("size, pool, strides, padding", CONFIGS)
def test_inference_forward_gives_the_training_values(engine, mode, size, pool, strides,
                                                     padding):
    """Ties, NaNs (in a window's first cell and in a later one) and infinities: inference
    keeps no winners and gives training's values. Compiled, 2x2 windows at stride 2 run a
    loop without winners; every other geometry runs the NumPy tap loop."""
    x = rng.integers(0, 3, (3, *size, 4)).astype(np.float32)
    x[0, 0, 0, 0] = x[1, 1, 1, 1] = np.nan
    x[2, 0, 1, 2], x[2, 1, 0, 3] = np.inf, -np.inf
    pads = resolve_padding(padding, size, pool, strides)
    y, cache = pool2d_forward(x, pool, strides, pads, mode, for_backward=False)
    np.testing.assert_array_equal(y, pool2d_forward(x, pool, strides, pads, mode)[0])
    compiled = engine == "jit" and pool == strides == (2, 2) and padding == "valid"
    assert (cache.path == "compiled-2x2-inference") == compiled and cache.won is None
