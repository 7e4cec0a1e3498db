"""Activation functions: the non-linearities of the notes, each with a hand-written gradient.

The array maths (forward/backward pairs) lives in ``svertka.kernels.activations``; here one
generic ``Activation`` Function drives every single-input pair, ``PReLU`` handles its
learnable slope, and the public functions validate their arguments once.

All functions keep the input's dtype (float32 stays float32) and are stable for any finite
input: no overflow, no NaN, e.g. for x = +-1000 in float32 and float64.

>>> import numpy as np, svertka
>>> from svertka import ops
>>> ops.relu(svertka.Tensor([-1.0, 2.0])).numpy().tolist()
[0.0, 2.0]
>>> get_activation("sigmoid")(svertka.Tensor([0.0])).numpy().tolist()
[0.5]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from svertka import checks
from svertka.autograd import Function, Tensor, as_tensor, unbroadcast
from svertka.kernels import activations as ka
from svertka.ops._inputs import float_input, float_inputs


class Activation(Function):
    """``y = f(x)`` for one kernel pair ``forward(x, **p)``, ``backward(gy, x, y, **p)``.

    Keeps x and y for backward (the cache): each derivative is written in whichever is
    cheaper, e.g. sigmoid' = y (1 - y), relu' = (x > 0).
    """

    def __init__(self, forward, backward, **params):
        self.kernels = forward, backward
        self.params = params

    def forward(self, x):
        self.x = x
        self.y = self.kernels[0](x, **self.params)
        return self.y

    def backward(self, gy):
        return (self.kernels[1](gy, self.x, self.y, **self.params),)


class PReLU(Function):
    """``y = x`` for x > 0, ``alpha * x`` otherwise, with a learnable ``alpha``."""

    def forward(self, x, alpha):
        self.x, self.alpha = x, alpha
        return ka.prelu_forward(x, alpha)

    def backward(self, gy):
        gx, galpha = ka.prelu_backward(gy, self.x, self.alpha)
        return gx, unbroadcast(galpha, self.alpha.shape)


def _apply(op: str, x, pair, **params) -> Tensor:
    return Activation(*pair, **params)(float_input(op, x))


def _axis(op: str, x: Tensor, axis) -> int:
    axis = checks.integer(op, "axis", axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(
            f"{op}: argument 'axis' must be in [{-x.ndim}, {x.ndim}) for x of "
            f"shape {x.shape}, received {axis}"
        )
    return axis % x.ndim


def _levels(op: str, low, high, names=("low", "high")) -> tuple[float, float]:
    """Two finite levels with ``low < high``, as Python floats; ``names``: the arguments'."""
    lo = checks.finite_float(op, names[0], low)
    hi = checks.finite_float(op, names[1], high)
    if not lo < hi:
        raise ValueError(
            f"{op}: argument '{names[0]}' must be below '{names[1]}', "
            f"received {names[0]}={lo}, {names[1]}={hi}"
        )
    return lo, hi


