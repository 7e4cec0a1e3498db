"""Loss functions with hand-written, fused backward passes.

The batch losses (``softmax_cross_entropy``, ``categorical_crossentropy``,
``binary_crossentropy``, ``mean_squared_error``) return a scalar Tensor: the mean over the
batch, as Keras's default ``sum_over_batch_size`` reduction. Keras's losses take ``y_true``
first. Targets that are Tensors with ``requires_grad`` get their gradient too (as in torch);
integer class ids never do. ``robust_loss`` and ``robust_loss_nll`` are element-wise, so they
can be weighted before reducing.

>>> import numpy as np, svertka
>>> from svertka import ops
>>> logits = svertka.Tensor(np.array([[2.0, 0.0], [0.0, 2.0]]), requires_grad=True)
>>> loss = ops.softmax_cross_entropy(logits, np.array([0, 1]))
>>> round(loss.item(), 4)
0.1269
"""

from __future__ import annotations

import numpy as np

from svertka import backend, checks
from svertka.autograd import Function, Tensor, unbroadcast
from svertka.backend import get_array_module
from svertka.kernels import losses as K
from svertka.ops._inputs import float_input
from svertka.ops.basic import reshape


class SoftmaxCrossEntropy(Function):
    def forward(self, z, t):
        y, self.cache = K.softmax_cross_entropy_forward(z, t)
        return y

    def backward(self, gy):
        return K.softmax_cross_entropy_backward(gy, self.cache)


class CategoricalCrossentropy(Function):
    def forward(self, t, p):
        y, self.cache = K.categorical_crossentropy_forward(t, p)
        return y

    def backward(self, gy):
        return K.categorical_crossentropy_backward(gy, self.cache)


class BinaryCrossentropy(Function):
    def __init__(self, from_logits: bool):
        self.from_logits = from_logits

    def forward(self, t, p):
        fwd = (
            K.binary_crossentropy_logits_forward
            if self.from_logits
            else K.binary_crossentropy_forward
        )
        y, self.cache = fwd(t, p)
        return y

    def backward(self, gy):
        bwd = (
            K.binary_crossentropy_logits_backward
            if self.from_logits
            else K.binary_crossentropy_backward
        )
        return bwd(gy, self.cache)


class MeanSquaredError(Function):
    def forward(self, t, p):
        y, self.d = K.mean_squared_error_forward(t, p)
        return y

    def backward(self, gy):
        return K.mean_squared_error_backward(gy, self.d)


class RobustLoss(Function):
    """Barron's rho(x, alpha, scale), or with ``nll`` its negative log-likelihood."""

    def __init__(self, nll: bool):
        self.nll = nll

    def forward(self, x, a, c):
        self.x, self.a, self.c = x, a, c
        y = K.robust_rho(x, a, c)
        if self.nll:
            log_z, self.dlog_z = K.robust_log_partition(a)
            y = y + get_array_module(c).log(c) + log_z.astype(y.dtype)
        return y

    def backward(self, gy):
        x, a, c = self.x, self.a, self.c
        _, (gx, ga, gc) = K.robust_rho(x, a, c, with_grads=True)
        if self.nll:
            ga = ga + self.dlog_z.astype(ga.dtype)
            gc = gc + 1 / c
        return tuple(unbroadcast(gy * g, v.shape) for g, v in ((gx, x), (ga, a), (gc, c)))


