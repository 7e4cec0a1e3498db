"""Batched matmul: NumPy's rules, gradients summed over broadcast batch axes."""

import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import ops

rng = np.random.default_rng(3)

SHAPES = [  # (a, b): plain, batched, a shared matrix on either side, both broadcast
    ((3, 4), (4, 2)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 2, 4), (2, 1, 4, 3)),
]


@pytest.mark.parametrize("sa, sb", SHAPES)
def test_gradient_of_both_inputs(sa, sb):
    check_grad(ops.matmul, rng.standard_normal(sa), rng.standard_normal(sb))


@pytest.mark.parametrize("sa, sb", SHAPES)
def test_forward_and_gradients_match_torch(sa, sb):
    torch = pytest.importorskip("torch")
    compare_torch(ops.matmul, torch.matmul, rng.standard_normal(sa), rng.standard_normal(sb),
                  atol=1e-10)


def test_operator_and_float32_are_kept():
    a = svertka.Tensor(rng.standard_normal((2, 3, 4)).astype(np.float32), requires_grad=True)
    b = svertka.Tensor(rng.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    y = a @ b
    assert y.dtype == np.float32 and y.shape == (2, 3, 5)
    np.testing.assert_allclose(y.numpy(), a.numpy() @ b.numpy(), rtol=1e-6)
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad, a.numpy().sum(axis=(0, 1))[:, None].repeat(5, 1),
                               rtol=1e-5)


@pytest.mark.parametrize(
    "sa, sb, message",
    [
        ((3,), (3, 2), "1-D operands are not supported"),
        ((2, 3), (4,), "1-D operands are not supported"),
        ((2, 3), (4, 2), r"a.shape\[-1\] must equal b.shape\[-2\]"),
        ((4, 2, 3), (5, 3, 2), r"batch axes of a \(4,\) and b \(5,\) do not broadcast"),
    ],
)
def test_shape_errors_name_the_shapes(sa, sb, message):
    with pytest.raises(ValueError, match=f"matmul: .*{message}"):
        ops.matmul(np.ones(sa), np.ones(sb))
