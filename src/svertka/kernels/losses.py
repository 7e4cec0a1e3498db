"""Loss functions as pure forward/backward array pairs.

Shape legend: ``z`` logits (N, K), ``p`` predicted probabilities, ``t`` targets (same shape as
``p``, or integer class ids (N,) for the sparse softmax loss), ``gy`` the upstream gradient of
the scalar loss (a 0-d array). Every ``*_forward`` returns ``(loss, cache)``; the matching
``*_backward(gy, cache)`` returns the gradients, ``None`` where none is defined.
Barron's robust loss (element-wise, ``x`` residuals, ``a`` alpha, ``c`` scale) closes the file.
"""

from __future__ import annotations

import functools

import numpy as np

from svertka.backend import get_array_module

KERAS_EPSILON = 1e-7  # keras.backend.epsilon(): probabilities are clipped to [eps, 1 - eps]


def _log_softmax(z):
    xp = get_array_module(z)
    shifted = z - z.max(axis=-1, keepdims=True)  # exp never overflows
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy_forward(z, t):
    """Mean over the batch of ``-sum_k t_k log softmax(z)_k``.

    ``t`` is either integer class ids (N,) or targets (N, K) (one-hot or soft). The cache
    holds the log-probabilities, from which backward rebuilds the softmax.
    """
    xp = get_array_module(z)
    logp = _log_softmax(z)  # (N, K)
    n = z.shape[0]
    if t.ndim == 1:
        picked = logp[xp.arange(n), t]  # (N,): log-probability of each true class
        loss = -picked.sum() / n
    else:
        loss = -(t * logp).sum() / n
    return xp.asarray(loss, dtype=z.dtype), (logp, t)


def softmax_cross_entropy_backward(gy, cache):
    """``gz = (softmax(z) * sum(t) - t) / N``, fused (no softmax Jacobian is formed).

    For soft targets the target also gets its gradient ``-log softmax(z) / N``; integer
    class ids get ``None``.
    """
    xp = get_array_module(gy)
    logp, t = cache
    n = logp.shape[0]
    p = xp.exp(logp)
    if t.ndim == 1:
        p[xp.arange(n), t] -= 1  # p is a fresh array: subtracting the one-hot in place is safe
        return p * (gy / n), None
    gz = (p * t.sum(axis=-1, keepdims=True) - t) * (gy / n)
    return gz, logp * (-gy / n)


def categorical_crossentropy_forward(t, p, eps=KERAS_EPSILON):
    """Keras's categorical cross-entropy on probabilities, averaged over all but the last axis.

    ``p`` is first divided by its sum along the last axis, then clipped to ``[eps, 1 - eps]``;
    the per-sample loss is ``-sum(t * log(q))``.
    """
    xp = get_array_module(p)
    total = p.sum(axis=-1, keepdims=True)  # (..., 1)
    q = p / total
    qc = xp.clip(q, eps, 1 - eps)
    logq = xp.log(qc)
    count = p.size // p.shape[-1] if p.ndim else 1  # samples the loss is averaged over
    loss = -(t * logq).sum() / count
    # As tf.clip_by_value: the gradient passes where eps <= q <= 1 - eps, boundaries included.
    inside = (q >= eps) & (q <= 1 - eps)
    return xp.asarray(loss, dtype=p.dtype), (t, q, qc, logq, total, inside, count)


def categorical_crossentropy_backward(gy, cache):
    """Gradients for ``t`` and ``p``; the one for ``p`` runs through the normalisation.

    With ``g = dL/dq`` (zero where clipped), ``q = p / S`` gives
    ``dL/dp_j = (g_j - sum_k g_k q_k) / S``.
    """
    t, q, qc, logq, total, inside, count = cache
    scale = gy / count
    g = -t / qc * inside
    gp = (g - (g * q).sum(axis=-1, keepdims=True)) / total * scale
    return -logq * scale, gp


def binary_crossentropy_forward(t, p, eps=KERAS_EPSILON):
    """Keras's binary cross-entropy on probabilities clipped to ``[eps, 1 - eps]``; the mean."""
    xp = get_array_module(p)
    pc = xp.clip(p, eps, 1 - eps)
    log_p, log_1mp = xp.log(pc), xp.log1p(-pc)
    loss = -(t * log_p + (1 - t) * log_1mp).sum() / p.size
    inside = (p >= eps) & (p <= 1 - eps)
    return xp.asarray(loss, dtype=p.dtype), (t, pc, log_p, log_1mp, inside)


