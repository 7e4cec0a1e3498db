"""Keras 3's ``keras.ops`` names that CNN code uses and svertka's ops lacked.

Thin functions over the differentiable ops, with Keras's argument names (``axis``,
``keepdims``, ``dtype``) and defaults (``concatenate`` and ``stack`` join along axis 0,
``argmax`` flattens with ``axis=None``). ``where``, ``clip``, ``maximum``, ``minimum``,
``abs``, ``square``, ``sqrt``, ``min``, ``stack``, ``expand_dims``, ``squeeze`` and a float
``cast`` pass gradients; ``argmax``, ``argmin``, ``equal``, ``not_equal``, ``one_hot`` and
casts to integers give Tensors without one. Ties of ``maximum``/``minimum`` send the whole
gradient to the first argument (PyTorch splits it in halves).

>>> import numpy as np, svertka
>>> one_hot(np.array([0, 2]), 3).numpy().tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
>>> x = svertka.Tensor([-2.0, 0.5], requires_grad=True)
>>> square(clip(x, -1.0, 1.0)).sum().backward(); x.grad.tolist()
[0.0, 1.0]
"""

from __future__ import annotations

import numpy as np

from svertka.autograd import Function, Tensor, as_tensor, unbroadcast
from svertka.ops._inputs import float_input, float_inputs
from svertka.ops.basic import Reshape, concat, div, max, mul, neg, power, sub


class Where(Function):
    """``y = a`` where ``keep``, else ``b`` (NumPy broadcasting); each gradient goes back
    to the input that was chosen."""

    def __init__(self, keep):
        self.keep = keep

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return np.where(self.keep, a, b)

    def backward(self, gy):
        keep = np.broadcast_to(self.keep, gy.shape)
        ga = unbroadcast(np.where(keep, gy, 0), self.shapes[0])
        gb = unbroadcast(np.where(keep, 0, gy), self.shapes[1])
        return ga, gb


class Cast(Function):
    """``x`` in another float dtype; the gradient comes back in the input's dtype."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return (gy.astype(self.in_dtype),)


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _pair(op: str, x1, x2) -> tuple[Tensor, Tensor]:
    x1, x2 = float_inputs(op, x1=x1, x2=x2)
    like = next((t for t in (x1, x2) if isinstance(t, Tensor)), None)
    return as_tensor(x1, like), as_tensor(x2, like)


def convert_to_tensor(x, dtype=None, sparse=None) -> Tensor:
    """``x`` as a Tensor (a Tensor is returned as it is, or cast to ``dtype``)."""
    if isinstance(x, Tensor):
        return x if dtype is None else cast(x, dtype)
    return Tensor(np.asarray(x, dtype=dtype) if dtype is not None else x)


def convert_to_numpy(x) -> np.ndarray:
    """``x`` as a NumPy array (from the GPU too)."""
    data = _data(x)
    return data.get() if hasattr(data, "get") else np.asarray(data)


def shape(x) -> tuple:
    return tuple(_data(x).shape) if not hasattr(x, "shape") else tuple(x.shape)


def cast(x, dtype) -> Tensor:
    """``x`` in ``dtype``: differentiable between float dtypes, a plain Tensor otherwise."""
    dtype = np.dtype(dtype)
    if isinstance(x, Tensor) and x.dtype.kind == "f" and dtype.kind == "f":
        return Cast(dtype)(x)
    return Tensor(_data(x).astype(dtype))


def where(condition, x1, x2) -> Tensor:
    """``x1`` where ``condition`` holds, else ``x2`` (all three broadcast)."""
    if x1 is None or x2 is None:
        raise ValueError("where: arguments 'x1' and 'x2' must both be given; the indices form "
                         "where(condition) is not supported, use numpy.nonzero")
    a, b = _pair("where", x1, x2)
    return Where(_data(condition).astype(bool))(a, b)


def maximum(x1, x2) -> Tensor:
    a, b = _pair("maximum", x1, x2)
    return Where(a.data >= b.data)(a, b)


def minimum(x1, x2) -> Tensor:
    a, b = _pair("minimum", x1, x2)
    return Where(a.data <= b.data)(a, b)


def clip(x, x_min, x_max) -> Tensor:
    """``x`` limited to ``[x_min, x_max]``; the gradient passes where x is inside (bounds
    included, as PyTorch's ``clamp``)."""
    return minimum(maximum(x, x_min), x_max)


def abs(x) -> Tensor:  # noqa: A001 - Keras's name
    """``|x|``; the gradient is ``sign(x)`` (0 at 0, as PyTorch)."""
    x = float_input("abs", x)
    return mul(x, Tensor(np.sign(x.data)))


absolute = abs


def square(x) -> Tensor:
    x = float_input("square", x)
    return mul(x, x)


def sqrt(x) -> Tensor:
    return power(float_input("sqrt", x), 0.5)


def min(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - Keras's name
    return neg(max(neg(x), axis, keepdims))


def _axes(op: str, axis, ndim: int) -> tuple:
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: argument 'axis' must be in [{-ndim}, {ndim}), "
                             f"received {axis}")
    return tuple(a % ndim for a in axes)


def expand_dims(x, axis) -> Tensor:
    x = as_tensor(x)
    axes = _axes("expand_dims", axis, x.ndim + (1 if isinstance(axis, int) else len(axis)))
    return Reshape(np.expand_dims(np.empty(x.shape, np.int8), axes).shape)(x)


def squeeze(x, axis=None) -> Tensor:
    x = as_tensor(x)
    if axis is not None:
        axes = _axes("squeeze", axis, x.ndim)
        if any(x.shape[a] != 1 for a in axes):
            raise ValueError(f"squeeze: argument 'axis' must name axes of size 1, received "
                             f"axis={axis} for shape {x.shape}")
    else:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    return Reshape(tuple(d for i, d in enumerate(x.shape) if i not in axes))(x)


def concatenate(xs, axis: int = 0) -> Tensor:
    """Join along ``axis`` (Keras's default 0; svertka's ``concat`` defaults to channels)."""
    return concat(list(xs), axis)


def stack(x, axis: int = 0) -> Tensor:
    """Join along a new ``axis``."""
    xs = [as_tensor(t) for t in x]
    if not xs:
        raise ValueError("stack: argument 'x' must hold at least one tensor, received none")
    if len({t.shape for t in xs}) != 1:
        raise ValueError(f"stack: the tensors must have one shape, received "
                         f"{[t.shape for t in xs]}")
    return concat([expand_dims(t, axis) for t in xs], axis)


def argmax(x, axis=None, keepdims: bool = False) -> Tensor:
    """Index of the largest value (over the flattened ``x`` with ``axis=None``), int32."""
    return Tensor(np.argmax(_data(x), axis=axis, keepdims=keepdims).astype(np.int32))


def argmin(x, axis=None, keepdims: bool = False) -> Tensor:
    return Tensor(np.argmin(_data(x), axis=axis, keepdims=keepdims).astype(np.int32))


def equal(x1, x2) -> Tensor:
    """Element-wise ``x1 == x2`` as a boolean Tensor (no gradient)."""
    return Tensor(np.equal(_data(x1), _data(x2)))


def not_equal(x1, x2) -> Tensor:
    return Tensor(np.not_equal(_data(x1), _data(x2)))


def one_hot(x, num_classes: int, axis: int = -1, dtype=None) -> Tensor:
    """Integer labels ``x`` as one-hot vectors along a new ``axis`` (float32 by default);
    labels outside ``[0, num_classes)`` give all zeros, as in Keras."""
    labels = _data(x)
    if labels.dtype.kind not in "iu" and not (labels.dtype.kind == "f"
                                              and np.all(labels == np.round(labels))):
        raise TypeError(f"one_hot: argument 'x' must hold integer labels, received dtype "
                        f"{labels.dtype}")
    labels = labels.astype(np.int64)
    y = (labels[..., None] == np.arange(num_classes)).astype(np.dtype(dtype or "float32"))
    return Tensor(np.moveaxis(y, -1, axis) if axis != -1 else y)


subtract, multiply, divide, negative = sub, mul, div, neg


def _creation(op: str, shape, dtype) -> tuple[tuple, np.dtype]:
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in dims):
        raise ValueError(f"ops.{op}: argument 'shape' must be a non-negative int or a tuple of "
                         f"them, received {shape!r}")
    return tuple(int(d) for d in dims), np.dtype("float32" if dtype is None else dtype)


