"""Learning-rate schedules: ``schedule(step) -> float``, with Keras's formulas and configs.

An optimiser given a schedule instead of a float asks it for the rate of every update, passing
the number of updates already made (0 for the first), as Keras does. Schedules are plain
Python maths on floats: they never touch arrays, so they run the same on NumPy and CuPy.

A schedule serialises as ``{"class_name": ..., "config": {...}}`` (``serialize``), and
``get`` turns such a dict back into a schedule; subclasses of ``LearningRateSchedule`` are
found by class name automatically.

>>> s = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> s(0), s(10), s(20)
(0.1, 0.05, 0.025)
>>> get(serialize(s))(10)
0.05
"""

from __future__ import annotations

import bisect
import math
import numbers

from svertka import checks

_REGISTRY: dict[str, type] = {}


def _check_number(owner: str, name: str, value, low=None, low_open=False):
    """``value`` checked by ``svertka.checks.finite_float``, kept an int when given one (so
    ``decay_steps=1000`` stays 1000 in the JSON config)."""
    number = checks.finite_float(owner, name, value, low, low_open=low_open)
    return int(value) if isinstance(value, numbers.Integral) else number


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step) -> float`` and ``get_config``.

    ``get_config()`` returns the keyword arguments of ``__init__`` (JSON-serialisable), so
    ``from_config(get_config())`` rebuilds an equal schedule.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def __call__(self, step) -> float:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step)")

    def get_config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config: dict) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _RateDecay(LearningRateSchedule):
    """Shared by the schedules of (initial rate, decay steps, decay rate, staircase)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str | None = None,
    ):
        owner = type(self).__name__
        self.initial_learning_rate = _check_number(
            owner, "initial_learning_rate", initial_learning_rate, 0.0
        )
        self.decay_steps = _check_number(owner, "decay_steps", decay_steps, 0.0, low_open=True)
        self.decay_rate = _check_number(owner, "decay_rate", decay_rate, 0.0)
        self.staircase = checks.flag(owner, "staircase", staircase)
        self.name = name

    def _progress(self, step) -> float:
        """``step / decay_steps``, floored with ``staircase=True``."""
        p = float(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is floored, so the rate drops once every
    ``decay_steps`` steps (torch's ``StepLR``); with ``decay_steps=1`` it is torch's
    ``ExponentialLR``.

    >>> ExponentialDecay(1.0, 2, 0.5, staircase=True)(3)
    0.5
    """

    def __call__(self, step) -> float:
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    That is Keras's convention; torch's ``MultiStepLR`` switches one step later (its
    milestone ``b + 1`` is the boundary ``b`` here).

    >>> s = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    >>> s(10), s(11), s(21)
    (1.0, 0.5, 0.1)
    """

    def __init__(self, boundaries, values, name: str | None = None):
        owner = "PiecewiseConstantDecay"
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"{owner}: argument 'values' must have one more entry than "
                f"'boundaries' ({len(boundaries) + 1}), received {len(values)}"
            )
        boundaries = [_check_number(owner, f"boundaries[{i}]", b) for i, b in enumerate(boundaries)]
        if any(b1 <= b0 for b0, b1 in zip(boundaries, boundaries[1:])):
            raise ValueError(
                f"{owner}: argument 'boundaries' must be strictly increasing, received {boundaries}"
            )
        self.boundaries = boundaries
        self.values = [
            float(_check_number(owner, f"values[{i}]", v, 0.0)) for i, v in enumerate(values)
        ]
        self.name = name

    def __call__(self, step) -> float:
        return self.values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self) -> dict:
        return {"boundaries": list(self.boundaries), "values": list(self.values), "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from a peak rate to ``alpha * peak`` over ``decay_steps``, then constant.

    Without warm-up the peak is ``initial_learning_rate`` and
    ``lr(step) = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * t / decay_steps)) + alpha)``
    with ``t = min(step, decay_steps)``: torch's ``CosineAnnealingLR(T_max=decay_steps,
    eta_min=alpha * initial)`` up to ``T_max``. With ``warmup_target`` set, the rate first
    rises linearly from ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``
    and then decays from ``warmup_target`` (Keras 3; ``warmup_steps`` is ignored while
    ``warmup_target`` is None, as there).

    >>> s = CosineDecay(1.0, decay_steps=10, alpha=0.1)
    >>> round(s(0), 6), round(s(5), 6), round(s(10), 6), round(s(99), 6)
    (1.0, 0.55, 0.1, 0.1)
    >>> w = CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)
    >>> w(2), w(4)
    (0.5, 1.0)
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str | None = None,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        owner = "CosineDecay"
        self.initial_learning_rate = _check_number(
            owner, "initial_learning_rate", initial_learning_rate, 0.0
        )
        self.decay_steps = _check_number(owner, "decay_steps", decay_steps, 0.0, low_open=True)
        self.alpha = _check_number(owner, "alpha", alpha, 0.0)
        self.warmup_target = (
            None
            if warmup_target is None
            else _check_number(owner, "warmup_target", warmup_target, 0.0)
        )
        self.warmup_steps = _check_number(owner, "warmup_steps", warmup_steps, 0.0)
        self.name = name

    def _decay(self, t: float, peak: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * t / self.decay_steps))
        return peak * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step) -> float:
        step = float(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            rise = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + rise * step / self.warmup_steps
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


def cosine_with_warmup(rate: float, total_steps: int, warmup_steps: int = 0) -> CosineDecay:
    """A rate that rises linearly from 0 to ``rate`` over ``warmup_steps``, then falls along a
    cosine to 0 at ``total_steps`` (``svertka train --schedule cosine --warmup-epochs``).

    >>> s = cosine_with_warmup(0.1, total_steps=30, warmup_steps=10)
    >>> [round(s(k), 6) for k in (0, 5, 10, 20, 30)]
    [0.0, 0.05, 0.1, 0.05, 0.0]
    """
    if warmup_steps == 0:
        return CosineDecay(rate, total_steps)
    return CosineDecay(0.0, total_steps - warmup_steps, warmup_target=rate,
                       warmup_steps=warmup_steps)


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored ratio with
    ``staircase=True``), Keras's ``InverseTimeDecay``.

    >>> InverseTimeDecay(1.0, decay_steps=10, decay_rate=0.5)(20)
    0.5
    """

    def __call__(self, step) -> float:
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step))