def same_rank(x1, x2, expand_rank_1: bool = True):
    """Keras's ``squeeze_or_expand_to_same_rank``, for Tensors or arrays: when the ranks differ
    by one and the longer ends in a 1, a 1-D other side gains that axis ((N,) labels meet
    (N, 1) predictions as (N, 1); not with ``expand_rank_1=False``), otherwise the 1 is
    dropped. The losses, the metrics and their sample weights share this one rule.

    >>> [a.shape for a in same_rank(np.zeros(3), np.zeros((3, 1)))]
    [(3, 1), (3, 1)]
    >>> [a.shape for a in same_rank(np.zeros((3, 2)), np.zeros((3, 2, 1)))]
    [(3, 2), (3, 2)]
    """
    def resized(x, shape):
        return reshape(x, shape) if isinstance(x, Tensor) else x.reshape(shape)

    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = resized(x2, (*x2.shape, 1))
        else:
            x1 = resized(x1, x1.shape[:-1])
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = resized(x1, (*x1.shape, 1))
        else:
            x2 = resized(x2, x2.shape[:-1])
    return x1, x2


def class_ids(op: str, arg: str, labels, classes: int):
    """Integer class ids ``labels`` (an array) checked to lie in ``[0, classes)``, as int64.

    Integer arrays, and float arrays holding whole numbers (``2.0``, as labels often arrive
    from a CSV file), are accepted; a label such as 2.9, NaN or infinity is an error rather
    than a truncated class, and so are booleans.

    >>> import numpy as np
    >>> class_ids("loss", "labels", np.array([0.0, 2.0]), 3).tolist()
    [0, 2]
    """
    if labels.dtype.kind == "f":
        xp = get_array_module(labels)
        whole = xp.isfinite(labels) & (labels == xp.floor(labels))
        if not bool(whole.all()):
            bad = labels[~whole].reshape(-1)[0].item()
            raise ValueError(
                f"{op}: argument '{arg}' must hold integer class ids (whole numbers such as 2.0 "
                f"are accepted), received the value {bad!r}"
            )
    elif labels.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: argument '{arg}' must hold integer class ids, received dtype {labels.dtype}"
        )
    ids = labels.astype(np.int64)
    if ids.size:
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= classes:
            raise ValueError(
                f"{op}: class ids in '{arg}' must lie in [0, {classes}), received values in "
                f"[{lo}, {hi}]"
            )
    return ids


def targets_like(value, like: Tensor) -> Tensor:
    """Targets in the predictions' dtype; a float Tensor is kept (it may want a gradient)."""
    if isinstance(value, Tensor) and value.dtype.kind == "f":
        return value
    data = value.data if isinstance(value, Tensor) else value
    return Tensor(backend.asarray(data, dtype=like.dtype))


def _pair(op: str, y_true, y_pred) -> tuple[Tensor, Tensor]:
    p = float_input(op, y_pred, "y_pred")
    t = targets_like(y_true, p)
    if t.shape != p.shape:
        raise ValueError(
            f"{op}: arguments 'y_true' and 'y_pred' must have the same shape, "
            f"received {t.shape} and {p.shape}"
        )
    if p.ndim == 0 or p.size == 0:
        raise ValueError(
            f"{op}: argument 'y_pred' must be a non-empty array of rank >= 1, "
            f"received shape {p.shape}"
        )
    return t, p


