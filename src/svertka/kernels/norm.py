"""Batch normalisation and dropout as pure forward/backward array pairs.

Shape legend: ``x`` (..., C) channels-last, e.g. (N, H, W, C) or (N, C); ``gamma``, ``beta``,
``mean``, ``var`` (C,); ``M`` the number of values each channel's statistics are taken over
(N*H*W for images). Running statistics and the random generator come in as arguments: the
kernels hold no state.

:func:`naive_batch_norm` is the definition, forward and backward in a few float64 array
lines: the reference the tests compare the fast passes (NumPy in place, compiled) with.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from svertka.backend import get_array_module
from svertka.kernels import norm_jit
from svertka.kernels.jit import usable
from svertka.kernels.rules import relu_passes, relu_zeroes
from svertka.kernels.sums import channel_mean, channel_sum


def naive_batch_norm(x, gamma, beta, eps, gy=None, mean=None, var=None):
    """Batch norm by its definition, in float64: ``(y, mean, var, gx, ggamma, gbeta)``.

    ``y = gamma (x - mean) / sqrt(var + eps) + beta`` per channel, over x (..., C). Training
    (``mean``, ``var`` None): the batch's own statistics, the biased variance, and the input
    gradient through them, ``gx = gamma / sqrt(var + eps) * (gy - mean(gy) - xhat
    mean(gy xhat))``. Inference (``mean``, ``var`` given): fixed statistics, so
    ``gx = gamma gy / sqrt(var + eps)``. ``gamma`` / ``beta`` None mean 1 / 0; ``ggamma`` and
    ``gbeta`` are given even then (the gradient the parameter would get). The gradients are
    None without an upstream ``gy`` (like x).

    >>> x = np.array([[1.0], [3.0]])
    >>> y, mean, var, gx, ggamma, gbeta = naive_batch_norm(x, None, None, 0.0, np.ones((2, 1)))
    >>> y.ravel().tolist(), mean.tolist(), var.tolist(), gx.ravel().tolist(), gbeta.tolist()
    ([-1.0, 1.0], [2.0], [1.0], [0.0, 0.0], [2.0])
    """
    x = np.asarray(x, np.float64)
    axes = tuple(range(x.ndim - 1))  # every axis but the channels
    training = mean is None
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    std = np.sqrt(np.asarray(var, np.float64) + eps)
    xhat = (x - mean) / std
    g = 1.0 if gamma is None else np.asarray(gamma, np.float64)
    y = xhat * g + (0.0 if beta is None else np.asarray(beta, np.float64))
    if gy is None:
        return y, mean, var, None, None, None
    gy = np.asarray(gy, np.float64)
    gbeta, ggamma = gy.sum(axis=axes), (gy * xhat).sum(axis=axes)
    if training:  # mean and var depend on every x: the two means account for it
        gx = g / std * (gy - gy.mean(axis=axes) - xhat * (gy * xhat).mean(axis=axes))
    else:
        gx = g / std * gy
    return y, mean, var, gx, ggamma, gbeta


class BatchNormCache(NamedTuple):
    """What the batch-norm backward passes need from their forward."""

    xhat: Any  # (..., C) the normalised input, (x - mean) * inv_std
    inv_std: Any  # (C,) 1 / sqrt(var + eps)
    gamma: Any  # (C,) the scale, or None
    relu_y: Any = None  # y after a fused ReLU, whose sign gates the gradient; else None


def _compiled(a, *params) -> bool:
    """Whether :mod:`svertka.kernels.norm_jit` takes these: NumPy floats, ``a`` non-empty,
    the parameters (None or arrays) of its dtype."""
    given = [p for p in params if p is not None]
    return (a.size > 0 and usable(a, *given)
            and all(p.dtype == a.dtype for p in given))


def batch_norm_train_forward(x, gamma, beta, eps, relu: bool = False):
    """Normalise with the batch's own statistics: ``y = gamma (x - mean) / sqrt(var + eps) + beta``,
    then ReLU when ``relu`` (in the same pass where compiled; its gate then goes into the
    backward passes).

    ``gamma`` / ``beta`` may be None (no scale / no centre). ``var`` is the biased variance
    (divided by M), as Keras and TensorFlow use for both normalising and the moving average.
    Returns ``y, mean, var, cache``, a :class:`BatchNormCache`. The per-channel sums are
    BLAS products (:mod:`svertka.kernels.sums`); the rest works in place. With Numba, two
    compiled passes do it all (:mod:`svertka.kernels.norm_jit`).
    """
    if _compiled(x, gamma, beta):
        y, mean, var, cache = norm_jit.train_forward(np.ascontiguousarray(x), gamma, beta, eps,
                                                     relu)
        return y, mean, var, BatchNormCache(*cache)
    mean = channel_mean(x)  # (C,)
    xhat = x - mean  # centred first: two-pass, no cancellation when |mean| >> std
    var = channel_mean(xhat * xhat)
    y, cache = _scale_shift(xhat, var, eps, gamma, beta, relu)
    return y, mean, var, cache


def _scale_shift(xhat, var, eps, gamma, beta, relu):
    """The centred ``xhat`` divided by ``sqrt(var + eps)`` (in place), then ``gamma``,
    ``beta`` and the ReLU: ``(y, cache)``."""
    xp = get_array_module(xhat)
    inv_std = 1 / xp.sqrt(var + eps)
    xhat *= inv_std
    y = xhat.copy() if gamma is None else xhat * gamma
    if beta is not None:
        y += beta
    if relu:
        xp.copyto(y, 0, where=relu_zeroes.py_func(y))
    return y, BatchNormCache(xhat, inv_std, gamma, y if relu else None)


def batch_norm_train_backward(gy, cache):
    """Closed-form gradients ``(gx, ggamma, gbeta)`` through the batch statistics.

    ``gx = gamma inv_std / M * (M gy - sum(gy) - xhat sum(gy xhat))``: the mean and variance
    depend on every x, which the two sums account for. ``ggamma``/``gbeta`` are None where
    the parameter is.
    """
    xhat, inv_std, gamma, relu_y = cache
    if (_compiled(gy, xhat, gamma) and xhat.flags.c_contiguous
            and (relu_y is None or relu_y.flags.c_contiguous)):
        return norm_jit.train_backward(np.ascontiguousarray(gy), cache)
    if relu_y is not None:
        gy = gy * relu_passes.py_func(relu_y)
    m = gy.size // gy.shape[-1]
    gbeta = channel_sum(gy)  # (C,)
    ggamma = channel_sum(gy * xhat)  # (C,)
    k = inv_std if gamma is None else gamma * inv_std
    gx = xhat * (-k * ggamma / m)
    gx += gy * k
    gx -= k * gbeta / m
    return gx, (None if gamma is None else ggamma), gbeta


def batch_norm_sync_forward(x, gamma, beta, eps, relu, reduce, samples):
    """Training-mode batch norm whose statistics are those of the whole global batch, spread
    over several processes (synchronised batch norm): ``reduce(a)`` returns ``a`` summed over
    the processes (an MPI Allreduce), ``samples`` is this process's sample count (0 for a
    process that only takes part, its share of the batch being empty: it adds nothing).

    Two-pass, like :func:`batch_norm_train_forward`: the global mean from the summed channel
    sums and value counts, then the global biased variance from the summed squares about
    it. Returns ``y, mean, var, cache`` as that function does, the cache also holding what
    the backward pass needs to sum.
    """
    xp = get_array_module(x)
    c = x.shape[-1]
    w = 1.0 if samples else 0.0  # an idle process contributes nothing
    part = xp.zeros(c + 1, np.float64)
    part[:c] = channel_sum(x) * w
    part[c] = w * (x.size // c)
    total = reduce(part)
    m = total[c]  # the values per channel over every process
    mean = (total[:c] / m).astype(x.dtype)
    xhat = x - mean
    var = (reduce(channel_sum(xhat * xhat).astype(np.float64) * w) / m).astype(x.dtype)
    y, cache = _scale_shift(xhat, var, eps, gamma, beta, relu)
    return y, mean, var, (cache, reduce, samples, m)


def batch_norm_sync_backward(gy, sync_cache):
    """``(gx, ggamma, gbeta)`` of :func:`batch_norm_sync_forward`.

    Each process's ``gy`` is the gradient of its own mean loss, and the data-parallel step
    weighs a process's gradients by ``samples / N`` (N the global sample count). The global
    loss's ``dL/dx`` is ``k (g - sum(g)/M - xhat sum(g xhat)/M)`` with ``g = samples/N gy``
    summed over every process; returned is that divided by ``samples/N``, so that the
    weighing gives it back: ``gx = k (gy - A/(samples M) - xhat B/(samples M))`` with
    ``A, B`` the processes' ``samples * sum(gy)``, ``samples * sum(gy xhat)`` summed.
    ``ggamma``, ``gbeta`` are this process's own (the gradient averaging weighs them).
    """
    (xhat, inv_std, gamma, relu_y), reduce, samples, m = sync_cache
    xp = get_array_module(gy)
    if relu_y is not None:
        gy = gy * relu_passes.py_func(relu_y)
    c = gy.shape[-1]
    gbeta, ggamma = channel_sum(gy), channel_sum(gy * xhat)
    part = xp.empty(2 * c, np.float64)
    part[:c], part[c:] = gbeta * samples, ggamma * samples
    total = reduce(part) / (max(samples, 1) * m)
    k = inv_std if gamma is None else gamma * inv_std
    gx = gy - total[:c].astype(gy.dtype)
    gx -= xhat * total[c:].astype(gy.dtype)
    gx *= k
    return gx, (None if gamma is None else ggamma), gbeta


def batch_norm_infer_forward(x, gamma, beta, mean, var, eps, relu: bool = False):
    """Normalise with fixed (running) statistics: an affine map of ``x`` per channel (then
    ReLU when ``relu``); returns ``y, cache``, a :class:`BatchNormCache`."""
    xp = get_array_module(x)
    inv_std = 1 / xp.sqrt(var + eps)
    xhat = (x - mean) * inv_std
    y = xhat if gamma is None else xhat * gamma
    if beta is not None:
        y = y + beta
    if relu:
        y = xp.where(relu_zeroes.py_func(y), xp.zeros((), y.dtype), y)
    return y, BatchNormCache(xhat, inv_std, gamma, y if relu else None)


def batch_norm_infer_backward(gy, cache):
    """``gx = gy gamma inv_std``: the statistics are constants here."""
    xhat, inv_std, gamma, relu_y = cache
    if relu_y is not None:
        gy = gy * relu_passes.py_func(relu_y)
    gx = gy * (inv_std if gamma is None else gamma * inv_std)
    ggamma = None if gamma is None else channel_sum(gy * xhat)
    return gx, ggamma, channel_sum(gy)


def moving_average(running, batch, momentum):
    """Keras's update ``momentum * running + (1 - momentum) * batch``, as a new array."""
    return momentum * running + (1 - momentum) * batch


def dropout_mask(shape, rate, rng, xp):
    """Boolean keep-mask of ``shape``: each unit kept with probability ``1 - rate``.

    ``rng`` is a ``numpy.random.Generator`` (or CuPy's). Uniforms are drawn in float32 so
    the mask depends only on the seed and the shape, never on the data's dtype.
    """
    u = rng.random(shape, dtype=np.float32)
    return xp.asarray(u) >= rate


def dropout_forward(x, keep, scale):
    """``x * keep * scale``; ``scale = 1 / (1 - rate)`` keeps the expected value of ``x``."""
    return get_array_module(x).where(keep, x * scale, 0)


def dropout_backward(gy, keep, scale):
    """The same mask and scale: ``gx = gy * keep * scale``."""
    return get_array_module(gy).where(keep, gy * scale, 0)
