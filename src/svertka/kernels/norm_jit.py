"""Batch normalisation in training as compiled passes (see :mod:`svertka.kernels.jit`).

They exist because the NumPy version in :mod:`svertka.kernels.norm` makes seven passes over
the activations with three temporaries in forward (centre, square, mean, scale, gamma,
beta), and NumPy broadcasts a (C,) vector over a channels-last array slowly when C is small
(its inner loop is one pixel's C values). Here forward is two passes (the sums of ``x -
shift`` and of their squares; then normalise, scale and shift, writing xhat and y) and
backward two (the sums of gy and gy * xhat; then the input gradient), over a slice of the
batch per core where the batch is large enough (:mod:`svertka.parallel`).

Same maths as the NumPy version: the biased variance, and
``gx = gamma inv_std (gy - sum(gy)/M - xhat sum(gy xhat)/M)``. The sums accumulate in
float64, shifted by one pixel of the batch (``var = E[d^2] - E[d]^2`` with ``d = x -
shift``): the shift sits among the values, so the subtraction cancels nothing that float64
cannot hold (a test checks a mean of 10,000 on a spread of 1).
"""

from __future__ import annotations

import numpy as np

from svertka.kernels.jit import jit
from svertka.kernels.rules import relu_passes, relu_zeroes
from svertka.parallel import min_samples, over_batch

# A channels-last array is a run of rows of C values. Looping over the C values of one row
# at a time leaves LLVM's vector loop no room when C is small (16 channels: the loop is all
# prologue and remainder), so the kernels see the array as rows of k*C values (k pixels, at
# least BLOCK values), the per-channel vectors tiled k times to match; the pixels past the
# last whole row of k go through the same kernels with k = 1.
BLOCK = 256


@jit
def _shifted_sums(a, shift, total, squares):
    """total += sum of (a - shift), squares += sum of (a - shift)**2 over the rows of a
    (blocks, width), in float64."""
    for r in range(a.shape[0]):
        row = a[r]
        for j in range(a.shape[1]):
            d = np.float64(row[j]) - shift[j]
            total[j] += d
            squares[j] += d * d


@jit
def _normalise(a, mean, inv_std, gamma, beta, relu, xhat, y):
    """xhat = (a - mean) * inv_std; y = xhat * gamma + beta (then ReLU), row by row."""
    for r in range(a.shape[0]):
        row, h, out = a[r], xhat[r], y[r]
        for j in range(a.shape[1]):
            v = (row[j] - mean[j]) * inv_std[j]
            h[j] = v
            v = v * gamma[j] + beta[j]
            if relu:
                v = 0.0 if relu_zeroes(v) else v
            out[j] = v


@jit
def _gradient_sums(gy, gate, xhat, relu, gbeta, ggamma):
    """gbeta += sum of g, ggamma += sum of g * xhat, over rows (float64); g is gy, or gy
    through the ReLU gate of the output ``gate`` when ``relu``."""
    for r in range(gy.shape[0]):
        g, y, h = gy[r], gate[r], xhat[r]
        for j in range(gy.shape[1]):
            v = np.float64(g[j])
            if relu and not relu_passes(y[j]):
                v = 0.0
            gbeta[j] += v
            ggamma[j] += v * h[j]


@jit
def _input_gradient(gy, gate, xhat, k, gbeta_m, ggamma_m, relu, gx):
    """gx = k * (g - gbeta/M - xhat * ggamma/M), the /M already applied; g as above."""
    for r in range(gy.shape[0]):
        g, y, h, out = gy[r], gate[r], xhat[r], gx[r]
        for j in range(gy.shape[1]):
            v = g[j]
            if relu and not relu_passes(y[j]):
                v = 0.0
            out[j] = k[j] * (v - gbeta_m[j] - h[j] * ggamma_m[j])


