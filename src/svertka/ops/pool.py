"""Pooling: max, average, sum and min over windows, and global pooling.

Pooling has no parameters: it cuts each channel of the map into windows and keeps one number
per window. Images are channels-last ``(N, H, W, C)``. Arguments follow Keras
(``MaxPooling2D(pool_size, strides)``): ``strides`` default to ``pool_size``, so the windows
tile the map, and the output size is ``O = (I - Ps) / S + 1`` (floored) for 'valid' padding.

Conventions shared by the windowed pools:

- ``padding``: ``'valid'`` (none), ``'same'`` (TF/Keras: ``ceil(I / S)`` outputs, an odd extra
  pixel at the bottom/right), an int, a pair ``(ph, pw)`` or ``((top, bottom), (left,
  right))``. Explicit padding must be smaller than the pool size on every side, so that every
  window sees at least one input pixel ('same' always is).
- Padded cells never win: max pooling pads with -inf, min pooling with +inf, sum pooling
  with 0, and average pooling *excludes* them from the count (Keras/TF 'same', PyTorch
  ``count_include_pad=False``), so a window half in the padding averages its real pixels.
- Ties in max/min pooling send the whole gradient to the first maximal (minimal) element of
  the window in row-major order, as PyTorch does.
- Overlapping windows (strides < pool_size) add up their gradients in the shared pixels.
"""

from __future__ import annotations

from svertka.autograd import Function, Tensor
from svertka.kernels.pool import (
    global_pool2d_backward,
    global_pool2d_forward,
    pool2d_backward,
    pool2d_forward,
)
from svertka.kernels.shapes import check_window_fits, pair, resolve_padding
from svertka.ops._inputs import float_input


class Pool2D(Function):
    """Windowed pooling; ``mode`` is 'max', 'min', 'sum' or 'avg', geometry already resolved."""

    def __init__(self, mode: str, pool, strides, pads):
        self.mode, self.pool, self.strides, self.pads = mode, pool, strides, pads

    def forward(self, x):
        y, self.cache = pool2d_forward(x, self.pool, self.strides, self.pads, self.mode,
                                       for_backward=self.recording)
        return y

    def backward(self, gy):
        return (pool2d_backward(gy, self.cache),)


class GlobalPool2D(Function):
    """Pooling over the whole map, (N, H, W, C) -> (N, C); ``mode`` is 'max' or 'avg'."""

    def __init__(self, mode: str):
        self.mode = mode

    def forward(self, x):
        y, self.cache = global_pool2d_forward(x, self.mode)
        return y

    def backward(self, gy):
        return (global_pool2d_backward(gy, self.cache),)


def _image(x, op: str) -> Tensor:
    """``x`` as a Tensor, checked to be a floating-point (N, H, W, C) batch with H, W >= 1."""
    x = float_input(op, x)
    if x.ndim != 4:
        raise ValueError(f"{op}: argument 'x' must be 4-D (N, H, W, C), received shape {x.shape}")
    if x.shape[1] == 0 or x.shape[2] == 0:
        raise ValueError(f"{op}: argument 'x' must have H, W >= 1, received shape {x.shape}")
    return x


def check_pool_padding(op: str, pads, pool, received=None) -> None:
    """Raise unless the padding ``((top, bottom), (left, right))`` is smaller than the pool
    window on every side, so that each window sees an input pixel; the message quotes
    ``received`` (default: ``pads``)."""
    if any(p >= pool[a] for a in range(2) for p in pads[a]):
        raise ValueError(
            f"{op}: argument 'padding' must be smaller than pool_size {tuple(pool)} on every "
            f"side, so that each window sees an input pixel; received padding "
            f"{pads if received is None else received!r}"
        )


def _pool(op: str, mode: str, x, pool_size, strides, padding) -> Tensor:
    """Validate and normalise the arguments once, then run the shared kernel."""
    x = _image(x, op)
    pool = pair(pool_size, op, "pool_size")
    strides = pool if strides is None else pair(strides, op, "strides")
    size_hw = x.shape[1:3]
    pads = resolve_padding(padding, size_hw, pool, strides, op=op)
    check_pool_padding(op, pads, pool)
    check_window_fits(size_hw, pads, pool, (1, 1), op, arg="pool window")
    return Pool2D(mode, pool, strides, pads)(x)


def max_pool2d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """Largest value of each window: (N, H, W, C) -> (N, OH, OW, C).

    ``pool_size`` and ``strides`` are ints or pairs; ``strides`` default to ``pool_size``.
    Padded cells hold -inf, so they never win. A tie sends the gradient to the first maximal
    element of the window in row-major order (as PyTorch). See the module docstring.

    >>> import numpy as np, svertka
    >>> m = np.array([[6., 6, 6, 6], [4, 5, 5, 4], [2, 4, 4, 2], [2, 4, 4, 2]])
    >>> max_pool2d(svertka.Tensor(m.reshape(1, 4, 4, 1)), 2).numpy()[0, :, :, 0].tolist()
    [[6.0, 6.0], [4.0, 4.0]]
    """
    return _pool("max_pool2d", "max", x, pool_size, strides, padding)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """Mean of each window: (N, H, W, C) -> (N, OH, OW, C).

    Padded cells are *excluded* from the count (Keras/TF 'same', PyTorch
    ``count_include_pad=False``): each window averages only its input pixels.

    >>> import numpy as np, svertka
    >>> m = np.array([[6., 6, 6, 6], [4, 5, 5, 4], [2, 4, 4, 2], [2, 4, 4, 2]])
    >>> avg_pool2d(svertka.Tensor(m.reshape(1, 4, 4, 1)), 2).numpy()[0, :, :, 0].tolist()
    [[5.25, 5.25], [3.0, 3.0]]
    >>> x = svertka.Tensor(np.ones((1, 3, 3, 1)))
    >>> avg_pool2d(x, 2, padding="same").numpy()[0, :, :, 0].tolist()  # padding not counted
    [[1.0, 1.0], [1.0, 1.0]]
    """
    return _pool("avg_pool2d", "avg", x, pool_size, strides, padding)


def sum_pool2d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """Sum of each window: (N, H, W, C) -> (N, OH, OW, C); padded cells add 0.

    >>> import numpy as np, svertka
    >>> m = np.array([[6., 6, 6, 6], [4, 5, 5, 4], [2, 4, 4, 2], [2, 4, 4, 2]])
    >>> sum_pool2d(svertka.Tensor(m.reshape(1, 4, 4, 1)), 2).numpy()[0, :, :, 0].tolist()
    [[21.0, 21.0], [12.0, 12.0]]
    """
    return _pool("sum_pool2d", "sum", x, pool_size, strides, padding)


def min_pool2d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """Smallest value of each window: (N, H, W, C) -> (N, OH, OW, C).

    Padded cells hold +inf, so they never win. A tie sends the gradient to the first minimal
    element of the window in row-major order.

    >>> import numpy as np, svertka
    >>> m = np.array([[6., 6, 6, 6], [4, 5, 5, 4], [2, 4, 4, 2], [2, 4, 4, 2]])
    >>> min_pool2d(svertka.Tensor(m.reshape(1, 4, 4, 1)), 2).numpy()[0, :, :, 0].tolist()
    [[4.0, 4.0], [2.0, 2.0]]
    """
    return _pool("min_pool2d", "min", x, pool_size, strides, padding)


def global_avg_pool2d(x) -> Tensor:
    """Mean over the whole map of each channel: (N, H, W, C) -> (N, C), as Keras.

    >>> import numpy as np, svertka
    >>> global_avg_pool2d(svertka.Tensor(np.arange(8.0).reshape(1, 2, 2, 2))).numpy().tolist()
    [[3.0, 4.0]]
    """
    return GlobalPool2D("avg")(_image(x, "global_avg_pool2d"))


def global_max_pool2d(x) -> Tensor:
    """Maximum over the whole map of each channel: (N, H, W, C) -> (N, C), as Keras.

    A tie sends the gradient to the first maximal pixel in row-major order.

    >>> import numpy as np, svertka
    >>> global_max_pool2d(svertka.Tensor(np.arange(8.0).reshape(1, 2, 2, 2))).numpy().tolist()
    [[6.0, 7.0]]
    """
    return GlobalPool2D("max")(_image(x, "global_max_pool2d"))