def binary_crossentropy_backward(gy, cache):
    t, pc, log_p, log_1mp, inside = cache
    scale = gy / pc.size
    gp = (pc - t) / (pc * (1 - pc)) * inside * scale  # = -(t / p - (1 - t) / (1 - p))
    return (log_1mp - log_p) * scale, gp


def binary_crossentropy_logits_forward(t, z):
    """``mean(max(z, 0) - z t + log1p(exp(-|z|)))``: sigmoid + cross-entropy, no overflow."""
    xp = get_array_module(z)
    loss = (xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))).sum() / z.size
    return xp.asarray(loss, dtype=z.dtype), (t, z)


def binary_crossentropy_logits_backward(gy, cache):
    xp = get_array_module(gy)
    t, z = cache
    scale = gy / z.size
    e = xp.exp(-xp.abs(z))  # sigmoid from exp(-|z|) <= 1, stable on both sides
    sig = xp.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return -z * scale, (sig - t) * scale


def mean_squared_error_forward(t, p):
    xp = get_array_module(p)
    d = p - t
    return xp.asarray((d * d).sum() / d.size, dtype=p.dtype), d


def mean_squared_error_backward(gy, d):
    gp = d * (2 * gy / d.size)
    return -gp, gp


# Barron (2019), "A General and Adaptive Robust Loss Function":
#     rho(x, a, c) = |a-2|/a * (((x/c)^2 / |a-2| + 1)^(a/2) - 1).
# With s = (x/c)^2, b = |a-2|, sigma = sign(a-2), L = log1p(s/b) and w = exp(sigma b L / 2)
# (which is ((s/b + 1)^(a/2 - 1)), two exact rewritings cover every finite alpha:
#   away from a = 0:  rho = (s w + b expm1(sigma b L / 2)) / a, exact at b = 0 (rho = s/2);
#   near a = 0:       rho = (b L / 2) phi(a L / 2), phi(t) = expm1(t)/t, exact at a = 0.
# Neither nudges alpha, so values are exact at a = 0 and a = 2, not approximations.
ROBUST_ALPHA_GAP = float(np.finfo(np.float32).eps)  # Barron's clamp on |a-2| (derivative only)
_NEAR_ZERO = 1.0  # |a| below this uses the phi form
_PHI_SERIES = 0.5  # |t| below this evaluates phi'(t) by its Taylor series


def _phi(t):
    """``expm1(t) / t`` with its limit 1 at t = 0."""
    xp = get_array_module(t)
    zero = t == 0
    t_ = xp.where(zero, 1, t)
    return xp.where(zero, 1, xp.expm1(t_) / t_)


def _dphi(t):
    """``phi'(t) = (t e^t - expm1(t)) / t^2``; a Taylor series where that would cancel."""
    xp = get_array_module(t)
    small = xp.abs(t) < _PHI_SERIES
    series = xp.zeros_like(t)
    for k in range(14, 0, -1):  # sum_k k t^(k-1) / (k+1)!, Horner; 14 terms: error < 1e-17
        series = series * t + k / float(np.prod(np.arange(1, k + 2, dtype=np.float64)))
    t_ = xp.where(small, 1, t)
    direct = (t_ * xp.exp(t_) - xp.expm1(t_)) / (t_ * t_)
    return xp.where(small, series, direct)


def _b_log1p(s, b):
    """``b * log1p(s / b)`` with its limit 0 at b = 0."""
    xp = get_array_module(s, b)
    pos = b > 0
    return xp.where(pos, b * xp.log1p(s / xp.where(pos, b, 1)), 0)


