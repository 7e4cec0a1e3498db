"""Optimisers (SGD, Adam, AdamW, RMSprop), learning-rate schedules and per-layer rates
(``LayerRates``) for Keras-style training.

A training step is: ``zero_grad(params)``, a backward pass, ``apply_gradients(params)``.
``get`` turns what ``compile(optimizer=...)`` receives into an optimiser: a name, an
instance, or a serialised dict ``{"class_name": ..., "config": {...}}``.

>>> import numpy as np, svertka
>>> opt = get("SGD")
>>> w = svertka.Tensor(np.array([1.0]), requires_grad=True)
>>> (w * w).sum().backward()
>>> opt.apply_gradients([w]); opt.zero_grad([w])
>>> round(float(w.data[0]), 6), w.grad, opt.iterations
(0.98, None, 1)
>>> get(serialize(opt)).get_config() == opt.get_config()
True
"""

from __future__ import annotations

from svertka.optimizers import schedules
from svertka.optimizers.adam import Adam, AdamW
from svertka.optimizers.base import _REGISTRY, Optimizer
from svertka.optimizers.layer_rates import LayerRates
from svertka.optimizers.rmsprop import RMSprop
from svertka.optimizers.sgd import SGD

_NAMES = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def serialize(optimizer: Optimizer) -> dict:
    """``{"class_name": ..., "config": optimizer.get_config()}`` (JSON-serialisable)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizers.serialize: argument 'optimizer' must be an Optimizer, "
            f"received {type(optimizer).__name__}"
        )
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict) -> Optimizer:
    """The optimiser ``serialize`` described; the class name is matched case-insensitively.

    A flat dict ``{"class_name": ..., <hyperparameters>}`` is accepted as well.
    """
    name = config.get("class_name")
    cls = _REGISTRY.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(
            f"optimizers.deserialize: unknown optimizer class_name {name!r}; "
            f"known: {sorted(_REGISTRY)}"
        )
    if isinstance(config.get("config"), dict):
        return cls.from_config(config["config"])
    return cls.from_config({k: v for k, v in config.items() if k != "class_name"})


def get(identifier) -> Optimizer:
    """An optimiser from a name ('sgd', 'adam', 'adamw', 'rmsprop', any case; default
    hyperparameters), an ``Optimizer`` (returned as is) or a config dict (see ``deserialize``).

    >>> get("adam").learning_rate
    0.001
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier)
    raise ValueError(
        f"optimizers.get: argument 'identifier' must be one of {sorted(_NAMES)} "
        f"(any case), an Optimizer or a config dict with 'class_name', "
        f"received {identifier!r}"
    )


__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "LayerRates",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]
