"""Local response, layer and group normalisation: differentiable, per-sample normalisations.

Unlike batch normalisation (``ops.norm``) none of them mixes the samples of a batch or keeps
running statistics, so they behave the same in training and at inference. Each has a
hand-written closed-form backward (``kernels.lrn``, ``kernels.layer_norm``).

>>> import numpy as np, svertka
>>> from svertka import ops
>>> x = svertka.Tensor(np.array([[1.0, 2.0, 3.0, 4.0]]))
>>> ops.layer_norm(x, None, None, epsilon=1e-9).numpy().round(4).tolist()
[[-1.3416, -0.4472, 0.4472, 1.3416]]
"""

from __future__ import annotations

from svertka import backend, checks
from svertka.autograd import Function, Tensor
from svertka.kernels import layer_norm as KN
from svertka.kernels import lrn as KL
from svertka.ops._inputs import float_input


class LocalResponseNorm(Function):
    def __init__(self, size: int, alpha: float, beta: float, k: float):
        self.params = size, alpha, beta, k

    def forward(self, x):
        y, self.cache = KL.lrn_forward(x, *self.params)
        return y

    def backward(self, gy):
        return (KL.lrn_backward(gy, self.cache),)


class _Normalize(Function):
    """Layer or group norm: ``forward(x, [gamma], [beta])`` through one kernel pair."""

    def __init__(self, kernels, has_gamma: bool, has_beta: bool, **params):
        self.kernels, self.params = kernels, params
        self.has_gamma, self.has_beta = has_gamma, has_beta

    def forward(self, x, *params):
        gamma = params[0] if self.has_gamma else None
        beta = params[-1] if self.has_beta else None
        y, self.cache = self.kernels[0](x, gamma=gamma, beta=beta, **self.params)
        return y

    def backward(self, gy):
        gx, ggamma, gbeta = self.kernels[1](gy, self.cache)
        return (gx,) + ((ggamma,) if self.has_gamma else ()) + ((gbeta,) if self.has_beta else ())


def _nonempty(op: str, x, rank: int, what: str):
    """``x`` as a float Tensor of rank >= ``rank`` with at least one value."""
    x = float_input(op, x)
    if x.ndim < rank:
        raise ValueError(
            f"{op}: argument 'x' must be a float array of rank >= {rank} {what}, "
            f"received shape {x.shape} and dtype {x.dtype}"
        )
    if x.size == 0:
        raise ValueError(f"{op}: argument 'x' must not be empty, received shape {x.shape}")
    return x


def _params(op: str, x, shape: tuple, why: str, **values) -> list:
    """The given (not None) parameters as Tensors of ``shape`` (arrays take x's dtype)."""
    params = []
    for name, p in values.items():
        if p is None:
            continue
        p = p if isinstance(p, Tensor) else Tensor(backend.asarray(p, dtype=x.dtype))
        if p.shape != shape:
            raise ValueError(
                f"{op}: argument '{name}' must have shape {shape} to match {why}, "
                f"received {p.shape}"
            )
        params.append(p)
    return params


def local_response_norm(
    x, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0
) -> Tensor:
    """Local response normalisation across channels (AlexNet's, Krizhevsky et al. 2012 §3.3),
    exactly ``torch.nn.functional.local_response_norm``:

    ``y_c = x_c / (k + alpha / size * sum_{c' in window(c)} x_{c'}**2) ** beta``

    over the last (channels) axis of ``x`` (N, ..., C), rank >= 2. The window holds ``size``
    channels, ``size // 2`` before ``c`` and ``(size - 1) // 2`` after it (centred for odd
    sizes), channels outside the range counting as zeros; ``alpha`` is divided by ``size``.
    The defaults are AlexNet's ``n = 5, alpha = 1e-4, beta = 0.75, k = 2`` (PyTorch's
    default ``k`` is 1).

    Conversions. The paper, and TensorFlow's ``tf.nn.local_response_normalization(x,
    depth_radius, bias, alpha, beta)``, do not divide alpha: TF's ``sqr_sum`` runs over the
    ``2 * depth_radius + 1`` channels around ``c``, so TF's call equals this one with
    ``size = 2 * depth_radius + 1``, ``alpha = alpha_tf * size``, ``k = bias``; the paper's
    ``alpha = 1e-4`` is ``alpha = 5e-4`` here. Even sizes have no TF equivalent.

    Backward (``kernels.lrn.lrn_backward``): ``gx_j = gy_j d_j**-beta - 2 alpha beta / size
    * x_j * sum_{c: j in window(c)} gy_c y_c / d_c`` with ``d`` the base of the denominator.

    >>> import numpy as np, svertka
    >>> x = svertka.Tensor(np.array([[1.0, 1.0, 1.0]]))
    >>> local_response_norm(x, size=3, alpha=3.0, beta=1.0, k=1.0).numpy().round(4).tolist()
    [[0.3333, 0.25, 0.3333]]
    """
    op = "local_response_norm"
    size = checks.positive_int(op, "size", size)
    alpha = checks.finite_float(op, "alpha", alpha, 0.0)
    beta = checks.finite_float(op, "beta", beta)
    k = checks.finite_float(op, "k", k, 0.0, low_open=True)
    x = _nonempty(op, x, 2, "(N, ..., C)")
    return LocalResponseNorm(size, alpha, beta, k)(x)


