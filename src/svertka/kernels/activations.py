"""Activation functions as pure array pairs, forward and backward side by side.

Every pair has the same signature, so one generic ``Function`` drives them all:

    <name>_forward(x, **params) -> y
    <name>_backward(gy, x, y, **params) -> gx

x, y, gy, gx: same shape (except maxout: x (..., C*pieces, ...) -> y (..., C, ...) on its
``axis``); the dtype of x is kept (float32 stays float32). Nothing here modifies its arguments.

Stability. No function overflows or produces NaN for finite inputs, however large:
exponentials only ever see non-positive arguments (or are capped below the dtype's
overflow limit). An exponential of a very negative number underflowing to 0 is the
intended result, so the kernels that can underflow run under ``np.errstate(under="ignore")``;
a caller running with ``np.errstate(all="raise")`` sees no error from them.

Speed. Selections are written as arithmetic on masks (``gy * (x > 0)``) rather than
``xp.where``, which NumPy runs several times slower with an unpredictable mask; these
functions sit in every training step.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from svertka.backend import get_array_module
from svertka.kernels.bias_relu import relu, relu_gate


def _underflow_is_zero(fn):
    """Run ``fn`` with NumPy underflow ignored: exp(-large) -> 0 is wanted, not an error."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with np.errstate(under="ignore"):  # a fresh errstate per call: safe when nested
            return fn(*args, **kwargs)

    return wrapped


def _is_cupy(xp) -> bool:
    return xp.__name__ == "cupy"


@functools.cache
def _exp_cap(dtype) -> float:
    """Largest ``t`` with ``exp(t)`` finite in ``dtype`` (88.0 in float32, 709.0 in float64)."""
    return float(math.floor(math.log(float(np.finfo(dtype).max))))


# erf / erfc: W. J. Cody, "Rational Chebyshev approximations for the error function",
# Math. Comp. 23 (1969), coefficients of his CALERF routine (SPECFUN, netlib). Relative error
# below 1e-15 in float64 on three intervals of |x|: (0, 0.46875], (0.46875, 4], (4, inf).
# fmt: off
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
# fmt: on
_THRESH = 0.46875
_SQRT_1_PI = 0.56418958354775628695  # 1 / sqrt(pi)
_ERFC_ZERO = 30.0  # erfc(30) ~ 1e-393: zero in every float type; also keeps y*y finite


def _erf_small(x):
    """erf(x) for |x| <= 0.46875."""
    z = x * x
    num, den = _A[4] * z, z.copy()
    for a, b in zip(_A[:3], _B[:3], strict=True):  # Horner, in place on fresh arrays
        num += a
        num *= z
        den += b
        den *= z
    num += _A[3]
    den += _B[3]
    num *= x
    num /= den
    return num


def _exp_neg_square(y):
    """exp(-y^2) as exp(-t^2) exp(-(y-t)(y+t)), t = y rounded down to 1/16 (Cody's device).

    t^2 is exact, so the large exponent carries no rounding error: this keeps erfc accurate
    in relative terms far into its tail.
    """
    xp = get_array_module(y)
    t = y * 16.0
    xp.trunc(t, out=t)
    t *= 0.0625
    d = t - y  # -(y - t)(y + t); the two exponentials stay apart, their sum would round
    d *= y + t
    xp.exp(d, out=d)
    t *= t
    xp.negative(t, out=t)
    xp.exp(t, out=t)
    t *= d
    return t


def _ratio(t, num, den):
    """Cody's rational form in Horner order, evaluated in place:
    ``(...((num[0] t + num[1]) t + ...) t + num[-1]`` over the same with a leading 1 and
    ``den`` (one coefficient fewer in front)."""
    n, d = num[0] * t, t.copy()
    for a, b in zip(num[1:-1], den[:-1], strict=True):
        n += a
        n *= t
        d += b
        d *= t
    n += num[-1]
    d += den[-1]
    n /= d
    return n


def _erfc_mid(y):
    """erfc(y) for 0.46875 < y <= 4."""
    num = _ratio(y, (_C[8], *_C[:7], _C[7]), _D[:8])
    num *= _exp_neg_square(y)
    return num


