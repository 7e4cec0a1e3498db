"""The ``Loss`` base class: one value per sample from ``call``, then Keras 3's sample
weighting and reductions; ``LossFunctionWrapper`` for a loss made of a function."""

from __future__ import annotations

import numpy as np

from svertka import checks, ops
from svertka.autograd import Tensor
from svertka.backend import get_array_module
from svertka.naming import snake_case
from svertka.ops._inputs import float_input
from svertka.ops.losses import same_rank, targets_like

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def _maximum(x: Tensor, c: float) -> Tensor:
    """``max(x, c)`` for a constant ``c``; the gradient is 1 where x > c."""
    return ops.linear_threshold(x, c, float(np.finfo(x.dtype).max))


def _clip(x: Tensor, lo: float, hi: float) -> Tensor:
    """``clip(x, lo, hi)`` with a zero gradient where the clip is active."""
    return ops.linear_threshold(x, lo, hi)


def _abs(x: Tensor) -> Tensor:
    return ops.relu(x) + ops.relu(-x)  # exact, with the gradient 0 at x = 0


def _axis(where: str, axis, ndim: int) -> int:
    axis = checks.integer(where, "axis", axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{where}: argument 'axis' must be in [{-ndim}, {ndim}) for y_pred of "
                         f"rank {ndim}, received {axis}")
    return axis


def _fit(where: str, values, sample_weight):
    """Values and weights brought to one rank (``same_rank``), checked to broadcast."""
    values, sample_weight = same_rank(values, sample_weight)
    try:
        np.broadcast_shapes(values.shape, sample_weight.shape)
    except ValueError:
        raise ValueError(f"{where}: argument 'sample_weight' must have one weight per sample "
                         f"(or the losses' shape {values.shape}), received shape "
                         f"{sample_weight.shape}") from None
    return values, sample_weight


def _weighted_reduce(where: str, values: Tensor, sample_weight, mask, reduction) -> Tensor:
    """Keras 3's ``reduce_weighted_values``: a mask (from ``ignore_class``) and the sample
    weights multiply the values, which are then summed (``'sum'``), averaged over their count
    (``'sum_over_batch_size'``, ``'mean'``: a mask divides by the valid count instead), divided
    by the sum of the weights (``'mean_with_sample_weight'``), or returned (``None``)."""
    xp = get_array_module(values.data)
    dtype = values.dtype
    if sample_weight is not None:
        w = sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight
        sample_weight = xp.asarray(w, dtype=dtype)
    if mask is not None:
        if reduction in ("mean", "sum_over_batch_size"):
            valid = int(mask.sum())
            scale = mask.size / valid if valid else 0.0
            mask = xp.where(mask, scale, 0.0).astype(dtype)
        else:
            mask = mask.astype(dtype)
        if sample_weight is not None:
            mask, sample_weight = _fit(where, mask, sample_weight)
            sample_weight = sample_weight * mask
        else:
            sample_weight = mask
    if sample_weight is not None:
        values, sample_weight = _fit(where, values, sample_weight)
        values = values * Tensor(sample_weight)
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    loss = ops.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(sample_weight.sum())
    else:
        divisor = values.size
    return loss / divisor if divisor else loss * 0.0