class OneCycle(LearningRateSchedule):
    """Leslie Smith's one-cycle policy, the learning rates of ``torch.optim.lr_scheduler.
    OneCycleLR`` (two phases; no momentum cycling).

    The rate rises from ``max_rate / div_factor`` to ``max_rate`` over the first
    ``pct_start * total_steps - 1`` steps, then falls to ``max_rate / div_factor /
    final_div_factor`` at step ``total_steps - 1``, along a cosine (``anneal="cos"``) or a
    line (``"linear"``). Past the end it stays at the final rate (torch raises there).

    As the ``schedule`` of ``LayerRates`` its value multiplies each layer's rate: give
    ``max_rate=1.0`` there, so that every layer cycles up to its own rate.

    >>> s = OneCycle(1.0, total_steps=11, pct_start=0.5, div_factor=10, final_div_factor=1)
    >>> round(s(0), 6), round(s(4.5), 6), round(s(10), 6), round(s(99), 6)
    (0.1, 1.0, 0.1, 0.1)
    """

    def __init__(self, max_rate: float, total_steps: int, pct_start: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, anneal: str = "cos",
                 name: str | None = None):
        owner = "OneCycle"
        self.max_rate = _check_number(owner, "max_rate", max_rate, 0.0)
        self.total_steps = checks.positive_int(owner, "total_steps", total_steps)
        self.pct_start = checks.finite_float(owner, "pct_start", pct_start, 0.0, 1.0)
        self.div_factor = _check_number(owner, "div_factor", div_factor, 0.0, low_open=True)
        self.final_div_factor = _check_number(owner, "final_div_factor", final_div_factor, 0.0,
                                              low_open=True)
        if anneal not in ("cos", "linear"):
            raise ValueError(f"{owner}: argument 'anneal' must be 'cos' or 'linear', "
                             f"received {anneal!r}")
        self.anneal = anneal
        self.name = name

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def __call__(self, step) -> float:
        initial = self.max_rate / self.div_factor
        final = initial / self.final_div_factor
        step = min(float(step), self.total_steps - 1.0)
        peak_step = self.pct_start * self.total_steps - 1.0  # torch's end of the first phase
        if step <= peak_step:
            return self._anneal(initial, self.max_rate, step / peak_step if peak_step else 1.0)
        span = self.total_steps - 1.0 - peak_step
        return self._anneal(self.max_rate, final, (step - peak_step) / span if span else 1.0)

    def get_config(self) -> dict:
        return {
            "max_rate": self.max_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "anneal": self.anneal,
            "name": self.name,
        }


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name": ..., "config": {...}}``, the form ``get`` and optimiser configs use."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(
            f"schedules.serialize: argument 'schedule' must be a "
            f"LearningRateSchedule, received {type(schedule).__name__}"
        )
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def get(identifier) -> LearningRateSchedule:
    """A schedule from a ``LearningRateSchedule`` (returned as is) or a serialised dict.

    >>> get({"class_name": "InverseTimeDecay",
    ...      "config": {"initial_learning_rate": 1.0, "decay_steps": 1, "decay_rate": 1.0}})(1)
    0.5
    """
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict) and isinstance(identifier.get("config"), dict):
        cls = _REGISTRY.get(identifier.get("class_name"))
        if cls is not None:
            return cls.from_config(dict(identifier["config"]))
        raise ValueError(
            f"schedules.get: unknown schedule class_name "
            f"{identifier.get('class_name')!r}; known: {sorted(_REGISTRY)}"
        )
    raise ValueError(
        f"schedules.get: argument 'identifier' must be a LearningRateSchedule or "
        f"a dict {{'class_name': ..., 'config': {{...}}}}, received {identifier!r}"
    )
