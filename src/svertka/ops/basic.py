"""Arithmetic, matrix products, shape changes and reductions.

Each operation is a ``Function`` whose ``forward`` and ``backward`` sit side by side; the
public function below it is what users call. Broadcasting is undone in backward with
``unbroadcast``. Arithmetic, products and exp/log compute in floating point (integer inputs
are cast to float32, see ``svertka.ops._inputs``); shape changes and reductions keep any
dtype.
"""

from __future__ import annotations

import builtins
import math

from svertka.autograd import Function, Tensor, unbroadcast
from svertka.backend import get_array_module
from svertka.kernels.bias_relu import add_relu as add_relu_forward
from svertka.kernels.bias_relu import relu_gate
from svertka.kernels.dense import dense_backward, dense_forward
from svertka.ops._inputs import float_inputs


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(gy, self.shapes[1])


class AddRelu(Function):
    """``relu(a + b)`` for a and b of one shape; both get the gated gradient."""

    def forward(self, a, b):
        self.y = add_relu_forward(a, b)
        return self.y

    def backward(self, gy):
        g = relu_gate(gy, self.y)
        return g, g


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(-gy, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        return unbroadcast(gy * self.b, self.a.shape), unbroadcast(gy * self.a, self.b.shape)


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        ga = gy / self.b
        return unbroadcast(ga, self.a.shape), unbroadcast(-ga * self.a / self.b, self.b.shape)


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return (-gy,)


class Power(Function):
    """``x ** p`` for a constant exponent ``p``."""

    def __init__(self, p: float):
        self.p = p

    def forward(self, x):
        self.x = x
        return x**self.p

    def backward(self, gy):
        return (gy * self.p * self.x ** (self.p - 1),)


class Exp(Function):
    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, gy):
        return (gy * self.y,)


class Log(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, gy):
        return (gy / self.x,)