def step(x, threshold: float = 0.0, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Step ("hard threshold") unit: ``high`` where x > threshold, ``low`` otherwise.

    The defaults give the Heaviside step of the notes, "A = 1 if Y > threshold, else A = 0".
    At x == threshold the result is ``low``: the notes' formal definition is the strict
    "Y > threshold" (their later wording, "below the threshold the minimum, otherwise the
    maximum", differs only at that one point; ``threshold=np.nextafter(t, -np.inf)`` gives
    it). NaN gives ``low``. ``low < high``, both finite (ValueError otherwise).

    The gradient is zero everywhere: the true derivative is a Dirac delta at the threshold,
    which no finite-difference or chain-rule step can use. That is why the perceptron-era
    step unit was trained with the perceptron rule, not by backpropagation, and why smooth or
    piecewise-linear activations replaced it.

    >>> import svertka
    >>> step(svertka.Tensor([-1.0, 0.0, 2.0])).numpy().tolist()
    [0.0, 0.0, 1.0]
    >>> step(svertka.Tensor([0.2, 0.5, 0.7]), threshold=0.5, low=-1.0, high=1.0).numpy().tolist()
    [-1.0, -1.0, 1.0]
    """
    threshold = checks.finite_float("step", "threshold", threshold)
    low, high = _levels("step", low, high)
    return _apply(
        "step", x, (ka.step_forward, ka.step_backward), threshold=threshold, low=low, high=high
    )


def linear_threshold(x, min_value: float = -1.0, max_value: float = 1.0) -> Tensor:
    """Saturating piecewise-linear unit: the identity clipped to [min_value, max_value].

    y = min_value for x < min_value, x in between, max_value above; with (0, 1) this is
    the notes' "hard linear threshold", with (-1, 1) it is PyTorch's ``hardtanh``. The
    gradient is 1 strictly inside and 0 outside; at the two kinks x = min_value and
    x = max_value it is taken as 0 (a valid subgradient, and PyTorch's choice). The layer
    ``LinearThreshold(low, high)`` names the limits as ``step`` names its levels.

    >>> import svertka
    >>> linear_threshold(svertka.Tensor([-3.0, 0.5, 3.0]), 0.0, 1.0).numpy().tolist()
    [0.0, 0.5, 1.0]
    """
    lo, hi = _levels("linear_threshold", min_value, max_value, ("min_value", "max_value"))
    return _apply(
        "linear_threshold",
        x,
        (ka.linear_threshold_forward, ka.linear_threshold_backward),
        min_value=lo,
        max_value=hi,
    )


def sigmoid(x) -> Tensor:
    """Logistic sigmoid 1 / (1 + e^-x), in (0, 1); derivative f (1 - f).

    >>> import svertka
    >>> sigmoid(svertka.Tensor([0.0])).numpy().tolist()
    [0.5]
    """
    return _apply("sigmoid", x, (ka.sigmoid_forward, ka.sigmoid_backward))


def swish(x) -> Tensor:
    """Swish / SiLU, ``x * sigmoid(x)`` (Ramachandran et al.; Elfwing et al.'s SiLU): smooth,
    not monotonic (its minimum is about -0.278 at x = -1.278); derivative
    ``s (1 + x (1 - s))`` with ``s = sigmoid(x)``. Keras's ``'swish'`` and ``'silu'``.

    >>> import svertka
    >>> round(swish(svertka.Tensor([1.0])).item(), 4)
    0.7311
    """
    return _apply("swish", x, (ka.swish_forward, ka.swish_backward))


def tanh(x) -> Tensor:
    """Hyperbolic tangent, in (-1, 1); derivative 1 - f^2.

    >>> import svertka
    >>> tanh(svertka.Tensor([0.0])).numpy().tolist()
    [0.0]
    """
    return _apply("tanh", x, (ka.tanh_forward, ka.tanh_backward))


def relu(x) -> Tensor:
    """Rectified linear unit max(x, 0); gradient 1 for x > 0 and 0 otherwise (0 at x = 0).

    >>> import svertka
    >>> relu(svertka.Tensor([-2.0, 3.0])).numpy().tolist()
    [0.0, 3.0]
    """
    return _apply("relu", x, (ka.relu_forward, ka.relu_backward))


def leaky_relu(x, alpha: float = 0.2) -> Tensor:
    """y = x for x > 0, alpha * x otherwise. The default slope is Keras 3's for the function
    (``keras.ops.leaky_relu``, and ``activation="leaky_relu"``): 0.2; the ``LeakyReLU``
    layer's own default is 0.3, as Keras's layer.

    The gradient at x = 0 is alpha (the x <= 0 branch), as in PyTorch.

    >>> import svertka
    >>> leaky_relu(svertka.Tensor([-2.0, 3.0]), alpha=0.5).numpy().tolist()
    [-1.0, 3.0]
    """
    alpha = checks.finite_float("leaky_relu", "alpha", alpha)
    return _apply("leaky_relu", x, (ka.leaky_relu_forward, ka.leaky_relu_backward), alpha=alpha)


def prelu(x, alpha) -> Tensor:
    """Parametric ReLU: y = x for x > 0, alpha * x otherwise, with alpha learned.

    ``alpha`` is a Tensor broadcast against x from the right: shape (C,) gives one slope per
    channel of a channels-last x (N, H, W, C); any shape that broadcasts to x's shape works
    (() for one shared slope, x's own shape for one per element). For alpha < 1 this is
    max(alpha x, x). Both x and alpha receive gradients; alpha's is summed back to its shape.

    >>> import numpy as np, svertka
    >>> x = svertka.Tensor(np.array([[-2.0, -2.0], [1.0, 1.0]]))
    >>> prelu(x, svertka.Tensor(np.array([0.1, 0.5]))).numpy().tolist()
    [[-0.2, -1.0], [1.0, 1.0]]
    """
    x = float_input("prelu", x)
    (alpha,) = float_inputs("prelu", alpha=alpha)
    alpha = as_tensor(alpha, like=x)
    try:
        fits = np.broadcast_shapes(alpha.shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"prelu: argument 'alpha' must broadcast to x's shape {x.shape} "
            f"(e.g. ({x.shape[-1] if x.ndim else 1},) for one slope per channel), "
            f"received shape {alpha.shape}"
        )
    return PReLU()(x, alpha)


def elu(x, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: x for x > 0, alpha (e^x - 1) for x <= 0; range [-alpha, inf).

    The derivative for x <= 0 is alpha e^x = y + alpha (continuous at 0 when alpha = 1).

    >>> import svertka
    >>> round(elu(svertka.Tensor([-1.0])).item(), 4)
    -0.6321
    """
    alpha = checks.finite_float("elu", "alpha", alpha)
    return _apply("elu", x, (ka.elu_forward, ka.elu_backward), alpha=alpha)


def gelu(x, approximate: bool = False) -> Tensor:
    """Gaussian error linear unit x Phi(x), Phi the standard normal CDF.

    ``approximate=False`` computes Phi exactly through erf (W. J. Cody's rational
    approximation, float64-accurate, since NumPy has no erf; CuPy's own erfc on the GPU).
    ``approximate=True`` uses 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as PyTorch's
    ``approximate='tanh'``.

    >>> import svertka
    >>> round(gelu(svertka.Tensor([1.0])).item(), 4)
    0.8413
    """
    approximate = checks.flag("gelu", "approximate", approximate)
    return _apply("gelu", x, (ka.gelu_forward, ka.gelu_backward), approximate=approximate)


def softplus(x) -> Tensor:
    """ln(1 + e^x), computed as max(x, 0) + ln(1 + e^-|x|); derivative sigmoid(x).

    >>> import svertka
    >>> round(softplus(svertka.Tensor([0.0])).item(), 4)
    0.6931
    """
    return _apply("softplus", x, (ka.softplus_forward, ka.softplus_backward))


def softsign(x) -> Tensor:
    """x / (1 + |x|), in (-1, 1); derivative 1 / (1 + |x|)^2.

    >>> import svertka
    >>> softsign(svertka.Tensor([1.0, -3.0])).numpy().tolist()
    [0.5, -0.75]
    """
    return _apply("softsign", x, (ka.softsign_forward, ka.softsign_backward))


def maxout(x, pieces: int, axis: int = -1) -> Tensor:
    """Maxout (Goodfellow et al. 2013): the maximum over groups of ``pieces`` consecutive
    channels of ``axis`` (the last: channels-last feature maps), for x of any rank.

    x (..., C * pieces) -> y (..., C); unit j takes channels j*pieces ... j*pieces + pieces-1
    (the paper's ``h_j = max_i z_ji`` with piece i of unit j stored at channel j*pieces + i),
    as PyTorch's ``x.unflatten(-1, (C, pieces)).max(-1)``. On feature maps (N, H, W,
    C * pieces) the maximum is taken at each pixel across channels, never across pixels.
    Among tied maxima the gradient goes to the first piece only, as PyTorch's ``max(dim)``
    with its indices (a group holding NaN gives NaN, its gradient to its first NaN). A Maxout
    layer is a Dense or convolution to ``units * pieces`` outputs followed by this
    (``layers.Maxout``, ``layers.MaxoutConv2D``).

    >>> import numpy as np, svertka
    >>> maxout(svertka.Tensor(np.array([1.0, 5.0, 3.0, 2.0])), pieces=2).numpy().tolist()
    [5.0, 3.0]
    >>> maxout(svertka.Tensor(np.zeros((2, 4, 4, 6))), pieces=3).shape
    (2, 4, 4, 2)
    """
    x = float_input("maxout", x)
    pieces = checks.positive_int("maxout", "pieces", pieces)
    if x.ndim == 0:
        raise ValueError(
            "maxout: argument 'x' must have an axis of channels, received a scalar (shape ())"
        )
    axis = _axis("maxout", x, axis)
    if x.shape[axis] % pieces:
        raise ValueError(
            f"maxout: axis {axis} of argument 'x' must have a length divisible by "
            f"pieces={pieces}, received shape {x.shape}"
        )
    return Activation(ka.maxout_forward, ka.maxout_backward, pieces=pieces, axis=axis)(x)


def softmax(x, axis: int = -1) -> Tensor:
    """e^x / sum(e^x) along ``axis``, computed after subtracting the maximum (no overflow).

    Backward in closed form: gx = y (gy - sum(gy y)).

    >>> import svertka
    >>> softmax(svertka.Tensor([0.0, 0.0])).numpy().tolist()
    [0.5, 0.5]
    """
    x = float_input("softmax", x)
    axis = _axis("softmax", x, axis)
    return Activation(ka.softmax_forward, ka.softmax_backward, axis=axis)(x)


def log_softmax(x, axis: int = -1) -> Tensor:
    """x - log(sum(e^x)) along ``axis``, stable (max subtracted); gx = gy - e^y sum(gy).

    >>> import svertka
    >>> round(float(log_softmax(svertka.Tensor([0.0, 0.0])).numpy()[0]), 4)
    -0.6931
    """
    x = float_input("log_softmax", x)
    axis = _axis("log_softmax", x, axis)
    return Activation(ka.log_softmax_forward, ka.log_softmax_backward, axis=axis)(x)


def linear(x) -> Tensor:
    """The identity (Keras's ``activation=None`` / ``'linear'``)."""
    return as_tensor(x)


ACTIVATIONS: dict[str, Callable] = {
    "step": step,
    "linear_threshold": linear_threshold,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "swish": swish,
    "silu": swish,  # Keras 3's name for the same function
    "leaky_relu": leaky_relu,
    "elu": elu,
    "gelu": gelu,
    "softplus": softplus,
    "softsign": softsign,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "linear": linear,
}

_NEED_ARGUMENTS = {
    "prelu": "its learnable slope 'alpha': call svertka.ops.prelu(x, alpha)",
    "maxout": "the number of 'pieces': call svertka.ops.maxout(x, pieces)",
}


def get_activation(name_or_callable) -> Callable:
    """The activation function for a name in ``ACTIVATIONS``, a callable, or None (identity).

    A callable is returned unchanged. ``'prelu'`` and ``'maxout'`` are not available by
    name because they need extra arguments.

    >>> get_activation("relu") is relu, get_activation(None) is linear
    (True, True)
    """
    if name_or_callable is None:
        return linear
    if isinstance(name_or_callable, str):
        if name_or_callable in ACTIVATIONS:
            return ACTIVATIONS[name_or_callable]
        if name_or_callable in _NEED_ARGUMENTS:
            raise ValueError(
                f"get_activation: '{name_or_callable}' cannot be made from its "
                f"name alone, it needs {_NEED_ARGUMENTS[name_or_callable]}"
            )
        raise ValueError(
            f"get_activation: argument 'name' must be one of "
            f"{sorted(ACTIVATIONS)}, received {name_or_callable!r}"
        )
    if callable(name_or_callable):
        return name_or_callable
    raise TypeError(
        f"get_activation: argument 'name_or_callable' must be a string, a callable "
        f"or None, received {type(name_or_callable).__name__}"
    )
