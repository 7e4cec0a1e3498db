"""Keras 3's ``serialize_keras_object`` / ``deserialize_keras_object``: any saveable object as
the dict ``{"module", "class_name", "config", "registered_name"}``, and back.

Layers, models, losses, metrics, optimizers, initializers and regularizers are described by
their class and ``get_config()``; functions (activations, losses, metrics, registered ones)
by name, as ``{"class_name": "function", "config": name}``. A custom class or function is
named by its registered name (``"package>name"``) or its own name, never by its code: turning
a dict back into an object builds only classes and functions that svertka defines or that are
registered or given in ``custom_objects`` (see :mod:`svertka.saving.registration`).

>>> from svertka import layers
>>> d = serialize_keras_object(layers.Dense(3, activation="relu", name="d"))
>>> d["module"], d["class_name"], d["config"]["units"], d["registered_name"]
('keras.layers', 'Dense', 3, None)
>>> deserialize_keras_object(d).get_config() == d["config"]
True
>>> serialize_keras_object(deserialize_keras_object("relu", module_objects=None))
'relu'
"""

from __future__ import annotations

import inspect

import numpy as np

from svertka.saving import registration

PLAIN = (str, int, float, bool)
_FUNCTION = "function"


def _function_name(fn) -> str | None:
    """The saved name of a function: its registered name, or its name among svertka's
    activations, losses or metrics."""
    from svertka import activations, losses, metrics

    name = registration.registered_name(fn)
    if name is not None:
        return name
    try:
        return activations.serialize(fn)
    except ValueError:
        pass
    for table in (losses.LOSSES, metrics.FUNCTIONS):
        for key, value in table.items():
            if value is fn:
                return key
    return None


def _class_entry(module: str | None, obj, config) -> dict:
    cls = type(obj)
    registered = registration.registered_name(cls)
    return {"module": module if registered is None else cls.__module__,
            "class_name": cls.__name__, "config": config,
            "registered_name": registered if module is None or registered else None}


def serialize_keras_object(obj):
    """``obj`` as JSON-ready data in Keras 3's form (see the module docstring); None, strings,
    numbers, lists and dicts are kept (their items serialised).

    >>> from svertka import activations, losses
    >>> serialize_keras_object([activations.relu, losses.Huber(delta=2.0)])[0]["config"]
    'relu'
    >>> serialize_keras_object(lambda x: x)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: serialize_keras_object: the function <function <lambda> at ...> has no name ...
    """
    from svertka import initializers, losses, metrics, optimizers, regularizers
    from svertka import layers as layers_mod
    from svertka.models.model import Model

    if obj is None or isinstance(obj, PLAIN):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, (layers_mod.Layer, Model)):
        spec = layers_mod.layer_spec(obj)
        name = spec["class_name"]
        if isinstance(obj, Model) and name in ("Model", "Sequential"):
            return {"module": "keras", "class_name": "Functional" if name == "Model" else name,
                    "config": spec["config"], "registered_name": None}
        if name in layers_mod.LAYERS and layers_mod.LAYERS[name] is type(obj):
            return {"module": "keras.layers", "class_name": name, "config": spec["config"],
                    "registered_name": None}
        return {"module": type(obj).__module__, "class_name": type(obj).__name__,
                "config": spec["config"], "registered_name": name}
    if isinstance(obj, losses.Loss) and losses.CLASSES.get(type(obj).__name__) is type(obj):
        return _class_entry("keras.losses", obj, obj.get_config())
    if isinstance(obj, metrics.Metric) and metrics.CLASSES.get(type(obj).__name__) is type(obj):
        return _class_entry("keras.metrics", obj, obj.get_config())
    if isinstance(obj, optimizers.Optimizer):
        return _class_entry("keras.optimizers", obj, obj.get_config())
    if isinstance(obj, initializers.Initializer) and type(obj).__name__ in initializers.CLASSES:
        return initializers.serialize(obj)
    if isinstance(obj, regularizers.Regularizer) and type(obj).__name__ in regularizers.CLASSES:
        return regularizers.serialize(obj)
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        name = _function_name(obj)
        if name is None:
            raise ValueError(f"serialize_keras_object: the function {obj!r} has no name "
                             f"svertka can save (its code is never saved); decorate it with "
                             f"@svertka.saving.register_keras_serializable()")
        return {"module": "builtins", "class_name": _FUNCTION, "config": name,
                "registered_name": _FUNCTION}
    if callable(getattr(obj, "get_config", None)) and not inspect.isclass(obj):
        cls = type(obj)
        return {"module": cls.__module__, "class_name": cls.__name__,
                "config": serialize_keras_object(obj.get_config()),
                "registered_name": registration.get_registered_name(cls)}
    raise ValueError(f"serialize_keras_object: argument 'obj' must be a layer, model, loss, "
                     f"metric, optimizer, initializer, regularizer, a named or registered "
                     f"function, or an object with get_config(), received {obj!r}")


def _builtin_function(name: str, module):
    """One of svertka's functions by its Keras name: an activation, loss or metric."""
    from svertka import activations, losses, metrics

    tables = [activations.ALL_OBJECTS, activations.ALIASES, losses.LOSSES, metrics.FUNCTIONS]
    if module == "keras.losses":
        tables = tables[2:3] + tables
    elif module == "keras.metrics":
        tables = tables[3:] + tables
    for table in tables:
        if name in table:
            return table[name]
    return None