def _erfc_big(y):
    """erfc(y) for y > 4 (0 from y = 30 on, where the float64 result underflows anyway)."""
    y = get_array_module(y).minimum(y, _ERFC_ZERO)  # keeps y*y finite
    z = 1.0 / (y * y)
    num = _ratio(z, (_P[5], *_P[:4], _P[4]), _Q[:5])
    num *= z
    return (_SQRT_1_PI - num) / y * _exp_neg_square(y)


def _by_interval(x, small_fn, tail_fn):
    """Evaluate each element of x on its own interval of |x|: (0, 0.46875] by ``small_fn(x)``,
    the rest by ``tail_fn(x, erfc(|x|))``. Masks, not ``where``: no interval's polynomial runs
    on elements it does not serve (or could overflow on)."""
    xp = get_array_module(x)
    y = xp.abs(x)
    out = xp.empty_like(x)
    small = y <= _THRESH
    out[small] = small_fn(x[small])
    tail = ~small
    x, y = x[tail], y[tail]
    mid = y <= 4.0
    e = xp.empty_like(y)
    e[mid] = _erfc_mid(y[mid])
    e[~mid] = _erfc_big(y[~mid])
    out[tail] = tail_fn(x, e)
    return out


@_underflow_is_zero
def erf(x):
    """The error function, element-wise, to float64 precision (NumPy has no ``erf``).

    >>> import numpy as np
    >>> round(float(erf(np.array(1.0))), 12)
    0.84270079295
    """
    xp = get_array_module(x)
    if _is_cupy(xp):
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    return _by_interval(x, _erf_small, lambda x, e: xp.copysign(1.0 - e, x))


@_underflow_is_zero
def erfc(x):
    """``1 - erf(x)`` without cancellation: accurate in relative terms for large x too."""
    xp = get_array_module(x)
    if _is_cupy(xp):
        import cupyx.scipy.special

        return cupyx.scipy.special.erfc(x)
    # erfc(-y) = 2 - erfc(y); the select is exact for x >= 0 (e + 0).
    return _by_interval(x, lambda x: 1.0 - _erf_small(x), lambda x, e: e + (x < 0) * (2 - 2 * e))


def _positive_mask(x, like):
    """``(x > 0)`` as an array of ``like``'s dtype, written straight into a fresh array."""
    xp = get_array_module(x)
    return xp.greater(x, 0, out=xp.empty_like(like))


def step_forward(x, threshold=0.0, low=0.0, high=1.0):
    # high where x > threshold; low elsewhere: at x == threshold too, and for NaN. A select,
    # not low + (high - low) * mask, which rounds (0.1 + 0.2 is not 0.3).
    xp = get_array_module(x)
    return xp.where(x > threshold, x.dtype.type(high), x.dtype.type(low))


def step_backward(gy, x, y, threshold=0.0, low=0.0, high=1.0):
    return get_array_module(gy).zeros_like(gy)


def linear_threshold_forward(x, min_value, max_value):
    return get_array_module(x).clip(x, min_value, max_value)


def linear_threshold_backward(gy, x, y, min_value, max_value):
    return gy * ((x > min_value) & (x < max_value))


@_underflow_is_zero
def sigmoid_forward(x):
    # 1 / (1 + e^-x): exact in relative terms on both sides; e^-x is capped below overflow,
    # which makes sigmoid(x) for x < -88 (float32) a denormal ~1e-39 instead of 0.
    xp = get_array_module(x)
    y = xp.negative(x)
    xp.minimum(y, _exp_cap(x.dtype), out=y)
    xp.exp(y, out=y)
    y += 1
    return xp.reciprocal(y, out=y)


def sigmoid_backward(gy, x, y):
    return gy * y * (1 - y)


@_underflow_is_zero
def swish_forward(x):
    return x * sigmoid_forward(x)  # x * sigmoid(x), the stable sigmoid above


@_underflow_is_zero
def swish_backward(gy, x, y):
    # (x s)' = s + x s (1 - s) = s (1 + x (1 - s)), s = sigmoid(x) recomputed (PyTorch's form)
    s = sigmoid_forward(x)
    return gy * (s * (1 + x * (1 - s)))