def softmax_cross_entropy(logits, labels) -> Tensor:
    """Mean over the batch of the cross-entropy of ``softmax(logits)`` against ``labels``.

    ``logits`` (N, K). ``labels`` is either integer class ids (N,) in ``[0, K)`` (an int
    array or Tensor; floats holding whole numbers are accepted), which get no gradient, or
    targets (N, K): one-hot or soft probabilities. The log-sum-exp is shifted by the row
    maximum, and backward is the fused ``(softmax(logits) * sum(t) - t) / N``. Matches
    ``torch.nn.functional.cross_entropy`` for both label forms.

    >>> import numpy as np, svertka
    >>> z = svertka.Tensor(np.zeros((2, 3)), requires_grad=True)
    >>> loss = softmax_cross_entropy(z, [0, 2])
    >>> round(loss.item(), 4), z.grad is None
    (1.0986, True)
    >>> loss.backward()
    >>> z.grad[0].round(4).tolist()
    [-0.3333, 0.1667, 0.1667]
    """
    op = "softmax_cross_entropy"
    z = float_input(op, logits, "logits")
    if z.ndim != 2 or z.shape[0] == 0:
        raise ValueError(
            f"{op}: argument 'logits' must be a non-empty float array of shape "
            f"(N, K), received shape {z.shape} and dtype {z.dtype}"
        )
    n, k = z.shape
    t = labels.data if isinstance(labels, Tensor) else backend.asarray(labels)
    if t.ndim == 1:
        if t.shape[0] != n:
            raise ValueError(
                f"{op}: argument 'labels' must hold one class id per sample "
                f"({n}), received {t.shape[0]}"
            )
        return SoftmaxCrossEntropy()(z, class_ids(op, "labels", t, k))
    if t.shape != (n, k):
        raise ValueError(
            f"{op}: argument 'labels' must be class ids ({n},) or targets "
            f"({n}, {k}), received shape {t.shape}"
        )
    return SoftmaxCrossEntropy()(z, targets_like(labels, z))


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False) -> Tensor:
    """Keras's ``categorical_crossentropy``: targets first, classes on the last axis.

    With probabilities, ``y_pred`` is divided by its sum along the last axis and clipped to
    ``[1e-7, 1 - 1e-7]`` before the log, exactly as Keras; the gradient for ``y_pred`` runs
    through that normalisation and is zero where the clip is active (as TensorFlow's
    ``clip_by_value``). ``from_logits=True`` takes the stable softmax path of
    ``softmax_cross_entropy``. The per-sample losses ``-sum(y_true * log q)`` are averaged over
    every axis but the last (the batch, and the pixels of a segmentation map).

    >>> import numpy as np
    >>> y = categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.5, 1.5]]))
    >>> round(y.item(), 4)  # -log(1.5 / 2)
    0.2877
    """
    t, p = _pair("categorical_crossentropy", y_true, y_pred)
    if from_logits:
        k = p.shape[-1]
        return softmax_cross_entropy(reshape(p, (-1, k)), reshape(t, (-1, k)))
    return CategoricalCrossentropy()(t, p)


categorical_crossentropy.clamped_terms = True  # fit's divergence guard (losses.classes)


def binary_crossentropy(y_true, y_pred, from_logits: bool = False) -> Tensor:
    """Keras's ``binary_crossentropy``, averaged over every element.

    With probabilities, ``y_pred`` is clipped to ``[1e-7, 1 - 1e-7]`` (zero gradient where
    clipped); ``from_logits=True`` uses ``max(z, 0) - z t + log1p(exp(-|z|))``, as torch's
    ``binary_cross_entropy_with_logits``. Keras averages over the last axis and then the
    batch, which for equal-size rows is the plain mean used here.

    >>> import numpy as np
    >>> round(binary_crossentropy(np.array([1.0, 0.0]), np.array([0.8, 0.4])).item(), 4)
    0.367
    """
    t, p = _pair("binary_crossentropy", y_true, y_pred)
    return BinaryCrossentropy(bool(from_logits))(t, p)


def mean_squared_error(y_true, y_pred) -> Tensor:
    """``mean((y_pred - y_true) ** 2)`` over every element.

    >>> import numpy as np
    >>> mean_squared_error(np.array([0.0, 0.0]), np.array([1.0, 3.0])).item()
    5.0
    """
    t, p = _pair("mean_squared_error", y_true, y_pred)
    return MeanSquaredError()(t, p)


def _robust_args(op: str, x, alpha, scale) -> tuple[Tensor, Tensor, Tensor]:
    x = float_input(op, x)
    alpha, scale = (
        v if isinstance(v, Tensor) else Tensor(backend.asarray(v, dtype=x.dtype))
        for v in (alpha, scale)
    )
    try:
        np.broadcast_shapes(x.shape, alpha.shape, scale.shape)
    except ValueError:
        raise ValueError(
            f"{op}: arguments 'x', 'alpha' and 'scale' must broadcast together, "
            f"received shapes {x.shape}, {alpha.shape} and {scale.shape}"
        ) from None
    if bool(get_array_module(alpha.data).isnan(alpha.data).any()):
        raise ValueError(f"{op}: argument 'alpha' must not be NaN")
    if not bool((scale.data > 0).all()) or not bool((scale.data < np.inf).all()):
        raise ValueError(
            f"{op}: argument 'scale' must be positive and finite, received "
            f"values in [{float(scale.data.min())}, {float(scale.data.max())}]"
        )
    return x, alpha, scale


