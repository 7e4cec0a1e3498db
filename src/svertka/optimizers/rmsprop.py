"""RMSprop: divide the gradient by a running root mean square of recent gradients.

The update of ``torch.optim.RMSprop`` with ``alpha = rho``::

    g  <- g + weight_decay * w                       (coupled L2 decay)
    s  <- rho * s + (1 - rho) * g**2
    a  <- rho * a + (1 - rho) * g                    (centered only)
    d   = sqrt(s - a**2 if centered else s) + epsilon
    b  <- momentum * b + g / d;  w <- w - lr * b     (momentum > 0)
    w  <- w - lr * g / d                             (otherwise)

``epsilon`` is added outside the root as torch does (Keras adds it inside, a difference
visible only while ``s`` is tiny). Defaults are Keras's (rho 0.9, epsilon 1e-7).

>>> import numpy as np, svertka
>>> w = svertka.Tensor(np.array([1.0]))
>>> w.grad = np.array([2.0])
>>> RMSprop(learning_rate=0.01, rho=0.75).apply_gradients([w])  # 1 - 0.01 * 2 / sqrt(0.25 * 4)
>>> round(float(w.data[0]), 6)
0.98
"""

from __future__ import annotations

from svertka import checks
from svertka.backend import get_array_module
from svertka.optimizers.base import Optimizer


class RMSprop(Optimizer):
    """Root-mean-square propagation (see the module docstring for the update).

    Args:
        learning_rate: float >= 0 or schedule.
        rho: decay rate of the running averages, in [0, 1).
        momentum: in [0, 1); 0 disables the momentum buffer.
        epsilon: > 0, added to the root.
        centered: normalise by the running variance instead of the second moment.
        weight_decay: coupled L2 decay added to the gradient, as torch's RMSprop.
        clipnorm, clipvalue, name: see ``Optimizer``.
    """

    def __init__(
        self,
        learning_rate=0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        weight_decay: float = 0.0,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(learning_rate, clipnorm, clipvalue, name, **kwargs)
        owner = "RMSprop"
        self.rho = checks.finite_float(owner, "rho", rho, 0.0, 1.0, high_open=True)
        self.momentum = checks.finite_float(owner, "momentum", momentum, 0.0, 1.0, high_open=True)
        self.epsilon = checks.finite_float(owner, "epsilon", epsilon, 0.0, low_open=True)
        self.centered = checks.flag(owner, "centered", centered)
        self.weight_decay = checks.finite_float(owner, "weight_decay", weight_decay, 0.0)

    @property
    def slot_names(self) -> tuple[str, ...]:
        return (
            ("square_avg",)
            + (("grad_avg",) if self.centered else ())
            + (("momentum",) if self.momentum > 0 else ())
        )

    def _update(self, w, g, slots, lr, t):
        xp = get_array_module(w)
        g = self._decayed(g, w, self.weight_decay)
        tmp = self._buffer(w, 1)
        s = slots[0]
        s *= self.rho
        xp.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.rho
        s += tmp
        if self.centered:
            a = slots[1]
            xp.subtract(g, a, out=tmp)  # a += (1 - rho) * (g - a), torch's lerp_
            tmp *= 1.0 - self.rho
            a += tmp
            xp.multiply(a, a, out=tmp)
            xp.subtract(s, tmp, out=tmp)
            xp.sqrt(tmp, out=tmp)
        else:
            xp.sqrt(s, out=tmp)
        tmp += self.epsilon
        xp.divide(g, tmp, out=tmp)
        if self.momentum > 0:
            b = slots[-1]
            b *= self.momentum
            b += tmp
            xp.multiply(b, -lr, out=tmp)
        else:
            tmp *= -lr
        w += tmp

    def _hyperparameters(self) -> dict:
        return {
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
            "weight_decay": self.weight_decay,
        }
