"""Local response normalisation across channels (AlexNet, Krizhevsky et al. 2012, §3.3) as a
pure forward/backward array pair, with PyTorch's ``torch.nn.LocalResponseNorm`` semantics.

Shape legend: ``x``, ``y``, ``d`` (..., C) channels-last, any rank >= 1; the window runs
along the last axis only.

``y_c = x_c / d_c**beta`` with ``d_c = k + alpha / size * sum_{c' in window(c)} x_{c'}**2``:
``window(c)`` is the ``size`` channels from ``c - size // 2`` to ``c + (size - 1) // 2``
(centred for odd sizes; for even sizes one more channel before than after, PyTorch's
padding), channels outside ``[0, C)`` counting as zeros. ``alpha`` is divided by ``size``
(PyTorch, Caffe); the paper's formula and TensorFlow's do not divide it.

:func:`naive_local_response_norm` is the definition with a loop over the channels, in
float64: the reference the tests compare the array version with.

>>> import numpy as np
>>> y, cache = lrn_forward(np.ones((1, 3)), size=3, alpha=3.0, beta=1.0, k=1.0)
>>> y.tolist()  # the middle channel sees three ones, the edges two: 1/(1+2), 1/(1+3), 1/(1+2)
[[0.3333333333333333, 0.25, 0.3333333333333333]]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


def window_bounds(size: int) -> tuple[int, int]:
    """``(before, after)``: how many channels the window of ``size`` reaches below and above
    its own; PyTorch pads ``size // 2`` before and ``(size - 1) // 2`` after."""
    return size // 2, (size - 1) // 2


def naive_local_response_norm(x, size, alpha, beta, k):
    """LRN by its definition, one channel at a time, in float64: ``y`` (..., C)."""
    x = np.asarray(x, np.float64)
    before, after = window_bounds(size)
    c = x.shape[-1]
    y = np.empty_like(x)
    for i in range(c):
        lo, hi = max(0, i - before), min(c, i + after + 1)
        d = k + alpha / size * (x[..., lo:hi] ** 2).sum(axis=-1)
        y[..., i] = x[..., i] / d**beta
    return y


def channel_window_sum(a, before: int, after: int):
    """``s[..., c] = sum(a[..., c - before : c + after + 1])`` with zeros outside ``[0, C)``.

    One shifted add per window position: ``size`` is small (5 in AlexNet) and, unlike a
    running (cumulative) sum, shifted adds lose nothing to cancellation.

    >>> channel_window_sum(np.array([1.0, 2.0, 4.0, 8.0]), 1, 0).tolist()
    [1.0, 3.0, 6.0, 12.0]
    """
    c = a.shape[-1]
    s = a.copy()
    for o in range(1, min(before, c - 1) + 1):  # channel c - o adds to channel c
        s[..., o:] += a[..., : c - o]
    for o in range(1, min(after, c - 1) + 1):  # channel c + o adds to channel c
        s[..., : c - o] += a[..., o:]
    return s


class LRNCache(NamedTuple):
    """What :func:`lrn_backward` needs from its forward."""

    x: Any  # (..., C) the input
    d: Any  # (..., C) k + alpha / size * (window sum of x**2), the denominator's base
    scale: Any  # (..., C) d ** -beta, so y = x * scale
    size: int
    alpha: float
    beta: float


def lrn_forward(x, size: int, alpha: float, beta: float, k: float):
    """``y = x * d**-beta``, ``d = k + alpha / size * window_sum(x**2)``; returns ``y, cache``
    (an :class:`LRNCache`). ``k > 0`` and ``alpha >= 0`` keep ``d`` positive."""
    d = channel_window_sum(x * x, *window_bounds(size))
    d *= alpha / size
    d += k
    scale = d**-beta
    return x * scale, LRNCache(x, d, scale, size, alpha, beta)


def lrn_backward(gy, cache):
    """The input gradient, in closed form.

    ``dy_c / dx_j = [c == j] d_c**-beta - 2 alpha beta / size * x_j x_c d_c**(-beta - 1)``
    for ``j`` in ``window(c)``. Summing over ``c`` turns the window around: channel ``j`` is in
    ``window(c)`` for ``c`` from ``j - after`` to ``j + before``, so
    ``gx_j = gy_j d_j**-beta - 2 alpha beta / size * x_j * sum_{c} gy_c x_c d_c**-beta / d_c``
    is the same window sum with ``before`` and ``after`` swapped (equal for odd sizes).
    """
    x, d, scale, size, alpha, beta = cache
    before, after = window_bounds(size)
    t = gy * x
    t *= scale
    t /= d  # gy_c y_c / d_c
    s = channel_window_sum(t, after, before)
    s *= x
    s *= -2 * alpha * beta / size
    s += gy * scale
    return s
