"""Barron's adaptive robust loss: a shape alpha and a scale c per output dimension, learned
with the model through the negative log-likelihood of his distribution (Barron, "A General
and Adaptive Robust Loss Function", CVPR 2019; ``AdaptiveLossFunction`` in his code)."""

from __future__ import annotations

import math

import numpy as np

from svertka import checks, ops
from svertka.autograd import Tensor
from svertka.kernels.losses import ROBUST_ALPHA_MAX
from svertka.losses.base import Loss
from svertka.ops.losses import same_rank

_SOFTPLUS_SHIFT = math.log(math.expm1(1.0))  # softplus(0 + shift) = 1: latent 0 is scale_init


class AdaptiveRobustLoss(Loss):
    """The mean over ``y_pred``'s last axis of ``-log p(y_pred - y_true | alpha, c)``
    ``= rho(x, alpha, c) + log c + log Z(alpha)`` (``ops.robust_loss_nll``), with one alpha
    and one c per entry of that axis (``num_dims`` of them: the columns of a (N, D) output),
    both learned with the model: they are in ``trainable_weights``, which
    ``compile(loss=AdaptiveRobustLoss())`` trains along with the model's weights.

    Barron's parametrisation: free latent values, moved by the optimiser, give
    ``alpha = alpha_lo + (alpha_hi - alpha_lo) * sigmoid(latent_alpha)``, always inside
    (alpha_lo, alpha_hi) and starting at ``alpha_init`` (the midpoint when None), and
    ``c = (scale_init - scale_lo) * softplus(latent_scale + log(e - 1)) + scale_lo``, always
    above ``scale_lo`` and starting at ``scale_init`` (latent 0). ``alpha_lo == alpha_hi``
    fixes alpha at that value and ``scale_init == scale_lo`` fixes c, as in his code. alpha
    lies in [0, 4], where the density normalises (``alpha_hi`` up to 4; Barron's default
    (0.001, 1.999) spans Cauchy to nearly normal). Outliers in the data pull alpha down
    (robust: 1 is pseudo-Huber, 0 Cauchy), Gaussian noise pulls it up to 2 (least squares).

    ``num_dims=None`` takes the size of the model's output when training starts (``fit``,
    ``BackupAndRestore``, ``lr_find`` and the MPI ranks list the weights through
    ``models.training.trainable_params``, which makes them), or else of the last axis of the
    first ``y_pred`` it is called on (1 for a 1-D ``y_pred``), e.g. with a subclassed model
    whose output size is known only then; give ``num_dims`` for such a model if it is
    resumed from a backup. ``alpha()`` and
    ``scale()`` read the current values (NumPy (num_dims,)); ``get_config`` holds the learned
    latent values, so a saved model's loss comes back as trained. ``dtype`` is also the
    weights' dtype (float32 by default).

    >>> import numpy as np
    >>> loss = AdaptiveRobustLoss(num_dims=2, alpha_init=1.0, scale_init=0.5)
    >>> loss.alpha().tolist(), loss.scale().tolist(), len(loss.trainable_weights)
    ([1.0, 1.0], [0.5, 0.5], 2)
    >>> y = loss(np.zeros((1, 2)), np.zeros((1, 2)))  # -log p(0) = log c + log Z(1)
    >>> bool(np.isclose(y.item(), np.log(0.5) + 1.185495, atol=1e-6))
    True
    """

    def __init__(self, num_dims=None, alpha_lo=0.001, alpha_hi=1.999, alpha_init=None,
                 scale_lo=1e-5, scale_init=1.0, name=None, reduction="sum_over_batch_size",
                 dtype=None, latent_alpha=None, latent_scale=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        where = type(self).__name__
        if num_dims is not None:
            num_dims = checks.positive_int(where, "num_dims", num_dims)
        hi = ROBUST_ALPHA_MAX
        alpha_lo = checks.finite_float(where, "alpha_lo", alpha_lo, 0.0, hi)
        alpha_hi = checks.finite_float(where, "alpha_hi", alpha_hi, 0.0, hi)
        if alpha_hi < alpha_lo:
            raise ValueError(f"{where}: argument 'alpha_hi' must be >= alpha_lo ({alpha_lo}), "
                             f"received {alpha_hi}")
        if alpha_init is not None:
            alpha_init = checks.finite_float(where, "alpha_init", alpha_init)
            if alpha_lo < alpha_hi and not alpha_lo < alpha_init < alpha_hi:
                raise ValueError(f"{where}: argument 'alpha_init' must lie in (alpha_lo, "
                                 f"alpha_hi) = ({alpha_lo}, {alpha_hi}), received {alpha_init}")
        scale_lo = checks.finite_float(where, "scale_lo", scale_lo, 0.0, low_open=True)
        scale_init = checks.finite_float(where, "scale_init", scale_init)
        if scale_init < scale_lo:
            raise ValueError(f"{where}: argument 'scale_init' must be >= scale_lo "
                             f"({scale_lo}), received {scale_init}")
        self.num_dims = num_dims
        self.alpha_lo, self.alpha_hi, self.alpha_init = alpha_lo, alpha_hi, alpha_init
        self.scale_lo, self.scale_init = scale_lo, scale_init
        self.learns_alpha, self.learns_scale = alpha_lo < alpha_hi, scale_lo < scale_init
        self._param_dtype = np.dtype(dtype or "float32")
        self._latent_alpha = self._latent_scale = None
        self._fresh = False
        if num_dims is not None:
            self.build(num_dims)
        for arg, saved, learned in (("latent_alpha", latent_alpha, self.learns_alpha),
                                    ("latent_scale", latent_scale, self.learns_scale)):
            if saved is not None:
                self._restore(arg, saved, learned)

    # -- the weights ---------------------------------------------------------------------------
    def build(self, num_dims: int) -> None:
        """Make the latent weights for ``num_dims`` dimensions, at the initial alpha and c."""
        self.num_dims = num_dims
        if self.learns_alpha:
            init = 0.5 if self.alpha_init is None else (
                (self.alpha_init - self.alpha_lo) / (self.alpha_hi - self.alpha_lo))
            latent = math.log(init / (1 - init))  # sigmoid's inverse
            self._latent_alpha = Tensor(np.full(num_dims, latent, self._param_dtype),
                                        requires_grad=True, name="latent_alpha")
        if self.learns_scale:
            self._latent_scale = Tensor(np.zeros(num_dims, self._param_dtype),
                                        requires_grad=True, name="latent_scale")

    def _restore(self, arg: str, saved, learned: bool) -> None:
        where = type(self).__name__
        values = np.asarray(saved, dtype=np.float64)
        if not learned or self.num_dims is None or values.shape != (self.num_dims,) or not (
                np.isfinite(values).all()):
            raise ValueError(f"{where}: argument '{arg}' (the learned state get_config saves) "
                             f"must be {self.num_dims} finite numbers, one per dimension, for "
                             f"a loss that learns it; received {saved!r}")
        getattr(self, f"_{arg}").data[...] = values

    @property
    def built(self) -> bool:
        return self.num_dims is not None

    @property
    def trainable_weights(self) -> list[Tensor]:
        return [w for w in (self._latent_alpha, self._latent_scale) if w is not None]

    def _alpha(self) -> Tensor:
        if self._latent_alpha is None:
            return Tensor(np.full(self.num_dims, self.alpha_lo, self._param_dtype))
        return ops.sigmoid(self._latent_alpha) * (self.alpha_hi - self.alpha_lo) + self.alpha_lo

    def _scale(self) -> Tensor:
        if self._latent_scale is None:
            return Tensor(np.full(self.num_dims, self.scale_init, self._param_dtype))
        sp = ops.softplus(self._latent_scale + _SOFTPLUS_SHIFT)
        return sp * (self.scale_init - self.scale_lo) + self.scale_lo

    def _read(self, fn) -> np.ndarray:
        if not self.built:
            raise ValueError(f"{type(self).__name__}: the loss has no weights yet; give "
                             f"num_dims, or call it once (on the first batch)")
        return fn().numpy()

    def alpha(self) -> np.ndarray:
        """The current shape of each dimension, (num_dims,)."""
        return self._read(self._alpha)

    def scale(self) -> np.ndarray:
        """The current scale of each dimension, (num_dims,)."""
        return self._read(self._scale)

    # -- the loss ------------------------------------------------------------------------------
    def call(self, y_true, y_pred) -> Tensor:
        t, p = same_rank(y_true, y_pred)
        x = p - t
        dims = x.shape[-1] if x.ndim >= 2 else 1
        if not self.built:
            self.build(dims)
            self._fresh = True
        elif self._fresh:
            # fit collects the weights to update before its first forward pass, which made
            # them: that step's gradients reached them but no update used or cleared them
            self._fresh = False
            for w in self.trainable_weights:
                w.grad = None
        if dims != self.num_dims:
            raise ValueError(f"{type(self).__name__}: y_pred has {dims} values in its last "
                             f"axis (shape {tuple(p.shape)}), the loss has num_dims="
                             f"{self.num_dims}: one alpha and scale per dimension")
        alpha, scale = self._alpha(), self._scale()
        if alpha.dtype != x.dtype:
            alpha, scale = ops.cast(alpha, x.dtype), ops.cast(scale, x.dtype)
        nll = ops.robust_loss_nll(x, alpha, scale)
        return ops.mean(nll, axis=-1) if x.ndim >= 2 else nll

    def get_config(self) -> dict:
        config = {**super().get_config(), "num_dims": self.num_dims,
                  "alpha_lo": self.alpha_lo, "alpha_hi": self.alpha_hi,
                  "alpha_init": self.alpha_init, "scale_lo": self.scale_lo,
                  "scale_init": self.scale_init}
        for arg, w in (("latent_alpha", self._latent_alpha), ("latent_scale", self._latent_scale)):
            if w is not None:
                config[arg] = [float(v) for v in w.numpy()]
        return config

    def __repr__(self) -> str:  # the learned latents (get_config's last entries) left out
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()
                         if not k.startswith("latent_"))
        return f"{type(self).__name__}({args})"