def zeros(shape, dtype=None) -> Tensor:
    """A Tensor of zeros (Keras's default dtype float32).

    >>> zeros((2, 3)).shape, zeros(2, dtype="int32").numpy().tolist()
    ((2, 3), [0, 0])
    """
    shape, dtype = _creation("zeros", shape, dtype)
    return Tensor(np.zeros(shape, dtype))


def ones(shape, dtype=None) -> Tensor:
    """A Tensor of ones (Keras's default dtype float32)."""
    shape, dtype = _creation("ones", shape, dtype)
    return Tensor(np.ones(shape, dtype))


def full(shape, fill_value, dtype=None) -> Tensor:
    """A Tensor of ``shape`` filled with ``fill_value``."""
    shape, dtype = _creation("full", shape, dtype)
    return Tensor(np.full(shape, fill_value, dtype))


def zeros_like(x, dtype=None) -> Tensor:
    data = _data(x)
    return Tensor(np.zeros(data.shape, dtype or data.dtype))


def ones_like(x, dtype=None) -> Tensor:
    data = _data(x)
    return Tensor(np.ones(data.shape, dtype or data.dtype))


def eye(N, M=None, k: int = 0, dtype=None) -> Tensor:  # noqa: N803 - Keras's names
    return Tensor(np.eye(N, M, k, dtype=np.dtype("float32" if dtype is None else dtype)))


def arange(start, stop=None, step=1, dtype=None) -> Tensor:
    """NumPy's ``arange``; ints give int32 (Keras's default), floats float32."""
    values = np.arange(start, stop, step)
    if dtype is None:
        dtype = "int32" if values.dtype.kind in "iu" else "float32"
    return Tensor(values.astype(dtype))


__all__ = [
    "arange", "eye", "full", "ones", "ones_like", "zeros", "zeros_like",
    "abs", "absolute", "argmax", "argmin", "cast", "clip", "concatenate", "convert_to_numpy",
    "convert_to_tensor", "divide", "equal", "expand_dims", "maximum", "min", "minimum",
    "multiply", "negative", "not_equal", "one_hot", "shape", "sqrt", "square", "squeeze",
    "stack", "subtract", "where",
]
