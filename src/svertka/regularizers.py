"""Weight penalties added to the training loss (SPEC §6, regularisation against overfitting),
with Keras 3's classes, names, defaults and configs.

Each regulariser maps a weight Tensor to a differentiable scalar Tensor; layers keep them
(``kernel_regularizer=``) and ``fit`` adds them to the loss.

>>> import numpy as np, svertka
>>> float(L2(0.5)(svertka.Tensor(np.array([1.0, 2.0]))).item())
2.5
>>> get("l1").get_config()
{'l1': 0.01}
"""

from __future__ import annotations

import inspect

import numpy as np

from svertka import checks, ops


class Regularizer:
    """Base class (Keras's ``keras.regularizers.Regularizer``): ``__call__(w)`` returns the
    penalty, ``get_config`` the arguments that ``from_config`` takes back."""

    def __call__(self, x):
        return 0.0

    def get_config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _factor(where: str, arg: str, value, default: float) -> float:
    return checks.finite_float(where, arg, default if value is None else value, 0.0)


class L1(Regularizer):
    """``l1 * sum(|w|)``.

    >>> import svertka
    >>> float(L1(0.5)(svertka.Tensor([1.0, -2.0])).item())
    1.5
    """

    def __init__(self, l1: float = 0.01):
        self.l1 = _factor("L1", "l1", l1, 0.01)

    def __call__(self, w):
        return ops.sum(ops.abs(w)) * self.l1

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(w ** 2)``."""

    def __init__(self, l2: float = 0.01):
        self.l2 = _factor("L2", "l2", l2, 0.01)

    def __call__(self, w):
        return ops.sum(w * w) * self.l2

    def get_config(self) -> dict:
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w ** 2)``; both factors default to 0, as in Keras 3
    (``L1L2(l2=0.1)`` has no L1 part).

    >>> import svertka
    >>> float(L1L2(1.0, 0.5)(svertka.Tensor([1.0, -2.0])).item())
    5.5
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _factor("L1L2", "l1", l1, 0.0)
        self.l2 = _factor("L1L2", "l2", l2, 0.0)

    def __call__(self, w):
        return ops.sum(ops.abs(w)) * self.l1 + ops.sum(w * w) * self.l2

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """``factor / 2`` times the mean absolute cosine between distinct rows (``mode='rows'``)
    or columns (``'columns'``) of a 2-D weight: pushes them towards orthogonality.

    >>> import numpy as np, svertka
    >>> float(OrthogonalRegularizer(1.0)(svertka.Tensor(np.eye(3))).item())
    0.0
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _factor("OrthogonalRegularizer", "factor", factor, 0.01)
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: argument 'mode' must be 'rows' or "
                             f"'columns', received {mode!r}")
        self.mode = mode

    def __call__(self, w):
        if len(w.shape) != 2:
            raise ValueError(f"OrthogonalRegularizer: the weight must have rank 2, received "
                             f"shape {tuple(w.shape)}")
        if self.mode == "columns":
            w = ops.transpose(w)
        # rows scaled to unit length (Keras's normalize: x / sqrt(max(sum x^2, 1e-12)))
        norm = ops.sqrt(ops.maximum(ops.sum(w * w, axis=1, keepdims=True), 1e-12))
        u = w / norm
        size = u.shape[0]
        off_diagonal = 1.0 - np.eye(size, dtype=u.dtype)
        cosines = ops.abs(ops.matmul(u, ops.transpose(u)) * off_diagonal)
        return ops.sum(cosines) * (self.factor * 0.5 / (size * (size - 1.0) / 2.0))

    def get_config(self) -> dict:
        return {"factor": self.factor, "mode": self.mode}


def l1(l1: float = 0.01) -> L1:  # noqa: E741 - Keras's name
    """Keras's alias ``keras.regularizers.l1(0.01)``."""
    return L1(l1)