def robust_rho(x, a, c, with_grads=False):
    """Barron's rho(x, a, c), element-wise, for any alpha in [-inf, inf] and c > 0.

    Returns ``rho`` (the broadcast shape of x, a, c) and, with ``with_grads``, also the
    partial derivatives ``(drho/dx, drho/da, drho/dc)`` of that same shape.

    ``drho/da`` diverges like ``log|a-2|`` as alpha approaches 2 (rho has a vertical tangent
    there), so for ``|a-2| < ROBUST_ALPHA_GAP`` it is evaluated at ``|a-2| = ROBUST_ALPHA_GAP``
    (on alpha's side of 2), as Barron's reference code clamps ``|a-2|``; rho itself is exact.
    At ``a = +-inf`` it is 0 (the limit). ``drho/dx = (x/c^2) w`` and ``drho/dc = -(s/c) w``
    hold for every alpha.
    """
    xp = get_array_module(x, a, c)
    s = (x / c) ** 2
    s, a = xp.broadcast_arrays(s, a)
    pos_inf, neg_inf = a == np.inf, a == -np.inf
    finite = ~(pos_inf | neg_inf)
    a_ = xp.where(finite, a, 1)  # infinite alphas are replaced by their limits below
    b = xp.abs(a_ - 2)
    sigma = 1 - 2 * (a_ < 2).astype(b.dtype)
    near0 = xp.abs(a_) < _NEAR_ZERO
    a_far = xp.where(near0, 1, a_)
    half_e = sigma * _b_log1p(s, b) / 2
    w = xp.exp(half_e)
    rho_far = (s * w + b * xp.expm1(half_e)) / a_far
    b_near = xp.where(near0, b, 2)  # b is in (1, 3) where near0
    L = xp.log1p(s / b_near)
    t = xp.where(near0, a_, 0) * L / 2  # 0 away from a = 0: no overflow in unused entries
    rho_near = b_near * L / 2 * _phi(t)
    half_s = xp.where(finite, 0, s / 2)  # s/2 only where alpha is infinite (no overflow elsewhere)
    rho = xp.where(near0, rho_near, rho_far)
    rho = xp.where(pos_inf, xp.expm1(xp.where(pos_inf, half_s, 0)), rho)
    rho = xp.where(neg_inf, -xp.expm1(-half_s), rho)
    if not with_grads:
        return rho
    w = xp.where(pos_inf, xp.exp(xp.where(pos_inf, half_s, 0)), w)
    w = xp.where(neg_inf, xp.exp(-half_s), w)
    gx = x / (c * c) * w
    gc = -s / c * w
    # d rho/da away from 0: [-rho + sigma (w-1) + w ((s+b) L - s) / 2] / a, at |a-2| >= gap.
    bg = xp.maximum(b, ROBUST_ALPHA_GAP)
    Lg = xp.log1p(s / bg)
    wg = xp.exp(sigma * bg * Lg / 2)
    rho_g = (s * wg + bg * xp.expm1(sigma * bg * Lg / 2)) / a_far
    ga_far = (-rho_g + sigma * (wg - 1) + wg * ((s + bg) * Lg - s) / 2) / a_far
    # Near 0, with b = 2 - a and L' = dL/da = s / (b (b + s)):
    #   d rho/da = -(L/2) phi(t) + b [(L'/2) phi(t) + (L/2) phi'(t) (L + a L') / 2].
    dL = s / (b_near * (b_near + s))
    ga_near = -L / 2 * _phi(t) + b_near * (dL / 2 * _phi(t) + L / 2 * _dphi(t) * (L + a_ * dL) / 2)
    ga = xp.where(finite, xp.where(near0, ga_near, ga_far), 0)
    return rho, (gx, ga, gc)


# The adaptive loss: -log p(x | a, c) = rho(x, a, c) + log c + log Z(a), with
# Z(a) = int exp(-rho(x, a, 1)) dx = 2 int exp(-rho(e^u, a, 1) + u) du, finite for a >= 0.
# In u = log x the integrand decays exponentially at both ends (at a = 0 like 4 e^-u, the
# Cauchy tail; for a > 2 faster than a Gaussian's), and it is analytic in a strip of
# half-width d = pi/2 for a <= 2 (the branch point of log1p(e^(2u)/b)) and d = pi/(2a) above
# (where e^(a u) turns round), so the trapezoid rule with step h errs by about
# exp(-2 pi d / h): h = 0.1 up to a = 2 and h = 0.05 up to a = 4 (exp(-49)) are exact to
# rounding. Truncating to |u| <= 40 drops less than 1e-17 of the mass.
ROBUST_ALPHA_MAX = 4.0  # the adaptive loss's alphas lie in [0, ROBUST_ALPHA_MAX]
_QUAD_U = {h: np.arange(-round(40 / h), round(40 / h) + 1) * h for h in (0.1, 0.05)}
_QUAD_CHUNK = 256  # alphas per quadrature batch: bounds the (chunk, len(u)) temporaries


