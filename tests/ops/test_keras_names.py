import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import ops

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
POS = rng.uniform(0.5, 2.0, (3, 4))


def test_existing_ops_are_not_duplicated():
    for name in ("mean", "sum", "max", "exp", "log", "reshape", "transpose", "matmul",
                 "softmax", "relu", "sigmoid"):
        assert getattr(ops, name).__module__ != "svertka.ops.keras_names"


@pytest.mark.parametrize("name, fn, ref, args", [
    ("square", ops.square, np.square, (A,)),
    ("sqrt", ops.sqrt, np.sqrt, (POS,)),
    ("abs", ops.abs, np.abs, (A,)),
    ("absolute", ops.absolute, np.abs, (A,)),
    ("maximum", ops.maximum, np.maximum, (A, B)),
    ("minimum", ops.minimum, np.minimum, (A, B)),
    ("where", lambda a, b: ops.where(A > 0, a, b), lambda a, b: np.where(A > 0, a, b), (A, B)),
    ("clip", lambda a: ops.clip(a, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7), (A,)),
    ("min", lambda a: ops.min(a, axis=1, keepdims=True),
     lambda a: np.min(a, axis=1, keepdims=True), (A,)),
    ("min_all", ops.min, np.min, (A,)),
    ("stack", lambda a, b: ops.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1), (A, B)),
    ("concatenate", lambda a, b: ops.concatenate([a, b]),
     lambda a, b: np.concatenate([a, b]), (A, B)),
    ("expand_dims", lambda a: ops.expand_dims(a, -1), lambda a: np.expand_dims(a, -1), (A,)),
    ("squeeze", lambda a: ops.squeeze(ops.reshape(a, (3, 1, 4))), lambda a: a, (A,)),
    ("cast", lambda a: ops.cast(a, "float32"), lambda a: a.astype(np.float32), (A,)),
])
def test_differentiable_ops_match_numpy_and_have_float64_gradients(name, fn, ref, args):
    y = fn(*(svertka.Tensor(a) for a in args))
    np.testing.assert_allclose(y.numpy(), ref(*args), rtol=1e-6)
    if name != "cast":
        assert y.dtype == np.float64
        check_grad(fn, *(a.copy() for a in args))


def test_cast_keeps_the_gradient_in_the_input_dtype():
    x = svertka.Tensor(A, requires_grad=True)
    y = ops.cast(x, "float32")
    assert y.dtype == np.float32
    ops.sum(y * 2.0).backward()
    assert x.grad.dtype == np.float64 and np.allclose(x.grad, 2.0)
    assert ops.cast(svertka.Tensor(A), "int32").dtype == np.int32
    assert not ops.cast(x, "int32").requires_grad


@pytest.mark.parametrize("ours, theirs, args", [
    (ops.abs, "abs", (A,)),
    (ops.sqrt, "sqrt", (POS,)),
    (ops.square, "square", (A,)),
    (ops.maximum, "maximum", (A, B)),
    (ops.minimum, "minimum", (A, B)),
    (lambda a: ops.clip(a, -0.5, 0.7), lambda t: __import__("torch").clamp(t, -0.5, 0.7), (A,)),
    (lambda a, b: ops.where(A > 0, a, b),
     lambda a, b: __import__("torch").where(__import__("torch").tensor(A > 0), a, b), (A, B)),
    (lambda a, b: ops.stack([a, b], -1),
     lambda a, b: __import__("torch").stack([a, b], -1), (A, B)),
])
def test_forward_and_gradients_match_pytorch(ours, theirs, args):
    torch = pytest.importorskip("torch")
    compare_torch(ours, getattr(torch, theirs) if isinstance(theirs, str) else theirs,
                  *(a.copy() for a in args))


def test_where_and_maximum_broadcast_scalars_and_shapes():
    x = svertka.Tensor(A, requires_grad=True)
    y = ops.maximum(x, 0.0)
    np.testing.assert_allclose(y.numpy(), np.maximum(A, 0))
    check_grad(lambda a, b: ops.where(np.array([True, False, True, False]), a, b),
               A.copy(), rng.standard_normal((1, 4)))
    with pytest.raises(ValueError, match="where: arguments 'x1' and 'x2'"):
        ops.where(A > 0, None, None)


def test_non_differentiable_ops_match_numpy():
    labels = np.array([2, 0, 1, 5])
    onehot = ops.one_hot(labels, 3)
    assert onehot.dtype == np.float32 and not onehot.requires_grad
    np.testing.assert_array_equal(onehot.numpy(), [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert ops.one_hot(labels, 3, axis=0).shape == (3, 4)
    assert ops.one_hot(np.array([1.0]), 2, dtype="int32").numpy().tolist() == [[0, 1]]
    with pytest.raises(TypeError, match="one_hot: argument 'x' must hold integer labels"):
        ops.one_hot(np.array([0.5]), 2)
    assert ops.argmax(A).numpy() == np.argmax(A)  # Keras's default axis=None flattens
    np.testing.assert_array_equal(ops.argmax(svertka.Tensor(A), axis=-1).numpy(),
                                  np.argmax(A, -1))
    assert ops.argmax(A, axis=1, keepdims=True).shape == (3, 1)
    np.testing.assert_array_equal(ops.argmin(A, axis=0).numpy(), np.argmin(A, 0))
    eq = ops.equal(np.array([1, 2, 3]), svertka.Tensor(np.array([1, 0, 3])))
    assert eq.dtype == np.bool_ and eq.numpy().tolist() == [True, False, True]
    assert ops.not_equal(np.array([1, 2]), 2).numpy().tolist() == [True, False]
    accuracy = ops.mean(ops.cast(ops.equal(ops.argmax(A, axis=1), [0, 1, 2]), "float32"))
    assert accuracy.item() == pytest.approx(np.mean(np.argmax(A, 1) == [0, 1, 2]))


def test_conversions_and_shapes():
    t = ops.convert_to_tensor([[1, 2]], dtype="float64")
    assert isinstance(t, svertka.Tensor) and t.dtype == np.float64
    x = svertka.Tensor(A)
    assert ops.convert_to_tensor(x) is x
    assert isinstance(ops.convert_to_numpy(x), np.ndarray)
    np.testing.assert_array_equal(ops.convert_to_numpy(x), A)
    assert ops.shape(x) == (3, 4) and ops.shape(np.zeros((2, 5))) == (2, 5)
    assert ops.expand_dims(x, 0).shape == (1, 3, 4)
    assert ops.expand_dims(x, (0, 3)).shape == (1, 3, 4, 1)
    assert ops.squeeze(ops.reshape(x, (1, 3, 1, 4)), axis=0).shape == (3, 1, 4)
    with pytest.raises(ValueError, match="squeeze: argument 'axis' must name axes of size 1"):
        ops.squeeze(x, axis=0)
    with pytest.raises(ValueError, match="expand_dims: argument 'axis'"):
        ops.expand_dims(x, 5)
    with pytest.raises(ValueError, match="stack: the tensors must have one shape"):
        ops.stack([A, A[:, :2]])
    assert ops.subtract is ops.sub and ops.multiply is ops.mul and ops.divide is ops.div


def test_keras_guide_custom_loss_trains_through_these_ops():
    # the guides' pattern: ops.mean(ops.square(y_true - y_pred), axis=-1), clipped
    y_true = rng.standard_normal((4, 3))
    check_grad(lambda p: ops.mean(ops.clip(ops.square(y_true - p), 0.0, 1.5), axis=-1),
               rng.standard_normal((4, 3)))
