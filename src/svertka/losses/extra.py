"""Losses beyond Keras's: Barron's robust loss and the triplet margin loss (similar-image
search)."""

from __future__ import annotations

import math

import numpy as np

from svertka import checks, ops
from svertka.autograd import Tensor
from svertka.ops.losses import targets_like


class RobustLoss:
    """Barron's general robust loss ``rho(y_pred - y_true, alpha, scale)``, averaged.

    With ``adaptive=True`` the loss is the negative log-likelihood of Barron's distribution and
    ``alpha`` (in [0, 2]) is learned with the model: it appears in ``trainable_weights``.
    ``AdaptiveRobustLoss`` is Barron's full form: alpha and the scale learned per dimension.
    """

    def __init__(self, alpha: float = 1.0, scale: float = 1.0, adaptive: bool = False):
        adaptive = checks.flag("RobustLoss", "adaptive", adaptive)
        scale = checks.finite_float("RobustLoss", "scale", scale, 0.0, low_open=True)
        if adaptive:
            alpha = checks.finite_float("RobustLoss", "alpha", alpha, 0.0, 2.0)
        elif alpha not in (-math.inf, math.inf):  # the Welsch and expm1 limits are allowed
            alpha = checks.finite_float("RobustLoss", "alpha", alpha)
        self.adaptive = adaptive
        self.alpha = Tensor(np.array(alpha, np.float32), requires_grad=adaptive)
        self.scale = Tensor(np.array(scale, np.float32))
        self.__name__ = "robust_loss"

    @property
    def trainable_weights(self) -> list[Tensor]:
        return [self.alpha] if self.adaptive else []

    def __call__(self, y_true, y_pred) -> Tensor:
        if self.adaptive:  # keep the learned shape inside the distribution's domain
            self.alpha.data[...] = np.clip(self.alpha.data, 0.0, 2.0)
        diff = y_pred - targets_like(y_true, y_pred)
        fn = ops.robust_loss_nll if self.adaptive else ops.robust_loss
        return ops.mean(fn(diff, self.alpha, self.scale))

    def get_config(self) -> dict:
        return {"alpha": float(self.alpha.data), "scale": float(self.scale.data),
                "adaptive": self.adaptive}


class TripletMarginLoss:
    """The triplet ranking loss (``ops.triplet_margin_loss``) for ``model.compile``.

    A model that embeds one image at a time is trained on batches laid out as
    ``[anchors; positives; negatives]``: 3N images whose embeddings ``y_pred`` (3N, D) are cut
    into three blocks of N rows, the i-th row of each forming one triplet. ``y_true`` is not
    used (pass any array with 3N rows to ``fit``).

    >>> import numpy as np
    >>> loss = TripletMarginLoss(margin=2.5)
    >>> round(loss(None, np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 3.0]])).item(), 4)
    0.5
    """

    def __init__(self, margin: float = 0.1, p: float = 2):
        self.margin = checks.finite_float("TripletMarginLoss", "margin", margin)
        self.p = checks.finite_float("TripletMarginLoss", "p", p, 1.0)
        self.__name__ = "triplet_margin_loss"

    def __call__(self, y_true, y_pred) -> Tensor:
        y_pred = y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred)
        if y_pred.ndim != 2 or y_pred.shape[0] == 0 or y_pred.shape[0] % 3:
            raise ValueError(f"TripletMarginLoss: argument 'y_pred' must be embeddings (3N, D) "
                             f"laid out as [anchors; positives; negatives], received shape "
                             f"{y_pred.shape}")
        n = y_pred.shape[0] // 3
        anchor, positive, negative = (y_pred[i * n:(i + 1) * n] for i in range(3))
        return ops.triplet_margin_loss(anchor, positive, negative, self.margin, self.p)

    def get_config(self) -> dict:
        return {"margin": self.margin, "p": self.p}


# Keras's names, then its short aliases; serialize saves a function by its first name here.
