import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import ops
from svertka.kernels import bias_relu

rng = np.random.default_rng(5)


@pytest.mark.parametrize("shape", [(7,), (2, 3, 4, 5)])
def test_gradient_and_pytorch(shape):
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    check_grad(ops.add_relu, a, b)
    compare_torch(ops.add_relu, lambda x, y: (x + y).relu(), a, b)


def test_equals_relu_of_add_compiled_and_numpy_nan_included(monkeypatch):
    a = rng.standard_normal((3, 4, 4, 8)).astype(np.float32)
    b = rng.standard_normal((3, 4, 4, 8)).astype(np.float32)
    a[0, 0, 0, 0] = np.nan
    want = np.maximum(a + b, 0)  # NaN stays NaN, as numpy.maximum keeps it
    np.testing.assert_array_equal(bias_relu.add_relu(a, b), want)
    monkeypatch.setattr(bias_relu, "usable", lambda *arrays: False)
    np.testing.assert_array_equal(bias_relu.add_relu(a, b), want)


def test_broadcasting_falls_back_to_the_two_ops():
    a = svertka.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = svertka.Tensor(rng.standard_normal(3), requires_grad=True)
    y = ops.add_relu(a, b)
    np.testing.assert_allclose(y.numpy(), np.maximum(a.numpy() + b.numpy(), 0))
    y.sum().backward()
    assert b.grad.shape == (3,)