def robust_loss(x, alpha, scale) -> Tensor:
    """Barron's general robust loss rho(x, alpha, scale), element-wise (not reduced).

    ``rho = |a-2|/a * (((x/c)^2 / |a-2| + 1)^(a/2) - 1)`` with its limits: alpha = 2 is L2
    ``0.5 (x/c)^2``, 1 pseudo-Huber ``sqrt((x/c)^2 + 1) - 1``, 0 Cauchy
    ``log(0.5 (x/c)^2 + 1)``, -2 Geman-McClure, -inf Welsch ``1 - exp(-0.5 (x/c)^2)``, +inf
    ``expm1(0.5 (x/c)^2)``. ``alpha`` and ``scale`` (> 0) are numbers, arrays or learnable
    Tensors (per-channel, say) that broadcast with ``x``; the result has the broadcast shape
    and gradients flow to all three.

    The formula as written is 0/0 at alpha = 0 and alpha = 2. Rather than nudging alpha
    away, as Barron's code does, it is rewritten exactly: with ``s = (x/c)^2``,
    ``b = |a-2|``, ``L = log1p(s/b)``, ``rho = (b L / 2) expm1(t)/t`` with ``t = a L/2`` near
    alpha = 0 (the ratio evaluated by its series at t = 0), and
    ``rho = (s w + b expm1(+-b L/2)) / a`` with ``w = exp(+-b L/2)`` elsewhere, which is
    exact at b = 0. Values and all gradients are therefore continuous in alpha, except that
    ``d rho / d alpha`` truly diverges like ``log|alpha - 2|`` as alpha nears 2: within
    ``1.19e-7`` (float32 epsilon) of 2 it is evaluated at that distance (Barron's clamp).

    >>> import numpy as np
    >>> robust_loss(np.array([3.0]), 0.0, 1.0).numpy().round(4).tolist()  # log(5.5)
    [1.7047]
    """
    return RobustLoss(nll=False)(*_robust_args("robust_loss", x, alpha, scale))


def robust_loss_nll(x, alpha, scale) -> Tensor:
    """The adaptive loss: -log of Barron's density, ``rho(x, a, c) + log c + log Z(a)``.

    Element-wise, for alpha in [0, 4] (a ValueError outside: below 0 the density does not
    normalise). ``Z(a) = int exp(-rho(x, a, 1)) dx`` and ``d log Z / d a = -E_p[d rho / d a]``
    are integrated once (the trapezoid rule in ``u = log|x|``, accurate to rounding) at 586
    fixed alphas and read between them by cubic Hermite interpolation: within 2e-8 of the
    integral, exact at the nodes (Z(2) = sqrt(2 pi), Z(0) = sqrt(2) pi), the derivative the
    interpolant's own, and any number of distinct alphas (one per channel, say) at the cost
    of a lookup. Because log Z grows with alpha, minimising this NLL can learn alpha, which
    minimising ``robust_loss`` alone cannot (rho only falls as alpha falls). The same
    ``|alpha - 2|`` clamp as ``robust_loss`` applies to the alpha gradient next to 2.

    >>> import numpy as np
    >>> y = robust_loss_nll(np.array([0.0]), 2.0, 1.0)  # the standard normal's -log p(0)
    >>> bool(np.isclose(y.item(), 0.5 * np.log(2 * np.pi)))
    True
    """
    op = "robust_loss_nll"
    x, alpha, scale = _robust_args(op, x, alpha, scale)
    a = alpha.data
    if not bool(((a >= 0) & (a <= K.ROBUST_ALPHA_MAX)).all()):
        raise ValueError(
            f"{op}: argument 'alpha' must lie in [0, {K.ROBUST_ALPHA_MAX:g}], received values "
            f"in [{float(a.min())}, {float(a.max())}]"
        )
    return RobustLoss(nll=True)(x, alpha, scale)


