"""The Adam update: the maths as the paper writes it, then the in-place paths that run.

Shapes: ``w`` (a parameter), ``g`` (its gradient), ``m``, ``v`` (the moment estimates) and
``v_max`` (AMSGrad's running maximum of ``v``) all have the same shape; ``t`` is the update
number, 1 for the first.

1. :func:`adam`, the definition on new arrays: the reference the tests use.
2. :func:`plan`, which of the two in-place implementations runs (``Adam`` asks it).
3. ``"compiled"`` (:func:`adam_update`): one pass that reads ``w``, ``g``, ``m``, ``v`` once
   and writes ``w``, ``m``, ``v`` once, because the NumPy version makes about ten passes over
   memory (one per ufunc). ``"numpy"`` (:func:`adam_numpy`): the same operations as in-place
   ufuncs into a scratch array, for CuPy, AMSGrad and where Numba is absent; a step then
   allocates nothing.

All three apply the same operations in the same order, in the arrays' own precision.

>>> import numpy as np
>>> w, m, v = np.array([1.0, -1.0]), np.zeros(2), np.zeros(2)
>>> w, m, v, _ = adam(w, np.array([3.0, -0.5]), m, v, 0.9, 0.999, 1e-7, lr=0.1, t=1)
>>> np.round(w, 6).tolist()  # the first step moves each entry by about lr
[0.9, -0.9]
"""

from __future__ import annotations

import math

import numpy as np

from svertka.backend import get_array_module
from svertka.kernels.jit import jit, usable


def adam(w, g, m, v, beta_1, beta_2, epsilon, lr, t, v_max=None):
    """One Adam step on new arrays: ``(w, m, v, v_max)`` after it (``v_max`` None without
    AMSGrad). Nothing is modified."""
    xp = get_array_module(w)
    m = m + (g - m) * (1 - beta_1)  # beta_1 m + (1 - beta_1) g, rounded as torch's lerp_
    v = v * beta_2 + (g * g) * (1 - beta_2)
    if v_max is not None:  # AMSGrad: the largest v so far stands in for v
        v_max = xp.maximum(v_max, v)
    root = xp.sqrt(v if v_max is None else v_max) / math.sqrt(1 - beta_2**t)  # bias-corrected
    w = w + m / (root + epsilon) * -(lr / (1 - beta_1**t))
    return w, m, v, v_max


def plan(w, g, m, v, amsgrad: bool = False) -> str:
    """``"compiled"`` where Numba takes the arrays (contiguous NumPy arrays of one float dtype,
    no AMSGrad), else ``"numpy"``."""
    if not amsgrad and usable(w, g, m, v) and contiguous_alike(w, g, m, v):
        return "compiled"
    return "numpy"


def adam_numpy(w, g, m, v, tmp, beta_1, beta_2, epsilon, lr, t, v_max=None) -> None:
    """:func:`adam`'s lines as in-place ufuncs, all temporaries in ``tmp``."""
    xp = get_array_module(w)
    xp.subtract(g, m, out=tmp)  # m = m + (g - m) * (1 - beta_1)
    tmp *= 1.0 - beta_1
    m += tmp
    v *= beta_2  # v = v * beta_2 + (g * g) * (1 - beta_2)
    xp.multiply(g, g, out=tmp)
    tmp *= 1.0 - beta_2
    v += tmp
    if v_max is not None:
        xp.maximum(v_max, v, out=v_max)
        v = v_max
    xp.sqrt(v, out=tmp)  # w = w + m / (root + epsilon) * -step_size
    tmp /= math.sqrt(1.0 - beta_2**t)
    tmp += epsilon
    xp.divide(m, tmp, out=tmp)
    tmp *= -(lr / (1.0 - beta_1**t))
    w += tmp


@jit
def _adam(w, g, m, v, one_minus_b1, b2, one_minus_b2, root_correction, eps, neg_step, decay):
    for i in range(w.size):
        gi = g[i] + decay * w[i]  # coupled L2 (``weight_decay``), 0 for none
        mi = m[i] + (gi - m[i]) * one_minus_b1
        vi = v[i] * b2 + (gi * gi) * one_minus_b2
        m[i] = mi
        v[i] = vi
        w[i] += mi / (np.sqrt(vi) / root_correction + eps) * neg_step  # sqrt in w's dtype


def adam_update(w, g, m, v, beta_1, beta_2, epsilon, step_size, t, weight_decay=0.0) -> None:
    """The compiled pass, in place: ``m``, ``v`` move towards ``g + weight_decay * w``
    (coupled L2, as torch's ``Adam(weight_decay=)``: in the same pass, not a pass of its
    own) and its square; ``w`` takes the Adam step.

    All four arrays must be contiguous and of one float dtype; ``step_size`` is
    ``lr / (1 - beta_1**t)``.
    """
    f = w.dtype.type
    _adam(w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), f(1.0 - beta_1),
          f(beta_2), f(1.0 - beta_2), f(math.sqrt(1.0 - beta_2**t)), f(epsilon), f(-step_size),
          f(weight_decay))


def contiguous_alike(*arrays) -> bool:
    """Whether the arrays are C-contiguous NumPy arrays of one dtype (what the loop takes)."""
    first = arrays[0]
    return all(isinstance(a, np.ndarray) and a.flags.c_contiguous and a.dtype == first.dtype
               for a in arrays)