class Loss:
    """The base class of every loss, to subclass as in Keras: override ``call``.

    ``call(y_true, y_pred)`` receives both as Tensors in ``y_pred``'s float dtype (labels
    too, as Keras casts them) and returns the loss of each sample, built with ``svertka.ops``
    so that gradients flow; ``__call__(y_true, y_pred, sample_weight=None)`` weights those
    values and reduces them to a scalar Tensor by ``reduction``:

    - ``'sum_over_batch_size'`` (the default) and ``'mean'``: the sum divided by the number
      of values;
    - ``'sum'``: the sum;
    - ``'mean_with_sample_weight'``: the sum divided by the sum of the sample weights;
    - ``None`` or ``'none'``: the weighted values themselves.

    ``sample_weight`` has one weight per sample (or the values' shape); it gets no gradient.
    ``dtype`` converts plain arrays (a Tensor keeps its own dtype); by default float inputs
    keep theirs and anything else becomes float32.

    >>> import numpy as np
    >>> from svertka import ops
    >>> class MySquaredError(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return ops.mean((y_pred - y_true) ** 2, axis=-1)
    >>> loss = MySquaredError()
    >>> loss.name, loss(np.zeros((2, 1)), np.array([[1.0], [2.0]])).item()
    ('my_squared_error', 2.5)
    >>> loss(np.zeros((2, 1)), np.array([[1.0], [2.0]]), sample_weight=[1.0, 0.0]).item()
    0.5
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        where = type(self).__name__
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{where}: argument 'name' must be a string or None, "
                            f"received {name!r}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"{where}: argument 'reduction' must be one of {list(REDUCTIONS)}, "
                             f"received {reduction!r}")
        if dtype is not None:
            try:
                dtype = np.dtype(dtype).name
            except TypeError:
                dtype = None
            if dtype not in ("float16", "float32", "float64"):
                raise ValueError(f"{where}: argument 'dtype' must be None or a float dtype "
                                 f"('float32', 'float64', ...), received {dtype!r}")
        self.name = name or snake_case(where)
        self.reduction = reduction
        self._dtype = dtype

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        where = type(self).__name__
        if self._dtype is not None and not isinstance(y_pred, Tensor):
            y_pred = np.asarray(y_pred, dtype=self._dtype)
        p = float_input(where, y_pred, "y_pred")
        t = targets_like(y_true, p)
        values = self.call(t, p)
        if not isinstance(values, Tensor):
            raise TypeError(f"{where}.call: must return a svertka Tensor built with "
                            f"svertka.ops from its Tensor arguments (so that gradients flow), "
                            f"received {type(values).__name__}")
        mask = getattr(values, "_loss_mask", None)
        return _weighted_reduce(where, values, sample_weight, mask, self.reduction)

    def call(self, y_true, y_pred) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Loss must implement "
                                  f"call(self, y_true, y_pred)")

    def get_config(self) -> dict:
        config = {"name": self.name, "reduction": self.reduction}
        if self._dtype is not None:
            config["dtype"] = self._dtype
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class LossFunctionWrapper(Loss):
    """A ``Loss`` around a function ``fn(y_true, y_pred, **kwargs)`` that returns one value per
    sample; ``y_true`` and ``y_pred`` are first brought to the same rank ((N,) labels meet
    (N, 1) predictions as (N, 1)), as in Keras.

    >>> import numpy as np
    >>> from svertka import ops
    >>> loss = LossFunctionWrapper(lambda t, p, k: k * ops.mean(p - t, axis=-1), k=3.0)
    >>> loss(np.zeros(2), np.array([[1.0], [2.0]]), sample_weight=[1.0, 1.0]).item()
    4.5
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: argument 'fn' must be a function "
                            f"fn(y_true, y_pred), received {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred) -> Tensor:
        y_true, y_pred = same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        from svertka.losses import LOSSES  # the registry, built after this module

        if type(self) is not LossFunctionWrapper:
            return Loss.get_config(self)
        name = next((k for k, f in LOSSES.items() if f is self.fn), None)
        if name is None:
            raise ValueError(f"LossFunctionWrapper: the function {self.fn!r} has no saved "
                             f"name; wrap one of {sorted(LOSSES)} or subclass Loss")
        return {**Loss.get_config(self), "fn": name, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict):
        from svertka.losses import get

        config = dict(config)
        if "fn" in config:
            config["fn"] = get(config["fn"])
        return cls(**config)


def _extra(config: dict, **values) -> dict:
    """Adds the settings Keras leaves out of a config (Huber's ``delta``, ...) where they are
    not the default, so that a default config equals Keras's and any config round-trips."""
    config.update({k: v for k, (v, default) in values.items() if v != default})
    return config


# One value per sample: the mean (or sum) over the last axis, as Keras's loss functions.
def _same_shape(where: str, t: Tensor, p: Tensor) -> None:
    if t.shape != p.shape:
        raise ValueError(f"{where}: arguments 'y_true' and 'y_pred' must have the same shape, "
                         f"received {t.shape} and {p.shape}")
    if p.ndim == 0:
        raise ValueError(f"{where}: argument 'y_pred' must have rank >= 1, received a scalar")