def l2(l2: float = 0.01) -> L2:
    """Keras's alias ``keras.regularizers.l2(0.01)``.

    >>> l2(0.1).get_config()
    {'l2': 0.1}
    """
    return L2(l2)


def l1_l2(l1: float = 0.0, l2: float = 0.0) -> L1L2:  # noqa: E741 - Keras's name
    """Keras 3's ``keras.regularizers.l1_l2``, an alias of ``L1L2`` (0 each by default)."""
    return L1L2(l1, l2)


def orthogonal_regularizer(factor: float = 0.01, mode: str = "rows") -> OrthogonalRegularizer:
    return OrthogonalRegularizer(factor, mode)


CLASSES = {cls.__name__: cls for cls in (L1, L2, L1L2, OrthogonalRegularizer)}
NAMES = {"l1": l1, "l2": l2, "l1l2": l1_l2, "l1_l2": l1_l2,
         "orthogonal_regularizer": orthogonal_regularizer, **CLASSES}


def serialize(regularizer) -> dict:
    """Keras's serialised form ``{'module', 'class_name', 'config', 'registered_name'}``.

    >>> serialize(L2(0.1))["config"]
    {'l2': 0.1}
    """
    if type(regularizer).__name__ not in CLASSES:
        raise ValueError(f"regularizers.serialize: argument 'regularizer' must be one of "
                         f"{sorted(CLASSES)}, received {regularizer!r}")
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}


def deserialize(config) -> Regularizer:
    """A regulariser from ``serialize``'s dict; also svertka's older flat form
    ``{'class_name': 'L2', 'l2': 0.01}``, and a bare ``get_config()`` dict told by its keys
    (``{'l1'}``, ``{'l2'}``, ``{'l1', 'l2'}``, ``{'factor', 'mode'}``).

    >>> deserialize({"l1": 0.1, "l2": 0.2})
    L1L2(l1=0.1, l2=0.2)
    """
    if not isinstance(config, dict):
        raise TypeError(f"regularizers.deserialize: argument 'config' must be a dict, "
                        f"received {config!r}")
    if "class_name" in config:
        name = config["class_name"]
        args = config["config"] if isinstance(config.get("config"), dict) else {
            k: v for k, v in config.items() if k not in ("class_name", "module",
                                                         "registered_name")}
    else:
        by_keys = {("l1",): "L1", ("l2",): "L2", ("l1", "l2"): "L1L2",
                   ("factor", "mode"): "OrthogonalRegularizer"}
        name, args = by_keys.get(tuple(sorted(config))), config
    if name not in CLASSES:
        raise ValueError(f"regularizers.deserialize: argument 'config' must name one of "
                         f"{sorted(CLASSES)}, received {config!r}")
    try:
        return CLASSES[name].from_config(args)
    except TypeError as e:
        raise ValueError(f"regularizers.deserialize: the config of {name} is not valid ({e}), "
                         f"received {config!r}") from None


def get(regularizer):
    """A regulariser from None, an object or callable, a class, a config dict, or a Keras name
    (``'l1'``, ``'l2'``, ``'l1l2'``, ``'L2'``, ...; defaults as Keras's; ``'l1_l2'`` too,
    which Keras's ``get`` refuses).

    >>> get("l2").l2
    0.01
    """
    if regularizer is None:
        return None
    if inspect.isclass(regularizer) and issubclass(regularizer, Regularizer):
        return regularizer()
    if callable(regularizer):
        return regularizer
    if isinstance(regularizer, str) and regularizer in NAMES:
        return NAMES[regularizer]()
    if isinstance(regularizer, str) and regularizer.lower() in NAMES:
        return NAMES[regularizer.lower()]()
    if isinstance(regularizer, dict):
        return deserialize(regularizer)
    raise ValueError(f"regularizers.get: argument 'regularizer' must be one of "
                     f"{sorted(NAMES)}, a config dict or a callable, received {regularizer!r}")
