"""Training tools that sit on top of a compiled model: the learning-rate finder.

``lr_find`` is Leslie Smith's learning-rate range test, as fastai's ``lr_find`` and
keras-lr-finder run it: train one batch per step with rates growing exponentially from
``start`` to ``end``, track an exponentially smoothed loss, stop when it exceeds
``stop_factor`` times the best seen, then put the weights, the optimiser and svertka's random
generator back as they were. A good rate lies where the smoothed loss falls fastest.

>>> import numpy as np, svertka
>>> from svertka.layers import Dense
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(64, 4)).astype("float32")
>>> y = x @ rng.normal(size=(4, 1)).astype("float32")
>>> model = svertka.Sequential([Dense(1, input_shape=(4,))])
>>> model.compile("sgd", loss="mse")
>>> before = model.get_weights()
>>> result = lr_find(model, x, y, start=1e-4, end=10, steps=30, batch_size=16)
>>> all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
True
>>> bool(1e-4 <= result.suggestion <= 10)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from svertka import checks
from svertka import random as _random
from svertka.models import arguments


@dataclass
class LRFinderResult:
    """What ``lr_find`` measured.

    ``rates``: the rate of each step taken; ``losses``: the smoothed (bias-corrected) loss
    after each; ``raw_losses``: the batch losses themselves. ``suggestion``: the rate where the
    smoothed loss falls fastest against log(rate) (``method == "steepest"``, fastai's
    ``steep``), or, with fewer than 3 usable points, a tenth of the rate of the lowest loss
    (``method == "min/10"``); ``min_rate`` is that rate of the lowest loss.
    """

    rates: list[float]
    losses: list[float]
    raw_losses: list[float]
    suggestion: float
    method: str
    min_rate: float
    stopped_early: bool = field(default=False)

    def plot(self, path=None):
        """The smoothed loss against the rate (log axis), the suggestion marked; saved to
        ``path`` when given (format from the extension). Returns the matplotlib Figure, drawn
        on the Agg canvas (headless; Jupyter displays it)."""
        from svertka.viz.history import _figure

        try:
            fig = _figure(figsize=(6, 4), layout="constrained")
        except ImportError:
            raise ImportError("LRFinderResult.plot needs matplotlib: pip install svertka[plot] "
                              "(or pip install matplotlib)") from None
        ax = fig.add_subplot()
        ax.plot(self.rates, self.losses, label="smoothed loss")
        ax.set_xscale("log")
        i = int(np.argmin(np.abs(np.log(self.rates) - math.log(self.suggestion))))
        ax.plot([self.suggestion], [self.losses[i]], "o", color="tab:red",
                label=f"suggestion ({self.method}): {self.suggestion:.2e}")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend()
        if path is not None:
            fig.savefig(path)
        return fig


def _suggest(rates: list[float], losses: list[float], blew_up: bool):
    """(suggestion, method, min_rate): see ``LRFinderResult``; ``blew_up``: the last point
    is the one that stopped the test, left out."""
    usable = len(losses) - 1 if blew_up else len(losses)
    best = int(np.argmin(losses[:max(usable, 1)]))
    min_rate = rates[best]
    if usable < 3:
        return min_rate / 10, "min/10", min_rate
    slope = np.gradient(np.asarray(losses[:usable]), np.log(rates[:usable]))
    return rates[int(np.argmin(slope))], "steepest", min_rate


def lr_find(model, x, y, start: float = 1e-7, end: float = 10, steps: int = 100,
            batch_size: int = 32, stop_factor: float = 4, smooth: float = 0.98,
            seed: int = 0) -> LRFinderResult:
    """Run the learning-rate range test on a compiled ``model`` (see the module docstring).

    Step ``i`` of ``steps`` trains one batch at ``start * (end / start) ** (i / (steps -
    1))``, with every layer at that one rate (a ``LayerRates`` of the optimiser is set aside
    for the test). Batches are drawn in an order shuffled by ``seed``, again each epoch; the
    test stops early when the smoothed loss exceeds ``stop_factor`` times its lowest value or
    a loss is not finite. Afterwards the model's weights (batch-norm statistics included),
    the optimiser's state and svertka's random generator are exactly as before.
    """
    from svertka.models.sources import batch_tensor
    from svertka.models.training import _require_compiled, train_step, trainable_params

    name = "lr_find"
    _require_compiled(model, name)
    x, y = arguments.xy(name, x, y)
    start = checks.finite_float(name, "start", start, 0.0, low_open=True)
    end = checks.finite_float(name, "end", end, start, low_open=True)
    steps = checks.integer(name, "steps", steps, low=2)
    batch_size = checks.positive_int(name, "batch_size", batch_size)
    stop_factor = checks.finite_float(name, "stop_factor", stop_factor, 1.0, low_open=True)
    smooth = checks.finite_float(name, "smooth", smooth, 0.0, 1.0, high_open=True)
    model._build_for(x)
    opt = model.optimizer
    tensors = model.weights + list(getattr(model.loss, "trainable_weights", []))
    saved = [t.data.copy() for t in tensors]
    saved_opt, saved_rng = opt.snapshot(), _random.get_state()
    rng = np.random.default_rng(seed)
    rates, losses, raw = [], [], []
    avg, best, stopped, blew_up = 0.0, math.inf, False, False
    try:
        order, pos = rng.permutation(len(x)), 0
        for i in range(steps):
            if pos >= len(x):
                order, pos = rng.permutation(len(x)), 0
            idx = order[pos:pos + batch_size]
            pos += batch_size
            rate = start * (end / start) ** (i / (steps - 1))
            opt._learning_rate = rate
            loss, _ = train_step(model, batch_tensor(x, idx), y[idx], trainable_params(model))
            if not math.isfinite(loss):
                stopped = True
                break
            avg = smooth * avg + (1 - smooth) * loss
            smoothed = avg / (1 - smooth ** (i + 1))
            rates.append(rate)
            raw.append(loss)
            losses.append(smoothed)
            if smoothed > stop_factor * best:
                stopped = blew_up = True
                break
            best = min(best, smoothed)
    finally:
        for t, a in zip(tensors, saved):
            t.data[...] = a
            t.grad = None
        opt.restore(saved_opt)
        _random.set_state(saved_rng)
    if not rates:
        raise ValueError(f"{name}: the loss of the very first step (rate {start:g}) was not "
                         f"finite; check the data and the model")
    suggestion, method, min_rate = _suggest(rates, losses, blew_up)
    return LRFinderResult(rates, losses, raw, suggestion, method, min_rate, stopped)