def _blocks(kernel, inputs, params, outputs, sums, s, flags=()):
    """``kernel(*inputs, *params, *outputs, *accumulators)`` over samples ``s`` of the
    channels-last ``inputs`` and ``outputs`` (flat: whole blocks of rows, then the leftover
    rows), the per-channel ``params`` tiled to the block. Returns the ``sums`` accumulators,
    folded back to one float64 value per channel."""
    c = inputs[0].shape[-1]
    flats = [a[s].reshape(-1) for a in (*inputs, *outputs)]
    rows = flats[0].size // c
    k = -(-BLOCK // c)
    cut = rows // k * k * c
    totals = [np.zeros(c) for _ in range(sums)]
    for part, reps in ((slice(0, cut), k), (slice(cut, rows * c), 1)):
        if part.start == part.stop:
            continue
        accs = [np.zeros(reps * c) for _ in range(sums)]
        views = [f[part].reshape(-1, reps * c) for f in flats]  # (blocks, width)
        kernel(*views[: len(inputs)], *(np.tile(p, reps) for p in params), *flags,
               *views[len(inputs):], *accs)
        for total, acc in zip(totals, accs):
            total += acc.reshape(reps, c).sum(axis=0)
    return totals


def _over_batch(kernel, inputs, params=(), outputs=(), sums=0, flags=()):
    """:func:`_blocks` over the batch in slices, one per core; the slices' sums added.
    ``flags``: scalars passed after the parameters."""
    n = len(inputs[0])
    parts = over_batch(lambda s: _blocks(kernel, inputs, params, outputs, sums, s, flags), n,
                       _min_samples(inputs[0], n), xp=np)
    return [sum(p[i] for p in parts) for i in range(sums)]


def _min_samples(a, n):
    """The fewest samples worth a thread for one pass over ``a``: these passes move memory
    and do little arithmetic, so a thread's wake-up costs as much as about 4
    ``WORTH_A_THREAD`` of their element operations."""
    return min_samples(a.size // max(n, 1) // 4)


def train_forward(x, gamma, beta, eps, relu: bool = False):
    """:func:`svertka.kernels.norm.batch_norm_train_forward` for a C-contiguous NumPy float
    ``x`` with at least one value per channel: returns ``y, mean, var`` and ``(xhat,
    inv_std, gamma, relu_y)``, the fields of its cache."""
    c, dtype = x.shape[-1], x.dtype
    m = x.size // c
    shift = x.reshape(-1, c)[0].astype(np.float64)  # a pixel of the batch: near the mean
    total, squares = _over_batch(_shifted_sums, [x], [shift], sums=2)
    offset = total / m
    mean = (shift + offset).astype(dtype)
    var = np.maximum(squares / m - offset * offset, 0).astype(dtype)
    inv_std = (1 / np.sqrt(var + eps)).astype(dtype)
    scale = np.ones(c, dtype) if gamma is None else np.ascontiguousarray(gamma, dtype)
    shift = np.zeros(c, dtype) if beta is None else np.ascontiguousarray(beta, dtype)
    xhat, y = np.empty_like(x), np.empty_like(x)
    _over_batch(_normalise, [x], [mean, inv_std, scale, shift], [xhat, y], flags=(relu,))
    return y, mean, var, (xhat, inv_std, gamma, y if relu else None)


def train_backward(gy, cache):
    """:func:`svertka.kernels.norm.batch_norm_train_backward` for C-contiguous NumPy
    floats: same returns."""
    xhat, inv_std, gamma, relu_y = cache
    c, dtype = gy.shape[-1], gy.dtype
    m = gy.size // c
    relu = relu_y is not None
    gate = relu_y if relu else gy
    gbeta, ggamma = _over_batch(_gradient_sums, [gy, gate, xhat], sums=2, flags=(relu,))
    k = (inv_std if gamma is None else gamma * inv_std).astype(dtype)
    gbeta_m, ggamma_m = (gbeta / m).astype(dtype), (ggamma / m).astype(dtype)
    gx = np.empty_like(gy)
    _over_batch(_input_gradient, [gy, gate, xhat], [k, gbeta_m, ggamma_m], [gx],
                flags=(relu,))
    return gx, (None if gamma is None else ggamma.astype(dtype)), gbeta.astype(dtype)