def robust_log_partition_quad(a):
    """``log Z(a)`` and ``d log Z / d a`` for alpha in [0, ROBUST_ALPHA_MAX], element-wise, in
    float64, by direct integration: the definition, and the reference of the table.

    Each distinct alpha costs one quadrature of 801 points (1601 above 2).
    ``d log Z/da = -E_p[d rho/da]`` is summed on the same grid, so it is the exact derivative
    of the computed ``log Z`` (except within ``ROBUST_ALPHA_GAP`` of 2, where ``d rho/da`` is
    clamped; see ``robust_rho``).
    """
    xp = get_array_module(a)
    flat = a.reshape(-1).astype(np.float64)
    values, inverse = xp.unique(flat, return_inverse=True)
    log_z, dlog_z = xp.empty_like(values), xp.empty_like(values)
    for h, part in ((0.1, values <= 2), (0.05, values > 2)):
        idx = xp.nonzero(part)[0]
        u = xp.asarray(_QUAD_U[h])
        for start in range(0, idx.size, _QUAD_CHUNK):
            i = idx[start : start + _QUAD_CHUNK]
            av = values[i, None]  # (chunk, 1) against u (len(u),)
            rho, (_, ga, _) = robust_rho(xp.exp(u), av, xp.ones((), np.float64), with_grads=True)
            logf = u - rho  # log of the integrand
            top = logf.max(axis=1, keepdims=True)
            f = xp.exp(logf - top)
            mass = f.sum(axis=1)
            log_z[i] = np.log(2 * h) + top[:, 0] + xp.log(mass)
            dlog_z[i] = -(f * ga).sum(axis=1) / mass
    shape = a.shape
    return log_z[inverse].reshape(shape), dlog_z[inverse].reshape(shape)


# log Z as a table: the quadrature above at fixed alphas, with its exact derivative, joined by
# cubic Hermite pieces. log Z is analytic on (0, 2) and (2, inf) but has two rough places:
# at 0 its higher derivatives are large (log-moments of the Cauchy tail), and at 2 its
# derivative diverges like log|a - 2| / 4. So the spacing is 0.003 + 6% of a from 0 and 6%
# of |a - 2| towards 2 (down to ROBUST_ALPHA_GAP, inside which the quadrature's derivative is
# clamped anyway), at most 0.025 below 2 and 0.08 above: 586 alphas, log Z within 2e-8 of
# the quadrature everywhere (tests/test_losses_adaptive.py).
def _partition_nodes():
    """The table's alphas on [0, ROBUST_ALPHA_MAX], ascending, with 0, 2 and the top."""
    gap, nodes, a = ROBUST_ALPHA_GAP, [], 0.0
    while 2 - a >= gap:
        nodes.append(a)
        a += min(0.025, 0.003 + 0.06 * a, 0.06 * (2 - a))
    a = 2.0
    while a < ROBUST_ALPHA_MAX:
        nodes.append(a)
        a += min(0.08, max(gap, 0.06 * (a - 2)))
    return np.array([*nodes, ROBUST_ALPHA_MAX])


@functools.cache
def robust_partition_table():
    """``(alphas, log Z, d log Z/da)``, NumPy float64 arrays of the table's nodes: computed on
    first use (about 0.2 s of CPU) and kept for the process."""
    nodes = _partition_nodes()
    return (nodes, *robust_log_partition_quad(nodes))


def robust_log_partition(a):
    """``log Z(a)`` and its derivative for alpha in [0, ROBUST_ALPHA_MAX], element-wise, in
    float64, from the table: a cubic Hermite piece between the two nodes around each alpha.

    Vectorised over any number of distinct alphas. The derivative is the interpolant's own, so
    the two are consistent (a gradient check of the NLL holds to rounding); both are exact at
    the nodes (0 and 2 among them: Z(0) = sqrt(2) pi, Z(2) = sqrt(2 pi)).
    """
    xp = get_array_module(a)
    nodes, f, df = (xp.asarray(v) for v in robust_partition_table())
    a = a.astype(np.float64)
    i = xp.clip(xp.searchsorted(nodes, a, side="right") - 1, 0, nodes.size - 2)
    h = nodes[i + 1] - nodes[i]
    t = (a - nodes[i]) / h  # in [0, 1] within the piece
    f0, f1, m0, m1 = f[i], f[i + 1], df[i] * h, df[i + 1] * h  # m: slopes per unit t
    # the Hermite basis: value and slope m0 at t = 0, value and slope m1 at t = 1
    log_z = f0 + t * (m0 + t * (3 * (f1 - f0) - 2 * m0 - m1 + t * (2 * (f0 - f1) + m0 + m1)))
    dlog_z = (m0 + t * (2 * (3 * (f1 - f0) - 2 * m0 - m1)
                        + 3 * t * (2 * (f0 - f1) + m0 + m1))) / h
    return log_z, dlog_z
