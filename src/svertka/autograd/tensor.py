"""``Tensor``: an array, its gradient, and the Function that created it.

>>> import svertka
>>> x = svertka.Tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad.tolist()
[2.0, 4.0, 6.0]
"""

from __future__ import annotations

import numpy as np

from svertka import backend
from svertka.autograd.function import run_backward

DEFAULT_DTYPE = np.float32


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    ``data`` is a NumPy (or CuPy) array. Python numbers and lists become float32; arrays keep
    their dtype, so float64 inputs stay float64 (gradient checks rely on that).
    """

    __array_priority__ = 100  # make ``ndarray + Tensor`` call Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        if isinstance(data, np.generic):
            data = backend.asarray(data)
        elif not hasattr(data, "shape"):
            data = backend.asarray(data, dtype=DEFAULT_DTYPE)
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.creator = None
        self.name = name
        self.retains_grad = False

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.data!r}{grad})"

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (copied from the GPU where needed)."""
        return backend.to_numpy(self.data)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """``np.asarray(tensor)``: the data at once (without it NumPy walked the tensor
        element by element into an object array), as Keras's tensors convert.

        >>> import numpy as np
        >>> np.asarray(Tensor([[1.0, 2.0]]), dtype=np.float64).dtype
        dtype('float64')
        """
        data = backend.to_numpy(self.data)
        if dtype is not None and data.dtype != dtype:
            return data.astype(dtype)
        return data.copy() if copy else data

    def item(self):
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this intermediate tensor after ``backward``."""
        self.retains_grad = True

    def zero_grad(self) -> None:
        self.grad = None

    def backward(self, grad=None, leaf_ready=None) -> None:
        """Gradients of this tensor with respect to every leaf that requires one;
        ``leaf_ready(leaf)`` is called as each leaf's gradient becomes final (see
        ``run_backward``)."""
        if grad is not None:
            grad = grad.data if isinstance(grad, Tensor) else backend.asarray(grad, self.dtype)
        run_backward(self, grad, leaf_ready)

    # Operators delegate to svertka.ops, where each Function lives.
    def __add__(self, other):
        from svertka.ops import add
        return add(self, other)

    def __radd__(self, other):
        from svertka.ops import add
        return add(other, self)

    def __sub__(self, other):
        from svertka.ops import sub
        return sub(self, other)

    def __rsub__(self, other):
        from svertka.ops import sub
        return sub(other, self)

    def __mul__(self, other):
        from svertka.ops import mul
        return mul(self, other)

    def __rmul__(self, other):
        from svertka.ops import mul
        return mul(other, self)

    def __truediv__(self, other):
        from svertka.ops import div
        return div(self, other)

    def __rtruediv__(self, other):
        from svertka.ops import div
        return div(other, self)

    def __neg__(self):
        from svertka.ops import neg
        return neg(self)

    def __pow__(self, exponent):
        from svertka.ops import power
        return power(self, exponent)

    def __matmul__(self, other):
        from svertka.ops import matmul
        return matmul(self, other)

    def __rmatmul__(self, other):
        from svertka.ops import matmul
        return matmul(other, self)

    def __getitem__(self, index):
        from svertka.ops import getitem
        return getitem(self, index)

    def reshape(self, *shape):
        from svertka.ops import reshape
        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        from svertka.ops import transpose
        return transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    @property
    def T(self):
        from svertka.ops import transpose
        return transpose(self)

    def sum(self, axis=None, keepdims=False):
        from svertka.ops import sum as sum_
        return sum_(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        from svertka.ops import mean
        return mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        from svertka.ops import max as max_
        return max_(self, axis, keepdims)


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """A Tensor from a Tensor, array or number; numbers take the dtype of ``like``."""
    if isinstance(value, Tensor):
        return value
    if like is not None and not hasattr(value, "dtype"):
        return Tensor(backend.asarray(value, dtype=like.dtype))
    return Tensor(value)
