"""The fully connected layer's maths, ``y = x @ w + b``, and its gradients.

Shapes: x (N, K), w (K, M), b (M,), y and gy (N, M).

    gx = gy @ w.T        (N, K)   row n depends on sample n only
    gw = x.T @ gy        (K, M)   a sum over samples
    gb = gy summed       (M,)     a sum over samples

so each core can take a slice of the batch for y (:mod:`svertka.parallel`), and a slice of
the K input features for gx and gw: its columns of gx and rows of gw need only its rows of w,
which it then reads once (sliced by samples, every core would read all of w for gx: the
most of a small batch's backward time when w is large).

>>> import numpy as np
>>> y = dense_forward(np.ones((2, 3)), np.ones((3, 4)), np.arange(4.0))
>>> y.tolist()
[[3.0, 4.0, 5.0, 6.0], [3.0, 4.0, 5.0, 6.0]]
"""

from __future__ import annotations

import numpy as np

from svertka.backend import get_array_module
from svertka.kernels.bias_relu import bias_relu
from svertka.kernels.sums import channel_sum
from svertka.parallel import in_parallel, min_samples, over_batch, slices, threads


def dense_forward(x, w, b=None):
    """``x @ w + b`` (no bias when b is None), shape (N, M)."""
    xp = get_array_module(x)
    y = xp.empty((x.shape[0], w.shape[1]), dtype=xp.result_type(x, w))

    def run(s):
        xp.matmul(x[s], w, out=y[s])
        bias_relu(y[s], b)

    over_batch(run, x.shape[0], min_samples(w.size), xp=xp)
    return y


def dense_backward(gy, x, w, has_bias: bool = True):
    """``(gx, gw, gb)`` for upstream ``gy`` (N, M); gb is None without a bias.

    Core i takes the inputs ``ks[i]``: columns ``ks[i]`` of gx and rows ``ks[i]`` of gw, from
    rows ``ks[i]`` of w (partial sums of the whole gw per core would write and add it twice).
    As many cores as the forward pass's batch slicing would take, one for a small layer.
    """
    xp = get_array_module(gy)
    gx = xp.empty(x.shape, dtype=xp.result_type(gy, w))
    gw = xp.empty(w.shape, dtype=xp.result_type(x, gy))
    cores = len(slices(gy.shape[0], threads(), min_samples(w.size))) if xp is np else 1
    ks = slices(w.shape[0], cores)

    def run(k):
        xp.matmul(gy, w[k].T, out=gx[:, k])
        xp.matmul(x[:, k].T, gy, out=gw[k])

    in_parallel(run, ks, xp)
    return gx, gw, channel_sum(gy) if has_bias else None