def _builtin_class(module, class_name: str, config: dict):
    """An object of one of svertka's own classes, found by ``module`` (Keras's) or, without
    one, by trying each kind; None if no kind has the class."""
    from svertka import initializers, losses, metrics, optimizers, regularizers
    from svertka import layers as layers_mod
    from svertka.models import architecture

    spec = {"class_name": class_name, "config": config}
    kinds = {
        "keras.layers": (lambda: class_name in layers_mod.LAYERS,
                         lambda: layers_mod.deserialize(spec)),
        "keras": (lambda: class_name in architecture.MODEL_CLASSES,
                  lambda: architecture.model_from_config(spec)),
        "keras.losses": (lambda: class_name in losses.CLASSES,
                         lambda: losses.deserialize(spec)),
        "keras.metrics": (lambda: class_name in metrics.CLASSES,
                          lambda: metrics.deserialize(spec)),
        "keras.optimizers": (lambda: class_name.lower() in optimizers._REGISTRY,
                             lambda: optimizers.deserialize(spec)),
        "keras.initializers": (lambda: class_name in initializers.CLASSES,
                               lambda: initializers.deserialize(spec)),
        "keras.regularizers": (lambda: class_name in regularizers.CLASSES,
                               lambda: regularizers.deserialize(spec)),
    }
    order = [module] if module in kinds else []
    order += [k for k in kinds if k != module]
    for kind in order:
        known, build = kinds[kind]
        if known():
            return build()
    return None


def deserialize_keras_object(config, custom_objects: dict | None = None,
                             safe_mode: bool = True, **kwargs):
    """The object ``serialize_keras_object`` described.

    ``custom_objects`` (name -> class or function) adds to the active
    ``custom_object_scope`` and the registry for this call. ``safe_mode`` is accepted for
    Keras's signature: svertka never runs code from a config (a ``lambda`` is refused
    whatever its value). Plain values come back as they are, a string too unless it names a
    custom object.

    >>> deserialize_keras_object({"module": "keras.losses", "class_name": "Huber",
    ...                           "config": {"delta": 2.0}}).delta
    2.0
    """
    from svertka import layers as layers_mod

    module_objects = kwargs.pop("module_objects", None)
    if kwargs:
        raise TypeError(f"deserialize_keras_object: unexpected keyword arguments "
                        f"{sorted(kwargs)}")
    with registration.custom_object_scope(custom_objects or {}):
        if config is None or isinstance(config, (int, float, bool)):
            return config
        if isinstance(config, str):
            found = registration.get_registered_object(config, None, module_objects)
            return config if found is None else found
        if isinstance(config, list):
            return [deserialize_keras_object(c, None, safe_mode) for c in config]
        if not isinstance(config, dict):
            raise TypeError(f"deserialize_keras_object: argument 'config' must be a dict, a "
                            f"list, a string or a number, received {type(config).__name__}")
        if "class_name" not in config:
            return {k: deserialize_keras_object(v, None, safe_mode) for k, v in config.items()}
        class_name, inner = config["class_name"], config.get("config")
        module, registered = config.get("module"), config.get("registered_name")
        if class_name == "__lambda__":
            raise ValueError("deserialize_keras_object: the config holds a lambda's code; "
                             "svertka never runs code from a config (register the function "
                             "and save it by name)")
        if class_name == _FUNCTION:
            if not isinstance(inner, str):
                raise ValueError(f"deserialize_keras_object: a function's 'config' must be its "
                                 f"name, received {inner!r}")
            fn = registration.resolve(inner) or _builtin_function(inner, module)
            if fn is None:
                raise ValueError(registration.unknown_name_message(
                    "deserialize_keras_object", "function", inner))
            return fn
        if not isinstance(class_name, str) or not isinstance(inner, (dict, type(None))):
            raise ValueError(f"deserialize_keras_object: argument 'config' must hold a "
                             f"'class_name' string and a 'config' dict, received {config!r}")
        inner = dict(inner or {})
        cls = None
        for key in (registered, class_name):
            if isinstance(key, str) and cls is None:
                cls = registration.resolve(key)
        if cls is None:
            if module is None and isinstance(registered, str) and registered != class_name:
                raise ValueError(registration.unknown_name_message(
                    "deserialize_keras_object", "class", registered))
            obj = _builtin_class(module, class_name, inner)
            if obj is None:
                raise ValueError(registration.unknown_name_message(
                    "deserialize_keras_object", "class", registered or class_name))
            return obj
        if not inspect.isclass(cls):
            return cls
        if issubclass(cls, layers_mod.Layer) or _is_model_class(cls):
            key = registered if isinstance(registered, str) else class_name
            return layers_mod.deserialize({"class_name": key, "config": inner})
        from_config = getattr(cls, "from_config", None)
        return from_config(inner) if callable(from_config) else cls(**inner)


def _is_model_class(cls) -> bool:
    from svertka.models.model import Model

    return issubclass(cls, Model)