def normalized_axes(op: str, axis, ndim: int) -> tuple:
    """``axis`` (an int or a sequence of distinct ints, negative counting from the end) as
    sorted non-negative axes of a rank-``ndim`` array."""
    expected = f"an int or a non-empty list of distinct ints in [{-ndim}, {ndim - 1}]"
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not axes or not all(checks.is_int(a) for a in axes):
        raise TypeError(f"{op}: argument 'axis' must be {expected}, received {axis!r}")
    if not all(-ndim <= a < ndim for a in axes):
        raise ValueError(
            f"{op}: argument 'axis' must be {expected} for x of rank {ndim}, received {axis!r}"
        )
    norm = sorted(int(a) % ndim for a in axes)
    if len(set(norm)) != len(norm):
        raise ValueError(
            f"{op}: argument 'axis' must be {expected}, received {axis!r}, which names an "
            f"axis twice"
        )
    return tuple(norm)


def layer_norm(x, gamma, beta, axis=-1, epsilon: float = 1e-3) -> Tensor:
    """Layer normalisation (Ba et al. 2016), Keras's ``LayerNormalization`` semantics: each
    sample standardised over ``axis`` (an int or a list of ints), then scaled and shifted.

    ``y = gamma (x - mean) / sqrt(var + epsilon) + beta``, mean and biased variance over
    ``axis`` for every index of the other axes. ``gamma``, ``beta`` shaped like ``x`` over
    those axes (in increasing axis order), ``tuple(x.shape[a] for a in sorted(axis))``, or
    None for no scale / no centre. With ``axis`` the last k axes this is PyTorch's
    ``F.layer_norm(x, x.shape[-k:], gamma, beta, epsilon)`` (whose default epsilon is 1e-5,
    Keras's 1e-3). Backward is the closed form
    ``gx = (g - mean(g) - xhat mean(g xhat)) / sqrt(var + epsilon)``, ``g = gamma gy``.

    >>> import numpy as np, svertka
    >>> x = svertka.Tensor(np.array([[[1.0], [3.0]], [[0.0], [10.0]]]))  # (2, 2, 1)
    >>> y = layer_norm(x, np.full((2, 1), 2.0), None, axis=[1, 2], epsilon=1e-12)
    >>> y.numpy().round(6).ravel().tolist()
    [-2.0, 2.0, -2.0, 2.0]
    """
    op = "layer_norm"
    x = _nonempty(op, x, 1, "")
    axes = normalized_axes(op, axis, x.ndim)
    epsilon = checks.finite_float(op, "epsilon", epsilon, 0.0, low_open=True)
    shape = tuple(x.shape[a] for a in axes)
    params = _params(op, x, shape, f"x of shape {x.shape} over axes {list(axes)}",
                     gamma=gamma, beta=beta)
    kernels = (KN.layer_norm_forward, KN.layer_norm_backward)
    fn = _Normalize(kernels, gamma is not None, beta is not None, axes=axes, eps=epsilon)
    return fn(x, *params)


def group_norm(x, groups: int, gamma, beta, epsilon: float = 1e-3) -> Tensor:
    """Group normalisation (Wu & He 2018), Keras 3's ``GroupNormalization`` on channels-last
    ``x`` (N, ..., C): the C channels split into ``groups`` runs of C / groups consecutive
    channels, each sample standardised over (all positions, the channels of one group).

    ``y = gamma (x - mean_g) / sqrt(var_g + epsilon) + beta`` with ``gamma``, ``beta`` (C,)
    per channel, or None. ``groups = 1`` is layer norm over (..., C) with per-channel
    parameters; ``groups = C`` is instance norm. PyTorch's ``F.group_norm`` on the
    channels-first layout. ``C`` must be divisible by ``groups``.

    >>> import numpy as np, svertka
    >>> x = svertka.Tensor(np.array([[1.0, 3.0, 10.0, 30.0]]))  # (1, 4): groups (1, 3), (10, 30)
    >>> group_norm(x, 2, None, None, epsilon=1e-12).numpy().round(6).tolist()
    [[-1.0, 1.0, -1.0, 1.0]]
    """
    op = "group_norm"
    groups = checks.positive_int(op, "groups", groups)
    x = _nonempty(op, x, 2, "(N, ..., C)")
    epsilon = checks.finite_float(op, "epsilon", epsilon, 0.0, low_open=True)
    channels = x.shape[-1]
    if channels % groups:
        raise ValueError(
            f"{op}: argument 'groups' must divide the {channels} channels of x (shape "
            f"{x.shape}) into equal groups, received groups={groups}"
        )
    params = _params(op, x, (channels,), f"the {channels} channels of x", gamma=gamma, beta=beta)
    kernels = (KN.group_norm_forward, KN.group_norm_backward)
    fn = _Normalize(kernels, gamma is not None, beta is not None, groups=groups, eps=epsilon)
    return fn(x, *params)


__all__ = ["group_norm", "layer_norm", "local_response_norm", "normalized_axes"]
