"""NetVLAD pooling (Arandjelović et al., CVPR 2016) and the L2 normalisation it is built on.

Shapes: x (N, L, D) local descriptors at L = H*W locations, w (D, K) and b (K,) the 1x1
convolution of the soft assignment, c (K, D) the centroids, a (N, L, K) the assignments,
v (N, K, D) the aggregated residuals. The definition, as the paper writes it:

    a[n, i, k] = softmax_k(x[n, i] . w[:, k] + b[k])
    v[n, k, d] = sum_i a[n, i, k] (x[n, i, d] - c[k, d])
             = (a^T x)[n, k, d] - (sum_i a[n, i, k]) c[k, d]

then intra-normalisation (each v[n, k] scaled to unit length), flattening to (N, K*D) and a
final L2 normalisation. The aggregation has one Function with a closed-form backward (two
batched GEMMs each way, no (N, L, K, D) residual tensor); the normalisations are
``l2_normalize``.

>>> import numpy as np, svertka
>>> x = svertka.Tensor(np.random.default_rng(0).standard_normal((2, 3, 3, 4)))
>>> w, b, c = np.ones((4, 5)), np.zeros(5), np.zeros((5, 4))
>>> y = netvlad(x, w, b, c)
>>> y.shape, np.linalg.norm(y.numpy(), axis=1).round(6).tolist()
((2, 20), [1.0, 1.0])
"""

from __future__ import annotations

from svertka import checks
from svertka.autograd import Function, Tensor
from svertka.backend import get_array_module
from svertka.kernels.activations import softmax_backward, softmax_forward
from svertka.ops._inputs import float_input, float_inputs
from svertka.ops.basic import reshape


def l2_normalize_forward(x, axis: int, epsilon: float):
    """``y = x / max(||x||, epsilon)`` along ``axis``; the cache is (y, den, active) with
    den = max(||x||, epsilon) (keepdims) and active = ||x|| >= epsilon (torch's clamp rule)."""
    xp = get_array_module(x)
    norm = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
    den = xp.maximum(norm, epsilon).astype(x.dtype, copy=False)
    y = x / den
    return y, (y, den, norm >= epsilon)


def l2_normalize_backward(gy, cache, axis: int):
    # d(x/n) = (gy - y (gy . y)) / n where the norm is used; where epsilon replaced it, the
    # denominator is a constant and the gradient is gy / epsilon
    y, den, active = cache
    return (gy - active * y * (gy * y).sum(axis=axis, keepdims=True)) / den


def vlad_forward(x, w, b, c):
    """v (N, K, D) from x (N, L, D), w (D, K), b (K,), c (K, D); the cache is (x, w, c, a)."""
    a = softmax_forward(x @ w + b, axis=-1)  # (N, L, K)
    mass = a.sum(axis=1)  # (N, K): how much of the image each cluster received
    v = a.swapaxes(1, 2) @ x - mass[..., None] * c  # (N, K, L) @ (N, L, D) - (N, K, 1) (K, D)
    return v, (x, w, c, a)


def vlad_backward(gv, cache):
    """(gx, gw, gb, gc) for the upstream gradient gv (N, K, D)."""
    x, w, c, a = cache
    d, k = w.shape
    gc = -(a.sum(axis=1)[..., None] * gv).sum(axis=0)  # (K, D)
    # dv[k]/da[i, k] = x[i] - c[k]: ga = x gv^T - (gv . c) over d
    ga = x @ gv.swapaxes(1, 2) - (gv * c).sum(axis=-1)[:, None, :]  # (N, L, K)
    gs = softmax_backward(ga, None, a, axis=-1)  # through the softmax to the scores
    gx = a @ gv + gs @ w.T  # the residuals' term and the assignment's term, (N, L, D)
    gw = x.reshape(-1, d).T @ gs.reshape(-1, k)  # (N*L, D)^T @ (N*L, K)
    gb = gs.sum(axis=(0, 1))
    return gx, gw, gb, gc


