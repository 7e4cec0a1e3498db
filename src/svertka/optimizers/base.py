"""The optimiser base class: learning rate or schedule, gradient clipping, per-parameter state.

An optimiser updates parameters from their gradients: ``apply_gradients(params)`` reads each
``p.grad`` (parameters whose grad is None are skipped, as Keras skips missing gradients),
changes ``p.data`` in place and counts the update in ``iterations``. In place matters: layers
and the model hold the same array objects, and a training step then allocates no new
parameter arrays. Subclasses write one method, ``_update(w, g, slots, lr, t)``, on raw arrays.

State ("slots": momentum buffers, moment estimates) is made lazily, zeros shaped like the
parameter, on its first update, and keyed by the parameter object's identity (the optimiser
keeps a reference to the parameter, so an id is never reused while its state lives). ``get_state`` /
``set_state`` export and import it as plain arrays in parameter order, for saving without
pickle. Scratch buffers (shared per shape and dtype, never saved) hold temporaries so the
update itself allocates nothing.

Learning rate: a float, a ``LearningRateSchedule``, or any callable ``step -> float``; a
schedule is asked with the number of updates already made (0 for the first update), as in
Keras. ``learning_rate`` is what was configured (float or schedule; assign a float to replace
either, as ReduceLROnPlateau does); ``current_learning_rate`` is the float the next update uses.

>>> import numpy as np, svertka
>>> from svertka.optimizers import SGD
>>> w = svertka.Tensor(np.array([1.0, 2.0]))
>>> w.grad = np.array([0.5, -1.0])
>>> SGD(learning_rate=0.1).apply_gradients([w])
>>> w.data.tolist()
[0.95, 2.1]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np

from svertka import checks
from svertka.autograd import Tensor
from svertka.backend import get_array_module, to_numpy
from svertka.optimizers import schedules

_REGISTRY: dict[str, type] = {}


# Keras 3 optimiser arguments svertka takes at their "off" value (what Keras programs pass)
_OFF = {"global_clipnorm": None, "use_ema": False, "ema_momentum": 0.99,
        "ema_overwrite_frequency": None, "loss_scale_factor": None,
        "gradient_accumulation_steps": None}


def _keras_options(owner: str, kwargs: dict) -> None:
    """Keras 3's other optimiser arguments: ``decay`` is ignored with a warning, as Keras 3
    does (Keras 2's learning-rate decay; use a schedule); the rest are accepted at their
    default and refused, naming them, otherwise."""
    if kwargs.pop("decay", None) is not None:
        warnings.warn(f"{owner}: argument 'decay' is no longer supported and will be ignored "
                      f"(as in Keras 3); use svertka.optimizers.schedules", stacklevel=4)
    for key, value in kwargs.items():
        if key not in _OFF:
            raise TypeError(f"{owner}: unexpected keyword argument {key!r}")
        if value != _OFF[key]:
            raise ValueError(f"{owner}: argument {key!r} is not supported by svertka, received "
                             f"{value!r}; only its default {_OFF[key]!r} is accepted")


class Optimizer:
    """Base class of the optimisers; see the module docstring for the conventions.

    Args:
        learning_rate: a finite float >= 0, a ``LearningRateSchedule`` or a callable
            ``step -> float`` (whose values are checked the same way at every update).
        clipnorm: if set, each gradient tensor whose L2 norm exceeds it is rescaled to that
            norm (Keras's per-tensor ``clipnorm``).
        clipvalue: if set, gradients are clipped element-wise to ``[-clipvalue, clipvalue]``.
            At most one of ``clipnorm`` and ``clipvalue``, as in Keras.
        name: a label (the lower-cased class name by default).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__.lower()] = cls

    def __init__(
        self,
        learning_rate=0.001,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        name: str | None = None,
        **kwargs,
    ):
        owner = type(self).__name__
        _keras_options(owner, kwargs)
        if clipnorm is not None and clipvalue is not None:
            raise ValueError(
                f"{owner}: only one of 'clipnorm' and 'clipvalue' can be set, "
                f"received clipnorm={clipnorm}, clipvalue={clipvalue}"
            )
        self.learning_rate = learning_rate
        self.clipnorm = (
            None
            if clipnorm is None
            else checks.finite_float(owner, "clipnorm", clipnorm, 0.0, low_open=True)
        )
        self.clipvalue = (
            None
            if clipvalue is None
            else checks.finite_float(owner, "clipvalue", clipvalue, 0.0, low_open=True)
        )
        self.name = name or owner.lower()
        self.iterations = 0
        self._slots: dict[int, tuple[Tensor, list]] = {}  # id(param) -> (param, slot arrays)
        self._buffers: dict[tuple, object] = {}  # (index, type, shape, dtype) -> scratch array

    # -- learning rate -----------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The configured rate: a float, or the schedule the optimiser was given."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if callable(value):
            self._learning_rate = value
        else:
            self._learning_rate = checks.finite_float(
                type(self).__name__, "learning_rate", value, 0.0
            )

    @property
    def current_learning_rate(self) -> float:
        """The rate of the next update (the schedule's value at ``iterations``)."""
        lr = self._learning_rate
        if not callable(lr):
            return lr
        # a schedule's NaN or negative rate would silently wreck every weight
        return checks.finite_float(
            type(self).__name__, f"learning_rate (its schedule at step {self.iterations})",
            lr(self.iterations), 0.0,
        )

    def bind(self, model) -> None:
        """Tell a per-layer learning rate (``LayerRates``) the model's layers; ``compile``
        calls it. Nothing to do for a single rate."""
        from svertka.optimizers.layer_rates import LayerRates

        if isinstance(self._learning_rate, LayerRates):
            self._learning_rate.bind(model)

    # -- state -------------------------------------------------------------------------------
    @property
    def slot_names(self) -> tuple[str, ...]:
        """Names of the per-parameter state arrays, in the order ``get_state`` lists them."""
        return ()

    def _slots_for(self, p: Tensor) -> list:
        entry = self._slots.get(id(p))
        if entry is None or entry[0] is not p:
            xp = get_array_module(p.data)
            entry = (p, [xp.zeros_like(p.data) for _ in self.slot_names])
            self._slots[id(p)] = entry
        return entry[1]

    def _buffer(self, w, index: int = 0):
        """A scratch array shaped like ``w`` (its content is garbage)."""
        key = (index, type(w), w.shape, w.dtype.str)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = get_array_module(w).empty_like(w)
        return buf

    def get_state(self, params: Iterable[Tensor]) -> dict:
        """The optimiser's state for ``params``: ``{"iterations": int, "slots": [[arrays]]}``.

        ``slots[i]`` lists parameter i's state arrays (NumPy copies, in ``slot_names`` order),
        or is empty where that parameter has not been updated yet.
        """
        slots = []
        for p in params:
            entry = self._slots.get(id(p))
            arrays = entry[1] if entry is not None and entry[0] is p else []
            slots.append([np.array(to_numpy(a), copy=True) for a in arrays])
        return {"iterations": int(self.iterations), "slots": slots}

    def set_state(self, params: Iterable[Tensor], state: dict) -> None:
        """Replace all state by ``state`` (as ``get_state`` returns it) for ``params``.

        The arrays are copied onto each parameter's device and dtype; an empty slot list leaves
        that parameter without state (zeros on its next update).
        """
        owner = f"{type(self).__name__}.set_state"
        params = list(params)
        if not isinstance(state, dict) or "iterations" not in state or "slots" not in state:
            raise ValueError(
                f"{owner}: argument 'state' must be a dict with keys 'iterations' "
                f"and 'slots', received {type(state).__name__}"
            )
        if len(state["slots"]) != len(params):
            raise ValueError(
                f"{owner}: 'slots' must hold one list per parameter "
                f"({len(params)}), received {len(state['slots'])}"
            )
        names = self.slot_names
        new = {}
        for i, (p, arrays) in enumerate(zip(params, state["slots"])):
            if len(arrays) == 0:
                continue
            if len(arrays) != len(names):
                raise ValueError(
                    f"{owner}: parameter {i} needs {len(names)} state arrays "
                    f"{names}, received {len(arrays)}"
                )
            xp = get_array_module(p.data)
            copies = [xp.array(a, dtype=p.data.dtype) for a in arrays]
            for name, a in zip(names, copies):
                if a.shape != p.data.shape:
                    raise ValueError(
                        f"{owner}: state '{name}' of parameter {i} must have the "
                        f"parameter's shape {p.data.shape}, received {a.shape}"
                    )
            new[id(p)] = (p, copies)
        self._slots = new
        self.iterations = int(state["iterations"])

    def snapshot(self) -> dict:
        """A copy of everything updates change (the step count, the learning rate object,
        every parameter's state), for ``restore``: a trial run such as
        ``svertka.tools.lr_find`` leaves the optimiser as it found it."""
        slots = {k: (p, [a.copy() for a in arrays]) for k, (p, arrays) in self._slots.items()}
        return {"iterations": self.iterations, "learning_rate": self._learning_rate,
                "slots": slots}

    def restore(self, snapshot: dict) -> None:
        """Put back the state ``snapshot()`` copied."""
        self.iterations = snapshot["iterations"]
        self._learning_rate = snapshot["learning_rate"]
        self._slots = {k: (p, [a.copy() for a in arrays])
                       for k, (p, arrays) in snapshot["slots"].items()}

    # -- updates -----------------------------------------------------------------------------
    def apply_gradients(self, params: Iterable[Tensor]) -> None:
        """Update every parameter of ``params`` that has a gradient, in place (each at its
        layer's rate under ``LayerRates``)."""
        from svertka.optimizers.layer_rates import LayerRates

        lr = self.current_learning_rate
        rates = self._learning_rate if isinstance(self._learning_rate, LayerRates) else None
        if rates is not None:
            rates._require_bound(f"{type(self).__name__}.apply_gradients")
            scale = rates.scale(self.iterations)
        t = self.iterations + 1
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{type(self).__name__}.apply_gradients: argument 'params' "
                    f"must hold svertka Tensors, received {type(p).__name__}"
                )
            g = p.grad
            if g is None:
                continue
            if isinstance(g, Tensor):
                g = g.data
            if g.shape != p.data.shape:
                raise ValueError(
                    f"{type(self).__name__}.apply_gradients: gradient of shape "
                    f"{g.shape} for a parameter of shape {p.data.shape}"
                )
            rate = lr if rates is None else rates.rate_of(p, scale=scale)
            self._update(p.data, self._clip(g, p.data), self._slots_for(p), rate, t)
        self.iterations += 1

    def _clip(self, g, w):
        """``g`` clipped as configured; a scratch array where it changes (never ``p.grad``)."""
        xp = get_array_module(g)
        if self.clipvalue is not None:
            out = self._buffer(w, 0)
            xp.clip(g, -self.clipvalue, self.clipvalue, out=out)
            return out
        if self.clipnorm is not None:
            flat = g.reshape(-1)
            norm = math.sqrt(float(xp.dot(flat, flat)))
            if norm > self.clipnorm:
                out = self._buffer(w, 0)
                xp.multiply(g, self.clipnorm / norm, out=out)
                return out
        return g

    def _decayed(self, g, w, weight_decay: float):
        """``g + weight_decay * w`` (coupled L2, as torch) in a scratch array."""
        if weight_decay == 0.0:
            return g
        xp = get_array_module(w)
        tmp, out = self._buffer(w, 1), self._buffer(w, 0)
        xp.multiply(w, weight_decay, out=tmp)
        xp.add(g, tmp, out=out)  # ``g`` may be buffer 0 itself (clipped); add is element-wise
        return out

    def _update(self, w, g, slots: list, lr: float, t: int) -> None:
        """Change ``w`` in place from gradient ``g``; ``t`` is the 1-based update number."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    def zero_grad(self, params: Iterable[Tensor]) -> None:
        """Set every parameter's gradient to None before the next backward pass."""
        for p in params:
            p.grad = None

    # -- config ------------------------------------------------------------------------------
    def _hyperparameters(self) -> dict:
        """The subclass's own ``__init__`` arguments (besides learning rate and clipping)."""
        return {}

    def get_config(self) -> dict:
        """The keyword arguments of ``__init__``, JSON-serialisable (schedules as dicts)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            raise TypeError(
                f"{type(self).__name__}.get_config: the learning rate {lr!r} is a "
                f"plain callable; subclass LearningRateSchedule to serialise it"
            )
        return {
            "name": self.name,
            "learning_rate": lr,
            **self._hyperparameters(),
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
        }

    @classmethod
    def from_config(cls, config: dict) -> Optimizer:
        """The optimiser ``get_config`` describes (a schedule given as a dict is rebuilt)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.get(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        config = {"learning_rate": self._learning_rate, **self._hyperparameters()}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in config.items())})"