class TripletMarginLoss(Function):
    """``mean(max(d(a, p) - d(a, n) + margin, 0))`` with ``d(x, y) = ||x - y + eps||_p``."""

    def __init__(self, margin: float, p: float, eps: float):
        self.margin, self.p, self.eps = margin, p, eps

    def _distance(self, u):
        """``||u||_p`` over the last axis and its derivative ``sign(u) |u|^(p-1) / d^(p-1)``
        (zero where d = 0, as torch's norm)."""
        xp = get_array_module(u)
        if self.p == 2:
            d = xp.sqrt((u * u).sum(axis=-1))
            dd = u / xp.where(d == 0, 1, d)[..., None]
        else:
            d = (xp.abs(u) ** self.p).sum(axis=-1) ** (1 / self.p)
            dd = xp.sign(u) * (xp.abs(u) / xp.where(d == 0, 1, d)[..., None]) ** (self.p - 1)
        return d, dd

    def forward(self, a, pos, neg):
        d_pos, self.dd_pos = self._distance(a - pos + self.eps)
        d_neg, self.dd_neg = self._distance(a - neg + self.eps)
        z = self.margin + d_pos - d_neg
        self.active = z >= 0  # torch's clamp_min passes the gradient at z = 0 too
        return (z * self.active).mean()

    def backward(self, gy):
        g = (gy * self.active / max(self.active.size, 1))[..., None].astype(self.dd_pos.dtype)
        g_pos, g_neg = g * self.dd_pos, g * self.dd_neg
        return g_pos - g_neg, -g_pos, g_neg


def triplet_margin_loss(anchor, positive, negative, margin: float = 0.1, p: float = 2,
                        eps: float = 1e-6) -> Tensor:
    """The triplet ranking loss of NetVLAD and FaceNet, averaged over the triplets:
    ``mean(max(d(anchor, positive) - d(anchor, negative) + margin, 0))``.

    ``anchor``, ``positive`` and ``negative`` are embeddings of one shape: (N, D) for N
    triplets, or (D,) for one. ``d(x, y) = ||x - y + eps||_p``, the Euclidean distance for
    ``p = 2``; the small ``eps`` inside the norm is PyTorch's (``pairwise_distance``), so
    this equals ``torch.nn.functional.triplet_margin_loss`` and d never divides by zero.
    Triplets already separated by ``margin`` give zero loss and zero gradient.

    >>> import numpy as np
    >>> a, pos, neg = np.zeros((1, 2)), np.array([[0.0, 1.0]]), np.array([[0.0, 3.0]])
    >>> round(triplet_margin_loss(a, pos, neg, margin=2.5).item(), 4)  # 1 - 3 + 2.5
    0.5
    """
    op = "triplet_margin_loss"
    a = float_input(op, anchor, "anchor")
    pos, neg = (targets_like(v, a) for v in (positive, negative))
    if not a.shape == pos.shape == neg.shape or a.ndim not in (1, 2) or a.size == 0:
        raise ValueError(
            f"{op}: arguments 'anchor', 'positive' and 'negative' must be non-empty arrays of "
            f"one shape, (N, D) or (D,), received {a.shape}, {pos.shape} and {neg.shape}"
        )
    margin = checks.finite_float(op, "margin", margin)
    p = checks.finite_float(op, "p", p, 1.0)
    eps = checks.finite_float(op, "eps", eps, 0.0)
    return TripletMarginLoss(margin, p, eps)(a, pos, neg)
