"""Telling a diverged run from a healthy one, for ``TerminateOnNaN`` and ``fit``'s own guard.

Three signs, each reported in words (the reason string):

- **the loss is NaN or infinite** (one batch is enough);
- **the loss is stuck at the clamp**: Keras's probability cross-entropies clip each predicted
  probability to ``[eps, 1 - eps]`` (``eps = 1e-7``), so a network that has blown up to
  saturated outputs (a one-hot prediction per sample) reports a finite loss made only of the
  clamp value ``C = -log(eps) = 16.1181`` (wrong samples) and about 0 (right ones), and every
  gradient is zero: it can never recover. Such a batch loss is ``k C / n`` for an integer
  ``k >= 1`` of the ``n`` loss terms; a healthy loss lands within ``1e-3`` of such a value by
  chance about once in 500 batches, so ``clamp_batches`` (5) consecutive ones are the sign;
- **a weight is non-finite** (found by summing each weight: a cheap pass, done every
  ``weight_every`` batches and at the end of each epoch, not every batch).

``SGD(10)`` on the toy blob task of the tests (seed 0, batches of 16) reaches the clamp at
its third batch: its batch losses are then ``9.066, 8.059, 7.052, 4.030, 8.059 = 9 C / 16,
8 C / 16, 7 C / 16, ...``, and the guard stops it after the seventh.
"""

from __future__ import annotations

import math

import numpy as np

from svertka.kernels.losses import KERAS_EPSILON

# -log(eps) as the float32 kernels compute it (16.118095); float64 differs by 2e-8 relative
CLAMP = float(-np.log(np.float32(KERAS_EPSILON)))
_TOLERANCE = 1e-3  # distance of k = loss * n / C from an integer that counts as "on the clamp"


def terms_per_sample(model) -> int | None:
    """The number of clamped terms the model's loss averages over per sample, or None when
    the loss has no clamp (logits, MSE, custom): a loss declares its clamp with a true
    ``clamped_terms`` attribute (the cross-entropies on probabilities do)."""
    loss = getattr(model, "loss", None)
    if loss is None or not getattr(loss, "clamped_terms", False):
        return None
    shape = getattr(model, "output_shape", None)
    if not isinstance(shape, tuple) or any(d is None for d in shape[1:-1]):
        return None
    return math.prod(shape[1:-1])  # a segmentation map averages its pixels


def on_clamp(loss: float, terms: int) -> bool:
    """Whether a batch loss is ``k * CLAMP / terms`` for an integer ``k >= 1``."""
    k = loss * terms / CLAMP
    return k >= 0.5 and abs(k - round(k)) <= _TOLERANCE


def nonfinite_weight(model) -> str | None:
    """'weight W of layer L is non-finite (N of M values)' for the first such weight, or None.

    One sum per weight array finds it (a sum is finite when every value is, unless values near
    the float range overflow it, which is a diverged run too); only a bad sum is looked at
    element by element."""
    from svertka.autograd import Tensor
    from svertka.backend import to_numpy

    tensors = getattr(model, "weights", None)
    if tensors is None:
        tensors = model.get_weights()
    for i, t in enumerate(tensors):
        w = t.data if isinstance(t, Tensor) else t
        if math.isfinite(float(w.sum())):
            continue
        bad = int(w.size - np.count_nonzero(np.isfinite(to_numpy(w))))
        name = (t.name if isinstance(t, Tensor) else None) or f"{i}"
        layer, _, weight = name.rpartition("/")
        where = f"weight '{weight}' of layer '{layer}'" if layer else f"weight '{name}'"
        return f"{where} is non-finite ({bad} of {w.size} values are NaN or infinite)"
    return None


class DivergenceCheck:
    """The running state of the three checks for one ``fit``; ``batch`` and ``epoch_end``
    return the reason to stop, or None."""

    def __init__(self, model, clamp_batches: int = 5, weight_every: int = 50):
        self.model = model
        self.clamp_batches = clamp_batches
        self.weight_every = weight_every
        self.terms_per_sample = terms_per_sample(model)  # fixed for the run: found once
        self.on_clamp = 0  # consecutive batches whose loss sat on the clamp
        self.batches = 0

    def batch(self, loss, size: int | None) -> str | None:
        loss = float(loss)
        self.batches += 1
        if math.isnan(loss):
            return "the loss is NaN"
        if math.isinf(loss):
            return f"the loss is {loss}"
        per_sample = self.terms_per_sample
        if per_sample is not None and size is not None and on_clamp(loss, size * per_sample):
            self.on_clamp += 1
            if self.on_clamp >= self.clamp_batches:
                return (f"the loss is stuck at the clamp: for {self.on_clamp} batches every "
                        f"prediction was saturated, each sample's loss being the clamp value "
                        f"{CLAMP:.4f} (-log({KERAS_EPSILON:g})) or 0, so every gradient is zero")
        else:
            self.on_clamp = 0
        if self.weight_every and self.batches % self.weight_every == 0:
            return nonfinite_weight(self.model)
        return None

    def epoch_end(self) -> str | None:
        return nonfinite_weight(self.model)
