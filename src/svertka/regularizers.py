"""Weight penalties added to the training loss (SPEC §6, regularisation against overfitting).

>>> import numpy as np, svertka
>>> float(L2(0.5)(svertka.Tensor(np.array([1.0, 2.0]))).item())
2.5
"""

from __future__ import annotations

from svertka import checks, ops


class L2:
    """``factor * sum(w ** 2)``, Keras's ``l2``."""

    def __init__(self, l2: float = 0.01):
        self.l2 = checks.finite_float("L2", "l2", l2, 0.0)

    def __call__(self, w):
        return ops.sum(w * w) * self.l2

    def get_config(self) -> dict:
        return {"class_name": "L2", "l2": self.l2}


def get(regularizer):
    """A regulariser from an object, a config dict, or the name 'l2'."""
    if regularizer is None or callable(regularizer):
        return regularizer
    if isinstance(regularizer, str) and regularizer.lower() == "l2":
        return L2()
    if isinstance(regularizer, dict) and regularizer.get("class_name") == "L2":
        return L2(regularizer.get("l2", 0.01))
    raise ValueError(f"regularizers.get: argument 'regularizer' must be 'l2', a config "
                     f"dict or a callable, received {regularizer!r}")
