import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import ops

rng = np.random.default_rng(1)


def r(*shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize(
    "fn, shapes",
    [
        (ops.add, [(3, 4), (4,)]),
        (ops.sub, [(2, 1, 4), (3, 1)]),
        (ops.mul, [(3, 4), (3, 1)]),
        (lambda a, b: ops.div(a, b + 3.0), [(3, 4), (1, 4)]),
        (ops.matmul, [(3, 5), (5, 2)]),
        (ops.dense, [(4, 3), (3, 2), (2,)]),
        (lambda x: ops.reshape(x, (6, 2)), [(3, 4)]),
        (ops.flatten, [(2, 3, 2, 2)]),
        (lambda x: ops.transpose(x, (0, 3, 1, 2)), [(2, 3, 2, 2)]),
        (lambda a, b: ops.concat([a, b], axis=-1), [(2, 3), (2, 4)]),
        (lambda x: ops.sum(x, axis=1), [(3, 4, 2)]),
        (lambda x: ops.mean(x, axis=(0, 2), keepdims=True), [(3, 4, 2)]),
        (lambda x: ops.max(x, axis=-1), [(3, 5)]),
        (ops.max, [(3, 5)]),
        (lambda x: ops.power(x * x + 1.0, 1.5), [(3, 2)]),
        (lambda x: ops.log(ops.exp(x) + 1.0), [(4,)]),
        (lambda x: x[1:, ::2], [(3, 4)]),
        (ops.neg, [(2,)]),
    ],
)
def test_gradients(fn, shapes):
    check_grad(fn, *[r(*s) for s in shapes])


def test_operators_match_torch():
    compare_torch(lambda a, b: (a * b - a / (b * b + 1)) @ b.T + 2 * a.sum(),
                  lambda a, b: (a * b - a / (b * b + 1)) @ b.T + 2 * a.sum(),
                  r(3, 4), r(3, 4))


def test_reused_node_accumulates_gradient():
    x = svertka.Tensor(np.array([2.0, 3.0]), requires_grad=True)
    y = x * x + x  # x is used three times
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 1)


def test_leaf_gradients_accumulate_across_backward_calls():
    x = svertka.Tensor(np.ones(2), requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 6.0])


def test_no_grad_records_nothing():
    x = svertka.Tensor(np.ones(2), requires_grad=True)
    with svertka.no_grad():
        y = x * 2
    assert not y.requires_grad and y.creator is None


def test_default_dtype_is_float32_and_float64_is_kept():
    assert svertka.Tensor([1, 2]).dtype == np.float32
    assert (svertka.Tensor(np.ones(2)) * 2).dtype == np.float64
    assert (svertka.Tensor([1.0]) * 2).dtype == np.float32


def test_deep_graph_does_not_hit_recursion_limit():
    x = svertka.Tensor(np.ones(1), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.sum().backward()
    assert x.grad[0] == 1.0


def test_backward_of_non_scalar_needs_grad():
    x = svertka.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="backward: argument 'grad'"):
        (x * 2).backward()


def test_dense_rejects_mismatched_weight():
    with pytest.raises(ValueError, match="dense: argument 'w'"):
        ops.dense(svertka.Tensor(np.ones((2, 3))), svertka.Tensor(np.ones((4, 2))))


def test_leaf_ready_fires_once_each_leaf_gradient_is_final():
    # w feeds two products (its gradient final after the earlier one of the pass), b one;
    # at each call the gradient must already be whole: compared with a plain backward
    w = svertka.Tensor(np.array([2.0]), requires_grad=True)
    b = svertka.Tensor(np.array([3.0]), requires_grad=True)
    x = svertka.Tensor(np.array([5.0]))
    seen = []

    def ready(t):
        seen.append((t is w and "w" or t is b and "b" or "?", t.grad.copy()))

    ops.sum((w * x + b) * w).backward(leaf_ready=ready)
    assert [name for name, _ in seen] == ["b", "w"]  # b's last use comes first backwards
    assert seen[0][1].tolist() == [2.0] and seen[1][1].tolist() == [23.0]  # 2wx + b
    assert w.grad.tolist() == [23.0]
