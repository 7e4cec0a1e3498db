"""Keras 3's losses, by the same names, defaults and semantics: ``Loss`` classes with
``from_logits=``, ``label_smoothing=``, ``reduction=`` and ``sample_weight``, their function
forms, and ``get``/``serialize``/``deserialize`` for ``model.compile(loss=...)`` and saving.

A ``Loss`` computes one value per sample in ``call(y_true, y_pred)`` (Keras's convention: the
mean or sum over the last axis), weights it by ``sample_weight`` and reduces it as Keras 3
does. The function forms (``mean_absolute_error``, ``huber``, ...) return the batch mean, the
value ``compile(loss="...")`` trains on; unlike Keras's, which return one value per sample,
so use ``Huber(reduction=None)`` for those. Everything is built from differentiable
``svertka.ops``, so gradients reach ``y_pred`` (and float targets that ask for them).

>>> import numpy as np
>>> loss = get("categorical_crossentropy")
>>> round(float(loss(np.eye(2), np.array([[0.9, 0.1], [0.2, 0.8]])).item()), 4)
0.1643
>>> scce = SparseCategoricalCrossentropy(from_logits=True)
>>> round(scce(np.array([0, 1]), np.array([[2.0, 0.0], [0.0, 2.0]])).item(), 4)
0.1269
"""


from __future__ import annotations

from svertka.losses.base import REDUCTIONS, Loss, LossFunctionWrapper  # noqa: F401
from svertka.losses.classes import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from svertka.losses.extra import RobustLoss, TripletMarginLoss
from svertka.losses.functions import (
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    softmax_cross_entropy,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from svertka.losses.robust import AdaptiveRobustLoss
from svertka.naming import snake_case

LOSSES = {
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "softmax_cross_entropy": softmax_cross_entropy,
    "binary_crossentropy": binary_crossentropy,
    "mean_squared_error": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "cosine_similarity": cosine_similarity,
    "huber": huber,
    "log_cosh": log_cosh,
    "hinge": hinge,
    "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge,
    "kl_divergence": kl_divergence,
    "poisson": poisson,
    **{alias: fn for short, fn in (("mse", mean_squared_error), ("mae", mean_absolute_error),
                                   ("mape", mean_absolute_percentage_error),
                                   ("msle", mean_squared_logarithmic_error),
                                   ("kld", kl_divergence), ("bce", binary_crossentropy))
       for alias in (short, short.upper())},
}

CLASSES = {cls.__name__: cls for cls in (
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh, Hinge, SquaredHinge,
    CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, RobustLoss, AdaptiveRobustLoss, TripletMarginLoss)}

# the class that computes each built-in loss function sample by sample (for sample weights):
# the function named after it (mean_squared_error -> MeanSquaredError)
FUNCTION_CLASSES = {LOSSES[snake_case(name)]: cls for name, cls in CLASSES.items()
                    if snake_case(name) in LOSSES}


def get(identifier):
    """A loss as ``compile(loss=...)`` takes it, by Keras's rules.

    - a function's name (``'huber'``, ``'mae'``, ...): that function (the batch mean);
    - a class's name (``'SparseCategoricalCrossentropy'``): an instance with its defaults;
    - ``{'class_name': ..., 'config': {...}}``: that class with that config (``deserialize``);
    - a ``Loss`` class: an instance; a ``Loss`` or any callable: itself; None: None.

    >>> get("Huber")
    Huber(name='huber_loss', reduction='sum_over_batch_size')
    >>> get({"class_name": "BinaryCrossentropy", "config": {"from_logits": True}}).from_logits
    True
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in LOSSES:
            return LOSSES[identifier]
        if identifier in CLASSES and identifier not in ("Loss", "LossFunctionWrapper"):
            return CLASSES[identifier]()
        if identifier in ("robust_loss", "robust"):
            return RobustLoss()
    elif isinstance(identifier, type):
        if issubclass(identifier, Loss) and identifier not in (Loss, LossFunctionWrapper):
            return identifier()
    elif callable(identifier):
        return identifier
    names = [n for n in CLASSES if n not in ("Loss", "LossFunctionWrapper")]
    raise ValueError(f"losses.get: argument 'loss' must be one of {sorted(LOSSES)}, a class "
                     f"name of {names}, 'robust_loss', a config dict, a Loss or a callable, "
                     f"received {identifier!r}")


def serialize(loss):
    """A JSON-ready description of a loss: a function's name, or ``{'class_name': ...,
    'config': {...}}`` for an instance of one of svertka's loss classes.

    >>> serialize("mae"), serialize(Huber(delta=2.0))["config"]["delta"]
    ('mean_absolute_error', 2.0)
    """
    if isinstance(loss, str):
        return serialize(get(loss))
    cls = type(loss)
    if CLASSES.get(cls.__name__) is cls and cls is not Loss:
        return {"class_name": cls.__name__, "config": loss.get_config()}
    for name, fn in LOSSES.items():
        if fn is loss:
            return name
    raise ValueError(f"losses.serialize: the custom loss {loss!r} cannot be saved; use a "
                     f"named loss, one of svertka's Loss classes or RobustLoss")


def deserialize(config, custom_objects=None):
    """The loss ``serialize`` described (Keras's own dicts, with ``module`` and
    ``registered_name``, are read too); ``custom_objects`` maps names to your own classes
    or functions.

    >>> deserialize(serialize(Huber(delta=2.0))).delta
    2.0
    """
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        return custom_objects[config] if config in custom_objects else get(config)
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"losses.deserialize: argument 'config' must be a name or a dict "
                         f"{{'class_name': ..., 'config': {{...}}}}, received {config!r}")
    name, settings = config["class_name"], config.get("config") or {}
    if name == "function":  # Keras saves a function as {'class_name': 'function', 'config': name}
        return deserialize(settings if isinstance(settings, str) else config.get(
            "registered_name"), custom_objects)
    cls = custom_objects.get(name) or CLASSES.get(name)
    if cls is None:
        raise ValueError(f"losses.deserialize: unknown loss class {name!r}; pass it in "
                         f"custom_objects={{{name!r}: {name}}}")
    if not isinstance(settings, dict):
        raise ValueError(f"losses.deserialize: the 'config' of {name} must be a dict, "
                         f"received {settings!r}")
    from_config = getattr(cls, "from_config", None)
    return from_config(settings) if from_config else cls(**settings)

