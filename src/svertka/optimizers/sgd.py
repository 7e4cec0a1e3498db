"""Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay.

Momentum is written as in the notes and PyTorch, a running sum of gradients::

    g   <- g + weight_decay * w            (coupled L2 decay, torch's ``weight_decay``)
    h_t  = momentum * h_{t-1} + g_t        (h_0 = 0)
    w   <- w - lr * h_t                    (plain momentum)
    w   <- w - lr * (g_t + momentum * h_t) (Nesterov)

Keras keeps ``v = momentum * v - lr * g`` instead; for a constant learning rate ``v = -lr * h``,
so both take the same steps. They differ only when the rate changes between steps (the torch
form applies the new rate to the whole accumulated velocity).

>>> import numpy as np, svertka
>>> w = svertka.Tensor(np.array([1.0]))
>>> opt = SGD(learning_rate=0.1, momentum=0.9)
>>> for _ in range(2):
...     w.grad = np.array([1.0])
...     opt.apply_gradients([w])
>>> round(float(w.data[0]), 6)  # 1 - 0.1 * 1 - 0.1 * (0.9 + 1)
0.71
"""

from __future__ import annotations

from svertka import checks
from svertka.backend import get_array_module
from svertka.optimizers.base import Optimizer


class SGD(Optimizer):
    """Gradient descent, with momentum if ``momentum > 0`` (see the module docstring).

    Args:
        learning_rate: float >= 0 or schedule.
        momentum: in [0, 1); 0 disables the momentum buffer.
        nesterov: use Nesterov momentum (no effect while ``momentum == 0``, as in Keras).
        weight_decay: coupled L2 decay added to the gradient, as torch's SGD.
        clipnorm, clipvalue, name: see ``Optimizer``.
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(learning_rate, clipnorm, clipvalue, name, **kwargs)
        self.momentum = checks.finite_float("SGD", "momentum", momentum, 0.0, 1.0, high_open=True)
        self.nesterov = checks.flag("SGD", "nesterov", nesterov)
        self.weight_decay = checks.finite_float("SGD", "weight_decay", weight_decay, 0.0)

    @property
    def slot_names(self) -> tuple[str, ...]:
        return ("momentum",) if self.momentum > 0 else ()

    def _update(self, w, g, slots, lr, t):
        xp = get_array_module(w)
        g = self._decayed(g, w, self.weight_decay)
        tmp = self._buffer(w, 1)
        d = g
        if self.momentum > 0:
            h = slots[0]
            h *= self.momentum
            h += g
            d = h
            if self.nesterov:
                xp.multiply(h, self.momentum, out=tmp)
                tmp += g
                d = tmp
        xp.multiply(d, -lr, out=tmp)
        w += tmp

    def _hyperparameters(self) -> dict:
        return {
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }
