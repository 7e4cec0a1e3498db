"""Discriminative learning rates: one rate per layer (group), for fine-tuning a network.

``LayerRates`` is given as any optimiser's ``learning_rate``. ``compile`` binds it to the model
(``optimizer.bind(model)``), which tells it the layers in order; every update then moves each
weight at its layer's rate.

- ``LayerRates(low, high)``: the layers that have trainable weights (``Dense``, ``Conv2D``,
  ``BatchNormalization``..., frozen or not), in ``model.layers`` order, get rates spreading
  geometrically from ``low`` (the first) to ``high`` (the last): fastai's ``slice(lo, hi)``.
  ``groups=n`` cuts them into n consecutive groups (as even as can be, the first ones larger)
  sharing one rate each, fastai's layer groups. One layer (or group) alone gets ``high``.
- ``LayerRates(base, multipliers={"conv1": 0.1, ...})``: the named layers get ``base`` times
  their multiplier, the others ``base``.

Freezing does not move the rates: they follow the architecture, so freezing the first half of
a network leaves the rest at the rates they had. Trainable weights that belong to no layer of
the model (a loss's own weight) get the highest rate, ``high`` (spread) or ``base``
(multipliers).

``schedule``: a ``LearningRateSchedule`` (or callable ``step -> float``) whose value at each
step *multiplies* every layer's rate, as fastai runs one cycle per group with the group's rate
as its peak: ``LayerRates(1e-4, 1e-2, schedule=OneCycle(1.0, total_steps))``.

>>> import svertka
>>> from svertka.layers import Dense
>>> model = svertka.Sequential([Dense(4, input_shape=(3,), name="a"), Dense(4, name="b"),
...                             Dense(2, name="c")])
>>> rates = LayerRates(1e-4, 1e-2)
>>> model.compile(svertka.optimizers.SGD(rates), loss="mse")
>>> {name: round(r, 6) for name, r in rates.layer_rates().items()}
{'a': 0.0001, 'b': 0.001, 'c': 0.01}
"""

from __future__ import annotations

from svertka import checks
from svertka.optimizers import schedules


def spread(low: float, high: float, n: int) -> list[float]:
    """``n`` rates from ``low`` to ``high`` in equal ratios (fastai's ``even_mults``); one
    alone is ``high``.

    >>> [round(r, 6) for r in spread(0.001, 0.1, 3)]
    [0.001, 0.01, 0.1]
    """
    if n == 1:
        return [high]
    return [low * (high / low) ** (i / (n - 1)) for i in range(n)]


class LayerRates(schedules.LearningRateSchedule):
    """Per-layer learning rates (see the module docstring).

    Args:
        low: the first layer's rate (with ``high``), or the base rate (with ``multipliers``);
            a finite float > 0.
        high: the last layer's rate; None with ``multipliers`` (required otherwise).
        groups: cut the layers into this many consecutive groups sharing one rate each.
        multipliers: ``{layer_name: factor}``; a name of no layer of the model is an error
            when the optimiser is bound (at ``compile``).
        schedule: a schedule whose value multiplies every rate at each step.

    Called with a step, it returns the highest rate at that step (what
    ``optimizer.current_learning_rate`` reports); ``rate_of(tensor, step)`` gives one
    weight's rate.
    """

    def __init__(self, low: float, high: float | None = None, groups: int | None = None,
                 multipliers: dict | None = None, schedule=None):
        owner = "LayerRates"
        self.low = checks.finite_float(owner, "low", low, 0.0, low_open=True)
        if multipliers is None:
            if high is None:
                raise ValueError(f"{owner}: give 'high' (rates from low to high) or "
                                 f"'multipliers' (a factor per layer name), received neither")
            self.high = checks.finite_float(owner, "high", high, 0.0, low_open=True)
            self.multipliers = None
        else:
            if high is not None or groups is not None:
                raise ValueError(f"{owner}: 'multipliers' replaces the spread from low to "
                                 f"high; received multipliers with high={high!r}, "
                                 f"groups={groups!r}")
            if not isinstance(multipliers, dict) or not all(
                    isinstance(k, str) for k in multipliers):
                raise TypeError(f"{owner}: argument 'multipliers' must be a dict of layer "
                                f"names to factors, received {multipliers!r}")
            self.high = None
            self.multipliers = {k: checks.finite_float(owner, f"multipliers[{k!r}]", v, 0.0)
                                for k, v in multipliers.items()}
        self.groups = None if groups is None else checks.positive_int(owner, "groups", groups)
        if isinstance(schedule, dict):
            schedule = schedules.get(schedule)
        if schedule is not None and (not callable(schedule) or isinstance(schedule, LayerRates)):
            raise TypeError(f"{owner}: argument 'schedule' must be a LearningRateSchedule or a "
                            f"callable step -> factor, received {schedule!r}")
        self.schedule = schedule
        self._model = None
        self._table: dict[int, tuple] = {}  # id(weight) -> (weight, rate)

    # -- binding -------------------------------------------------------------------------
    def bind(self, model) -> None:
        """Learn ``model``'s layers (``compile`` does this); checks the multipliers' names."""
        if self.multipliers is not None:
            names = [layer.name for layer in model.layers]
            unknown = sorted(set(self.multipliers) - set(names))
            if unknown:
                raise ValueError(f"LayerRates: multipliers name no layer of model "
                                 f"{model.name!r}: {unknown}; its layers are {names}")
        self._model = model
        self._table = {}

    def layer_rates(self) -> dict[str, float]:
        """``{layer name: rate}`` (before the schedule) for the bound model's layers that have
        trainable weights, in order."""
        model = self._require_bound("LayerRates.layer_rates")
        layers = [la for la in model.layers if any(tr for _, _, tr in la._weights)]
        if self.multipliers is not None:
            return {la.name: self.low * self.multipliers.get(la.name, 1.0) for la in layers}
        n = len(layers)
        if n == 0:
            return {}
        groups = n if self.groups is None else self.groups
        if groups > n:
            raise ValueError(f"LayerRates: groups={groups}, but model {model.name!r} has only "
                             f"{n} layers with trainable weights")
        rates = spread(self.low, self.high, groups)
        size, extra = divmod(n, groups)
        out, i = {}, 0
        for g, rate in enumerate(rates):
            for la in layers[i:i + size + (g < extra)]:
                out[la.name] = rate
            i += size + (g < extra)
        return out

    def _require_bound(self, what: str):
        if self._model is None:
            raise ValueError(f"{what}: the LayerRates learning rate is not bound to a model; "
                             f"pass the optimiser to model.compile (or call "
                             f"optimizer.bind(model)) first")
        return self._model

    def _fallback(self) -> float:
        return self.low if self.multipliers is not None else self.high

    def _rebuild(self) -> None:
        rates = self.layer_rates()
        self._table = {id(t): (t, rates[la.name]) for la in self._model.layers
                       if la.name in rates for t in la.weights}

    # -- rates ---------------------------------------------------------------------------
    def scale(self, step) -> float:
        """The schedule's factor at ``step`` (1 without a schedule)."""
        if self.schedule is None:
            return 1.0
        return checks.finite_float("LayerRates", f"schedule (at step {step})",
                                   self.schedule(step), 0.0)

    def rate_of(self, weight, step=0, scale: float | None = None) -> float:
        """The rate of ``weight`` at ``step`` (``scale`` given: that factor instead)."""
        self._require_bound("LayerRates.rate_of")
        entry = self._table.get(id(weight))
        if entry is None or entry[0] is not weight:
            self._rebuild()  # the model grew weights since (a Sequential built by fit)
            entry = self._table.get(id(weight))
            if entry is None or entry[0] is not weight:
                entry = self._table[id(weight)] = (weight, self._fallback())
        return entry[1] * (self.scale(step) if scale is None else scale)

    def __call__(self, step) -> float:
        if self._model is not None:
            peak = max([*self.layer_rates().values(), self._fallback()])
        elif self.multipliers is not None:
            peak = self.low * max([1.0, *self.multipliers.values()])
        else:
            peak = max(self.low, self.high)
        return peak * self.scale(step)

    # -- config --------------------------------------------------------------------------
    def get_config(self) -> dict:
        schedule = self.schedule
        if isinstance(schedule, schedules.LearningRateSchedule):
            schedule = schedules.serialize(schedule)
        elif schedule is not None:
            raise TypeError(f"LayerRates.get_config: the schedule {schedule!r} is a plain "
                            f"callable; subclass LearningRateSchedule to serialise it")
        return {"low": self.low, "high": self.high, "groups": self.groups,
                "multipliers": None if self.multipliers is None else dict(self.multipliers),
                "schedule": schedule}