def tanh_forward(x):
    return get_array_module(x).tanh(x)


def tanh_backward(gy, x, y):
    return gy * (1 - y * y)


def relu_forward(x):
    # max(x, 0), NaN kept: the rule kernels.rules.relu_zeroes, in the one compiled pass of
    # kernels.bias_relu where Numba takes x (NumPy's maximum makes more passes)
    return relu(x)


def relu_backward(gy, x, y):
    # gy where y > 0 (kernels.rules.relu_passes; y > 0 exactly where x > 0, NaN in neither)
    return relu_gate(gy, y)


def leaky_relu_forward(x, alpha):
    # max(x, alpha*x) when alpha <= 1, min(x, alpha*x) when alpha > 1: both pick x for x > 0.
    xp = get_array_module(x)
    y = x * alpha
    return xp.maximum(x, y, out=y) if alpha <= 1 else xp.minimum(x, y, out=y)


def leaky_relu_backward(gy, x, y, alpha):
    slope = _positive_mask(x, gy)  # slope = 1 for x > 0, alpha otherwise
    slope *= 1 - alpha
    slope += alpha
    slope *= gy
    return slope


def prelu_forward(x, alpha):
    xp = get_array_module(x)
    return xp.maximum(x, 0) + alpha * xp.minimum(x, 0)


def prelu_backward(gy, x, alpha):
    """(gx, galpha) with galpha still of x's shape: the caller undoes the broadcasting."""
    xp = get_array_module(x)
    gx = gy * ((x > 0) * (1 - alpha) + alpha)
    galpha = gy * xp.minimum(x, 0)
    return gx, galpha


def elu_forward(x, alpha):
    xp = get_array_module(x)
    # expm1 of a non-positive number: never overflows, and exact near 0.
    return xp.maximum(x, 0) + alpha * xp.expm1(xp.minimum(x, 0))


def elu_backward(gy, x, y, alpha):
    # For x <= 0 the derivative alpha*e^x equals y + alpha, so no second exponential.
    xp = get_array_module(x)
    slope = xp.minimum(y, 0) + alpha  # alpha * e^x for x <= 0, alpha for x > 0
    slope += (x > 0) * (1 - alpha)
    slope *= gy
    return slope


_SQRT_HALF = 0.70710678118654752440
_INV_SQRT_2PI = 0.39894228040143267794
_GELU_K = 0.79788456080286535588  # sqrt(2 / pi)
_GELU_C = 0.044715
_GELU_SATURATED = 100.0  # |x| beyond: tanh(u) is exactly +-1 in float64 and 1 - t^2 = 0


def _gaussian_cdf(x):
    return 0.5 * erfc(-_SQRT_HALF * x)


@_underflow_is_zero
def gelu_forward(x, approximate):
    xp = get_array_module(x)
    if approximate:
        xc = xp.clip(x, -_GELU_SATURATED, _GELU_SATURATED)  # keeps x^3 finite
        return 0.5 * x * (1 + xp.tanh(_GELU_K * (xc + _GELU_C * xc * xc * xc)))
    return x * _gaussian_cdf(x)


@_underflow_is_zero
def gelu_backward(gy, x, y, approximate):
    xp = get_array_module(x)
    if approximate:
        xc = xp.clip(x, -_GELU_SATURATED, _GELU_SATURATED)
        x2 = xc * xc
        t = xp.tanh(_GELU_K * (xc + _GELU_C * xc * x2))
        dt = (1 - t * t) * (_GELU_K * (1 + 3 * _GELU_C * x2))
        return gy * (0.5 * (1 + t) + 0.5 * xc * dt)
    # d/dx x Phi(x) = Phi(x) + x phi(x); Phi is recomputed rather than cached (cheap memory).
    xc = xp.clip(x, -40.0, 40.0)  # phi(40) underflows to 0 anyway; keeps x*x finite
    return gy * (_gaussian_cdf(x) + xc * _INV_SQRT_2PI * xp.exp(-0.5 * xc * xc))