class L2Normalize(Function):
    def __init__(self, axis: int, epsilon: float):
        self.axis, self.epsilon = axis, epsilon

    def forward(self, x):
        y, self.cache = l2_normalize_forward(x, self.axis, self.epsilon)
        return y

    def backward(self, gy):
        return (l2_normalize_backward(gy, self.cache, self.axis),)


class VLAD(Function):
    """Soft assignment and residual aggregation: (x, w, b, c) -> v (N, K, D), unnormalised."""

    def forward(self, x, w, b, c):
        v, self.cache = vlad_forward(x, w, b, c)
        return v

    def backward(self, gv):
        return vlad_backward(gv, self.cache)


def l2_normalize(x, axis: int = -1, epsilon: float = 1e-12) -> Tensor:
    """``x / max(||x||_2, epsilon)`` along ``axis``, as ``torch.nn.functional.normalize``.

    Backward: ``(gy - y sum(gy y)) / ||x||`` along ``axis``, and ``gy / epsilon`` where the
    norm is below ``epsilon`` (a zero vector stays zero and its gradient stays finite).

    >>> import numpy as np
    >>> l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).numpy().tolist()
    [[0.6, 0.8], [0.0, 0.0]]
    """
    op = "l2_normalize"
    x = float_input(op, x)
    axis = checks.integer(op, "axis", axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: argument 'axis' must be in [{-x.ndim}, {x.ndim}) for x of "
                         f"shape {x.shape}, received {axis}")
    epsilon = checks.finite_float(op, "epsilon", epsilon, 0.0, low_open=True)
    return L2Normalize(axis % x.ndim, epsilon)(x)


def netvlad(x, w, b, centroids) -> Tensor:
    """The NetVLAD descriptor (N, K*D) of local descriptors x (N, H, W, D) (or (N, L, D)).

    ``w`` (D, K) and ``b`` (K,) score each descriptor against each cluster (the paper's 1x1
    convolution), a softmax over the K clusters turns the scores into soft assignments, and
    each cluster sums the residuals ``x_i - c_k`` weighted by its assignment; ``centroids``
    (K, D) are the c_k. Each cluster's row is then L2-normalised (intra-normalisation), the
    K rows are flattened, and the whole vector is L2-normalised. The input is used as given:
    normalise it first (``l2_normalize(x)``) for the paper's setting, as the ``NetVLAD``
    layer does with ``normalize_input=True``.

    >>> import numpy as np
    >>> netvlad(np.ones((1, 2, 2, 3)), np.zeros((3, 2)), np.zeros(2), np.zeros((2, 3))).shape
    (1, 6)
    """
    op = "netvlad"
    x, w, b, c = float_inputs(op, x=x, w=w, b=b, centroids=centroids)
    x, w, b, c = (v if isinstance(v, Tensor) else Tensor(v) for v in (x, w, b, c))
    if x.ndim < 3:
        raise ValueError(f"{op}: argument 'x' must be local descriptors (N, H, W, D) or "
                         f"(N, L, D), received shape {x.shape}")
    n, d = x.shape[0], x.shape[-1]
    if w.ndim != 2 or w.shape[0] != d:
        raise ValueError(f"{op}: argument 'w' must have shape ({d}, clusters) to match x of "
                         f"shape {x.shape}, received {w.shape}")
    k = w.shape[1]
    if tuple(b.shape) != (k,):
        raise ValueError(f"{op}: argument 'b' must have shape ({k},), received {b.shape}")
    if tuple(c.shape) != (k, d):
        raise ValueError(f"{op}: argument 'centroids' must have shape ({k}, {d}), "
                         f"received {c.shape}")
    if x.ndim != 3:
        x = reshape(x, (n, -1, d))  # (N, H, W, D) -> (N, L, D)
    v = l2_normalize(VLAD()(x, w, b, c), axis=-1)  # (N, K, D), each row unit length
    return l2_normalize(reshape(v, (n, k * d)), axis=-1)


__all__ = ["l2_normalize", "netvlad"]
