"""Adam and AdamW, with torch.optim's update formulas and Keras's defaults.

With ``g`` the gradient (plus ``weight_decay * w`` for Adam's coupled L2 decay) and ``t`` the
update number (1 for the first)::

    m <- beta_1 * m + (1 - beta_1) * g
    v <- beta_2 * v + (1 - beta_2) * g**2
    v_max <- max(v_max, v)                                  (amsgrad only; used instead of v)
    w <- w - lr / (1 - beta_1**t) * m / (sqrt(v) / sqrt(1 - beta_2**t) + epsilon)

The bias corrections undo the zero start of ``m`` and ``v``; ``epsilon`` is added to the
corrected root, as torch does (Keras adds it to the uncorrected root, a difference visible
only while ``v`` is tiny). ``epsilon`` defaults to Keras's 1e-7 (torch: 1e-8).

AdamW decays the weights directly instead of through the gradient (Loshchilov & Hutter):
``w <- w * (1 - lr * weight_decay)`` before the Adam step, as ``torch.optim.AdamW``.

>>> import numpy as np, svertka
>>> w = svertka.Tensor(np.array([1.0, -1.0]))
>>> w.grad = np.array([3.0, -0.5])
>>> Adam(learning_rate=0.1).apply_gradients([w])  # the first step moves each entry by ~lr
>>> np.round(w.data, 6).tolist()
[0.9, -0.9]
"""

from __future__ import annotations

from svertka import checks
from svertka.kernels import optim_jit
from svertka.optimizers.base import Optimizer


class Adam(Optimizer):
    """Adaptive moment estimation (see the module docstring for the update).

    Args:
        learning_rate: float >= 0 or schedule.
        beta_1, beta_2: decay rates of the first and second moment estimates, in [0, 1).
        epsilon: > 0, added to the bias-corrected root of the second moment.
        amsgrad: use the running maximum of the second moment (Reddi et al.).
        weight_decay: coupled L2 decay added to the gradient, as ``torch.optim.Adam``.
        clipnorm, clipvalue, name: see ``Optimizer``.
    """

    _decoupled = False  # AdamW: decay the weights instead of the gradient

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        weight_decay: float = 0.0,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(learning_rate, clipnorm, clipvalue, name, **kwargs)
        owner = type(self).__name__
        self.beta_1 = checks.finite_float(owner, "beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = checks.finite_float(owner, "beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = checks.finite_float(owner, "epsilon", epsilon, 0.0, low_open=True)
        self.amsgrad = checks.flag(owner, "amsgrad", amsgrad)
        self.weight_decay = checks.finite_float(owner, "weight_decay", weight_decay, 0.0)

    @property
    def slot_names(self) -> tuple[str, ...]:
        return ("m", "v", "v_max") if self.amsgrad else ("m", "v")

    def _update(self, w, g, slots, lr, t):
        coupled = 0.0 if self._decoupled else self.weight_decay  # L2 added to the gradient
        if self._decoupled and self.weight_decay:
            w *= 1.0 - lr * self.weight_decay
        m, v = slots[0], slots[1]
        # the maths (optim_jit.adam), then the in-place version that plan picks
        if optim_jit.plan(w, g, m, v, self.amsgrad) == "compiled":  # L2 within its one pass
            optim_jit.adam_update(w, g, m, v, self.beta_1, self.beta_2, self.epsilon,
                                  lr / (1.0 - self.beta_1**t), t, coupled)
        else:
            g = self._decayed(g, w, coupled)
            optim_jit.adam_numpy(w, g, m, v, self._buffer(w, 1), self.beta_1, self.beta_2,
                                 self.epsilon, lr, t, slots[2] if self.amsgrad else None)

    def _hyperparameters(self) -> dict:
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
            "weight_decay": self.weight_decay,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay, ``torch.optim.AdamW`` (Keras's default decay 0.004).

    >>> import numpy as np, svertka
    >>> w = svertka.Tensor(np.array([2.0]))
    >>> w.grad = np.array([0.0])
    >>> AdamW(learning_rate=0.1, weight_decay=0.5).apply_gradients([w])  # 2 * (1 - 0.05)
    >>> float(w.data[0])
    1.9
    """

    _decoupled = True

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        name: str | None = None,
        **kwargs,
    ):
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm, clipvalue,
            name, **kwargs,
        )