@_underflow_is_zero
def softplus_forward(x):
    # ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|): the exponential never overflows.
    xp = get_array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def softplus_backward(gy, x, y):
    return gy * sigmoid_forward(x)


def softsign_forward(x):
    xp = get_array_module(x)
    return x / (1 + xp.abs(x))


@_underflow_is_zero
def softsign_backward(gy, x, y):
    xp = get_array_module(x)
    r = 1 / (1 + xp.abs(x))  # squared as r*r, not (1+|x|)^2, which overflows for huge x
    return gy * r * r


def naive_maxout(x, pieces, gy=None, axis=-1):
    """Maxout by its definition, one unit at a time: returns ``(y, gx)``, float64.

    Unit j of y (..., C) is the largest of x's channels j*pieces ... j*pieces + pieces - 1,
    x (..., C*pieces), channels on ``axis`` (the last by default); its gradient goes to that
    channel, the first of tied maxima (a NaN group: its first NaN, as max pooling's rule).
    ``gx`` is None without an upstream gradient ``gy`` (like y). The reference the tests
    compare the array pair below with; slow (Python loops).

    >>> y, gx = naive_maxout(np.array([2.0, 5.0, 5.0, 1.0]), 2, np.array([1.0, 1.0]))
    >>> y.tolist(), gx.tolist()  # a tie in the second unit: its first channel wins
    ([5.0, 5.0], [0.0, 1.0, 1.0, 0.0])
    """
    x = np.moveaxis(x, axis, -1)  # channels last
    gy = None if gy is None else np.moveaxis(gy, axis, -1)
    units = x.shape[-1] // pieces
    y = np.empty(x.shape[:-1] + (units,))
    gx = None if gy is None else np.zeros(x.shape)
    for idx in np.ndindex(x.shape[:-1]):
        for j in range(units):
            group = x[idx + (slice(j * pieces, (j + 1) * pieces),)]
            best = j * pieces + int(np.argmax(group))  # the first maximum, or the first NaN
            y[idx + (j,)] = x[idx + (best,)]
            if gx is not None:
                gx[idx + (best,)] += gy[idx + (j,)]
    return np.moveaxis(y, -1, axis), None if gx is None else np.moveaxis(gx, -1, axis)


def _groups(x, pieces, axis):
    """x (..., C*pieces, ...) viewed as (..., C, pieces, ...), channels on ``axis`` >= 0: unit
    j takes the consecutive channels j*pieces ... j*pieces + pieces - 1 (no copy)."""
    return x.reshape(x.shape[:axis] + (-1, pieces) + x.shape[axis + 1:])


def maxout_forward(x, pieces, axis):
    return _groups(x, pieces, axis).max(axis=axis + 1)  # (..., C, pieces, ...) -> (..., C, ...)


def maxout_backward(gy, x, y, pieces, axis):
    xp = get_array_module(x)
    first = xp.expand_dims(_groups(x, pieces, axis).argmax(axis=axis + 1), axis + 1)
    piece = xp.arange(pieces).reshape((pieces,) + (1,) * (x.ndim - axis - 1))  # (pieces, 1..)
    gx = (piece == first) * xp.expand_dims(gy, axis + 1)  # one-hot: argmax takes the first tie
    return gx.reshape(x.shape)


@_underflow_is_zero
def softmax_forward(x, axis):
    xp = get_array_module(x)
    y = x - x.max(axis=axis, keepdims=True)  # largest exponent is 0: no overflow
    xp.exp(y, out=y)
    y /= y.sum(axis=axis, keepdims=True)
    return y


def softmax_backward(gy, x, y, axis):
    return y * (gy - (gy * y).sum(axis=axis, keepdims=True))


@_underflow_is_zero
def log_softmax_forward(x, axis):
    xp = get_array_module(x)
    z = x - x.max(axis=axis, keepdims=True)
    z -= xp.log(xp.exp(z).sum(axis=axis, keepdims=True))
    return z


@_underflow_is_zero
def log_softmax_backward(gy, x, y, axis):
    xp = get_array_module(y)
    return gy - xp.exp(y) * gy.sum(axis=axis, keepdims=True)
