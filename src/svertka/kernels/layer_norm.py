"""Layer and group normalisation as pure forward/backward array pairs.

Both standardise ``x`` over a set of axes per sample, ``xhat = (x - mean) / sqrt(var + eps)``
(biased variance, as Keras and PyTorch), then scale and shift: ``y = gamma xhat + beta``.
They differ in which values share statistics and which share parameters:

- layer norm: statistics over ``axes`` (for each index of the other axes), ``gamma`` and
  ``beta`` shaped like ``x`` over those same axes, ``tuple(x.shape[a] for a in axes)``;
- group norm: ``x`` (N, ..., C) viewed as (N, M, G, Cg) (``M`` the spatial positions, ``G``
  groups of ``Cg = C / G`` consecutive channels), statistics over (M, Cg) for each sample and
  group, ``gamma`` and ``beta`` (C,) per channel.

The standardisation and its closed-form backward are written once, :func:`standardize` and
:func:`standardize_backward`; the two kernels only reshape around them.
:func:`naive_normalize` is the definition in float64, the reference of the tests.

>>> import numpy as np
>>> y, cache = layer_norm_forward(np.array([[1.0, 3.0]]), None, None, (1,), 0.0)
>>> y.tolist()
[[-1.0, 1.0]]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from svertka.backend import get_array_module


def naive_normalize(x, axes, eps, gamma=1.0, beta=0.0, gy=None):
    """Standardise ``x`` over ``axes`` by the definition, in float64: ``(y, gx)``, ``gx`` the
    input gradient for upstream ``gy`` (None without it); ``gamma`` and ``beta`` broadcast
    against ``x``. ``gx = gamma / std * (gy - mean(gy) - xhat mean(gy xhat))`` with the means
    over ``axes`` and ``gy`` read as ``gamma gy``."""
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    std = np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    xhat = (x - mean) / std
    y = np.asarray(gamma, np.float64) * xhat + np.asarray(beta, np.float64)
    if gy is None:
        return y, None
    g = np.asarray(gy, np.float64) * gamma
    gx = (g - g.mean(axis=axes, keepdims=True)
          - xhat * (g * xhat).mean(axis=axes, keepdims=True)) / std
    return y, gx


def standardize(x, axes: tuple, eps: float):
    """``(xhat, inv_std)``: ``x`` centred and scaled over ``axes``; ``inv_std`` keeps those axes
    as size 1. Centred before squaring (two passes): no cancellation when ``|mean| >> std``."""
    xp = get_array_module(x)
    xhat = x - x.mean(axis=axes, keepdims=True)
    inv_std = 1 / xp.sqrt((xhat * xhat).mean(axis=axes, keepdims=True) + eps)
    xhat *= inv_std
    return xhat, inv_std


def standardize_backward(gxhat, xhat, inv_std, axes: tuple):
    """``gx = inv_std * (gxhat - mean(gxhat) - xhat mean(gxhat xhat))`` over ``axes``: the
    gradient through the mean and the variance, which depend on every value they cover."""
    gx = xhat * -(gxhat * xhat).mean(axis=axes, keepdims=True)
    gx += gxhat
    gx -= gxhat.mean(axis=axes, keepdims=True)
    gx *= inv_std
    return gx


def _affine(xhat, gamma, beta):
    """``gamma xhat + beta`` with either left out (None), as a new array."""
    y = xhat.copy() if gamma is None else xhat * gamma
    if beta is not None:
        y += beta
    return y


class NormCache(NamedTuple):
    """What the layer- and group-norm backward passes need from their forward."""

    xhat: Any  # x standardised, in the kernel's working view (group norm: (N, M, G, Cg))
    inv_std: Any  # 1 / sqrt(var + eps), size 1 along the axes it was taken over
    gamma: Any  # the scale broadcast against xhat, or None
    axes: tuple  # the axes of the statistics, in the working view
    param_shape: tuple  # the shape of gamma and beta (and of their gradients)
    shape: tuple  # the shape of x


def layer_norm_forward(x, gamma, beta, axes: tuple, eps: float):
    """Layer norm over ``axes`` (sorted, non-negative): returns ``y, cache``.

    ``gamma``, ``beta`` shaped ``tuple(x.shape[a] for a in axes)``, or None.
    """
    param_shape = tuple(x.shape[a] for a in axes)
    bshape = tuple(n if a in axes else 1 for a, n in enumerate(x.shape))  # gamma over x
    g = None if gamma is None else gamma.reshape(bshape)
    b = None if beta is None else beta.reshape(bshape)
    xhat, inv_std = standardize(x, axes, eps)
    return _affine(xhat, g, b), NormCache(xhat, inv_std, g, axes, param_shape, x.shape)


def _backward(gy, cache, param_axes):
    """``(gx, ggamma, gbeta)`` for ``gy`` in the working view; the parameter gradients sum over
    ``param_axes`` (the axes gamma is broadcast along), None where gamma is."""
    xhat, inv_std, gamma, axes, param_shape, shape = cache
    gbeta = gy.sum(axis=param_axes).reshape(param_shape)
    ggamma = None if gamma is None else (gy * xhat).sum(axis=param_axes).reshape(param_shape)
    gx = standardize_backward(gy if gamma is None else gy * gamma, xhat, inv_std, axes)
    return gx.reshape(shape), ggamma, gbeta


def layer_norm_backward(gy, cache):
    """Closed-form ``(gx, ggamma, gbeta)`` of :func:`layer_norm_forward`."""
    others = tuple(a for a in range(gy.ndim) if a not in cache.axes)
    return _backward(gy, cache, others)


def _group_view(shape, groups: int) -> tuple:
    """(N, M, G, Cg) of a channels-last ``shape`` (N, ..., C) split into ``groups``."""
    m = int(np.prod(shape[1:-1], dtype=np.int64))
    return shape[0], m, groups, shape[-1] // groups


def group_norm_forward(x, groups: int, gamma, beta, eps: float):
    """Group norm of ``x`` (N, ..., C), ``C`` divisible by ``groups``: returns ``y, cache``.

    ``gamma``, ``beta`` (C,) or None.
    """
    n, m, g, cg = view = _group_view(x.shape, groups)
    xv = x.reshape(view)  # (N, M, G, Cg): channel c is in group c // Cg, as in PyTorch
    gam = None if gamma is None else gamma.reshape(g, cg)
    bet = None if beta is None else beta.reshape(g, cg)
    xhat, inv_std = standardize(xv, (1, 3), eps)
    y = _affine(xhat, gam, bet).reshape(x.shape)
    return y, NormCache(xhat, inv_std, gam, (1, 3), (x.shape[-1],), x.shape)


def group_norm_backward(gy, cache):
    """Closed-form ``(gx, ggamma, gbeta)`` of :func:`group_norm_forward`."""
    gyv = gy.reshape(cache.xhat.shape)  # (N, M, G, Cg)
    return _backward(gyv, cache, (0, 1))
