"""Bias + ReLU after a GEMM, and ReLU's gate: compiled and NumPy versions agree."""

import numpy as np
import pytest

from svertka.kernels import jit
from svertka.kernels.bias_relu import bias_relu, relu, relu_gate

rng = np.random.default_rng(5)


@pytest.fixture(params=["numpy", "jit"])
def engine(request, monkeypatch):
    if request.param == "numpy":
        monkeypatch.setenv("SVERTKA_JIT", "0")
    elif not jit.enabled():
        pytest.skip("Numba is not installed")
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_bias, relu", [(True, True), (True, False), (False, True)])
def test_bias_then_relu_in_place(engine, dtype, with_bias, relu):
    y = rng.standard_normal((37, 5)).astype(dtype)
    y[3, 2] = np.nan
    b = rng.standard_normal(5).astype(dtype) if with_bias else None
    expected = y + (0 if b is None else b)
    if relu:
        expected = np.maximum(expected, 0)  # keeps the NaN
    out = bias_relu(y, b, relu)
    assert out is y
    np.testing.assert_array_equal(y, expected)


def test_nothing_to_do_and_empty_arrays_are_left_alone(engine):
    y = rng.standard_normal((4, 3))
    before = y.copy()
    assert bias_relu(y) is y
    np.testing.assert_array_equal(y, before)
    empty = np.zeros((0, 3), np.float32)
    assert bias_relu(empty, np.ones(3, np.float32), relu=True).shape == (0, 3)


def test_a_bias_of_another_dtype_still_adds(engine):
    y = np.array([[-1.0, 1.0]], np.float32)
    bias_relu(y, np.array([0.5, 0.5]), relu=True)  # float64 bias: the NumPy path
    np.testing.assert_array_equal(y, np.array([[0.0, 1.5]], np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_gate_passes_gradient_only_where_output_is_positive(engine, dtype):
    y = np.maximum(rng.standard_normal((6, 4, 3)), 0).astype(dtype)
    y[0, 0, 0] = np.nan
    gy = rng.standard_normal(y.shape).astype(dtype)
    g = relu_gate(gy, y)
    np.testing.assert_array_equal(g, np.where(y > 0, gy, 0))
    assert g.dtype == dtype and g[0, 0, 0] == 0


def test_relu_gate_reads_strided_views(engine):
    y = np.maximum(rng.standard_normal((6, 8)), 0)[:, ::2]
    gy = rng.standard_normal((6, 8))[:, 1::2]
    np.testing.assert_array_equal(relu_gate(gy, y), gy * (y > 0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5, 4, 16), (7,), (0, 3)])
def test_relu_is_numpy_maximum_with_nan_kept_and_input_untouched(engine, dtype, shape):
    x = rng.standard_normal(shape).astype(dtype)
    if x.size:
        x.reshape(-1)[1] = np.nan
        x.reshape(-1)[2] = -np.inf
    before = x.copy()
    y = relu(x)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, np.maximum(before, 0))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(relu(x[..., ::2]), np.maximum(before[..., ::2], 0))