class MatMul(Function):
    """``a @ b`` with NumPy's rules: a (..., N, K), b (..., K, M) -> (..., N, M), the leading
    batch axes broadcast.

    ga = gy @ b^T and gb = a^T @ gy (^T swaps the last two axes), each summed back over the
    batch axes its operand was broadcast along. The plain 2-D product keeps its two GEMMs; a
    2-D ``b`` shared by a batch gets its gradient from one GEMM over the stacked rows.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        if a.ndim == 2 and b.ndim == 2:
            return gy @ b.T, a.T @ gy
        ga = unbroadcast(gy @ b.swapaxes(-1, -2), a.shape)
        if b.ndim == 2:  # a's batch is gy's: (B*N, K)^T @ (B*N, M) sums it inside one GEMM
            gb = a.reshape(-1, a.shape[-1]).T @ gy.reshape(-1, gy.shape[-1])
        else:
            gb = unbroadcast(a.swapaxes(-1, -2) @ gy, b.shape)
        return ga, gb


class Dense(Function):
    """``y = x @ w + b``: x (N, K), w (K, M), b (M,) — one GEMM, bias fused."""

    def forward(self, x, w, b=None):
        self.x, self.w, self.has_b = x, w, b is not None
        return dense_forward(x, w, b)

    def backward(self, gy):
        gx, gw, gb = dense_backward(gy, self.x, self.w, self.has_b)
        return (gx, gw, gb) if self.has_b else (gx, gw)


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return (gy.reshape(self.in_shape),)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return (gy.transpose(),)
        xp = get_array_module(gy)
        return (gy.transpose(tuple(xp.argsort(xp.asarray(self.axes)).tolist())),)


class GetItem(Function):
    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.in_shape, self.dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.in_shape, self.dtype)
        xp.add.at(gx, self.index, gy)
        return (gx,)


class Concat(Function):
    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        cuts = list(xp.cumsum(xp.asarray(self.sizes[:-1])).tolist()) if len(self.sizes) > 1 else []
        return tuple(xp.split(gy, cuts, axis=self.axis))


class Sum(Function):
    def __init__(self, axis, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.in_shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        xp = get_array_module(gy)
        return (xp.broadcast_to(_keep_reduced(gy, self.in_shape, self.axis, self.keepdims),
                                self.in_shape).copy(),)


class Mean(Sum):
    def forward(self, x):
        y = super().forward(x)
        self.count = x.size // builtins.max(y.size, 1)
        return y / self.count if self.count else y

    def backward(self, gy):
        return (super().backward(gy)[0] / self.count,)


class Max(Function):
    """Maximum over axes; tied maxima share the gradient equally."""

    def __init__(self, axis, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x = x
        self.y = x.max(axis=self.axis, keepdims=True)
        return self.y if self.keepdims else get_array_module(x).squeeze(self.y, axis=self.axis)

    def backward(self, gy):
        mask = self.x == self.y
        gy = _keep_reduced(gy, self.x.shape, self.axis, self.keepdims)
        return (mask * (gy / mask.sum(axis=self.axis, keepdims=True)),)


def _keep_reduced(gy, in_shape, axis, keepdims):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    if keepdims or axis is None and gy.ndim == len(in_shape):
        return gy
    axes = range(len(in_shape)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    shape = list(in_shape)
    for a in axes:
        shape[a % len(in_shape)] = 1
    return gy.reshape(shape)


def add(a, b) -> Tensor:
    """Element-wise ``a + b`` with broadcasting."""
    a, b = float_inputs("add", a=a, b=b)
    return Add()(a, b)


def add_relu(a, b) -> Tensor:
    """``relu(a + b)`` in one op: the same values and gradients as ``relu(add(a, b))``, with
    one array and one pass fewer (ResNet's ``relu(x + F(x))``). Without broadcasting: a and b
    of one shape (and dtype), else it runs the two ops.

    >>> import svertka
    >>> add_relu(svertka.Tensor([1.0, -3.0]), svertka.Tensor([1.0, 2.0])).numpy().tolist()
    [2.0, 0.0]
    """
    a, b = float_inputs("add_relu", a=a, b=b)
    if a.shape != b.shape or a.dtype != b.dtype:
        from svertka.ops.activations import relu

        return relu(Add()(a, b))
    return AddRelu()(a, b)


def sub(a, b) -> Tensor:
    """Element-wise ``a - b`` with broadcasting."""
    a, b = float_inputs("sub", a=a, b=b)
    return Sub()(a, b)


def mul(a, b) -> Tensor:
    """Element-wise ``a * b`` with broadcasting."""
    a, b = float_inputs("mul", a=a, b=b)
    return Mul()(a, b)


def div(a, b) -> Tensor:
    """Element-wise ``a / b`` with broadcasting."""
    a, b = float_inputs("div", a=a, b=b)
    return Div()(a, b)


def neg(x) -> Tensor:
    (x,) = float_inputs("neg", x=x)
    return Neg()(x)


def power(x, p: float) -> Tensor:
    """``x ** p`` for a constant exponent."""
    (x,) = float_inputs("power", x=x)
    return Power(p)(x)


def exp(x) -> Tensor:
    (x,) = float_inputs("exp", x=x)
    return Exp()(x)


def log(x) -> Tensor:
    (x,) = float_inputs("log", x=x)
    return Log()(x)


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy's ``matmul`` rules for operands of rank >= 2.

    a (..., N, K) @ b (..., K, M) -> (..., N, M): the last two axes multiply, the leading
    (batch) axes broadcast, so one (K, M) matrix can multiply a whole batch. 1-D operands
    (NumPy's vector cases) are not supported: reshape a vector to (1, K) or (K, 1).

    >>> import numpy as np, svertka
    >>> matmul(svertka.Tensor(np.eye(2)), svertka.Tensor(np.ones((2, 3)))).shape
    (2, 3)
    >>> matmul(svertka.Tensor(np.ones((4, 1, 2, 3))), svertka.Tensor(np.ones((5, 3, 6)))).shape
    (4, 5, 2, 6)
    """
    a, b = float_inputs("matmul", a=a, b=b)
    a_, b_ = (tuple(t.shape) if hasattr(t, "shape") else () for t in (a, b))
    if len(a_) < 2 or len(b_) < 2:
        raise ValueError(f"matmul: arguments must have rank >= 2 (..., N, K) and (..., K, M); "
                         f"1-D operands are not supported (reshape a vector to (1, K) or "
                         f"(K, 1)), received shapes {a_} and {b_}")
    if a_[-1] != b_[-2]:
        raise ValueError(f"matmul: a.shape[-1] must equal b.shape[-2], received shapes "
                         f"{a_} and {b_}")
    if any(i != j and 1 not in (i, j) for i, j in zip(a_[-3::-1], b_[-3::-1])):
        raise ValueError(f"matmul: the batch axes of a {a_[:-2]} and b {b_[:-2]} do not "
                         f"broadcast, received shapes {a_} and {b_}")
    return MatMul()(a, b)


def dense(x, w, b=None) -> Tensor:
    """A fully connected layer: ``x @ w + b`` with x (N, K), w (K, M), b (M,).

    >>> import numpy as np, svertka
    >>> dense(svertka.Tensor(np.ones((4, 3))), svertka.Tensor(np.ones((3, 2)))).shape
    (4, 2)
    """
    x, w, b = float_inputs("dense", x=x, w=w, b=b)
    if x.ndim != 2:
        raise ValueError(f"dense: argument 'x' must be 2-D (N, features), received shape {x.shape}")
    if w.ndim != 2 or w.shape[0] != x.shape[1]:
        raise ValueError(f"dense: argument 'w' must have shape ({x.shape[1]}, units) to match "
                         f"x of shape {x.shape}, received {w.shape}")
    if b is not None and tuple(b.shape) != (w.shape[1],):
        raise ValueError(f"dense: argument 'b' must have shape ({w.shape[1]},), "
                         f"received {b.shape}")
    return Dense()(x, w) if b is None else Dense()(x, w, b)


def reshape(x, shape) -> Tensor:
    return Reshape(tuple(shape) if not isinstance(shape, int) else (shape,))(x)


def flatten(x) -> Tensor:
    """Keep the batch axis, stretch the rest: (N, H, W, C) -> (N, H*W*C), also for N = 0."""
    return Reshape((x.shape[0], math.prod(x.shape[1:])))(x)


def transpose(x, axes=None) -> Tensor:
    return Transpose(tuple(axes) if axes is not None else None)(x)


def getitem(x, index) -> Tensor:
    return GetItem(index)(x)


def concat(tensors, axis: int = -1) -> Tensor:
    """Join tensors along ``axis`` (channels, by default)."""
    if len(tensors) == 0:
        raise ValueError("concat: argument 'tensors' must hold at least one tensor, received none")
    return Concat(axis)(*tensors)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - mirrors numpy
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    return Mean(axis, keepdims)(x)


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - mirrors numpy
    return Max(axis, keepdims)(x)
