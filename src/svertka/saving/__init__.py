"""``keras.saving``: save and load whole models, and name custom objects so that they load.

A model file holds the architecture, the weights, the compile settings and the optimiser's
state (:mod:`svertka.models.saving`), and never any code: a custom layer, model, loss,
metric or activation is written by its registered name (``"package>name"``, from
``register_keras_serializable``) or its class name, and ``load_model`` finds it again in
``custom_objects=``, the active ``custom_object_scope`` or the registry.

>>> import os, tempfile, numpy as np, svertka
>>> @register_keras_serializable(package="docs")
... class Double(svertka.layers.Layer):
...     def call(self, x, training=False):
...         return x * 2.0
>>> model = svertka.Sequential([svertka.Input((3,)), Double(), svertka.layers.Dense(2)])
>>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
>>> save_model(model, path)
>>> x = np.ones((1, 3), np.float32)
>>> np.allclose(load_model(path).predict(x), model.predict(x))
True
"""

from __future__ import annotations

from svertka.saving.registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from svertka.saving.serialization import deserialize_keras_object, serialize_keras_object


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True,  # noqa: A002
               safe_mode: bool = True, **kwargs):
    """``svertka.models.load_model`` (see there): the model saved at ``filepath``."""
    from svertka.models.saving import load_model as load

    return load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode,
                **kwargs)


def save_model(model, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
    """``model.save(filepath)``: one file, written atomically. ``overwrite=False`` refuses an
    existing file (Keras asks on a terminal; svertka raises ``FileExistsError``); the file
    is always a zip (``zipped=False`` is refused)."""
    import os

    from svertka.models.saving import save_model as save

    if zipped is False:
        raise ValueError("save_model: argument 'zipped' must be True or None: a svertka model "
                         "file is always one zip, received False")
    if kwargs:
        raise TypeError(f"save_model: unexpected keyword arguments {sorted(kwargs)}")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_model: {filepath} exists and overwrite=False")
    save(model, filepath)


__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "register_keras_serializable",
    "save_model",
    "serialize_keras_object",
]
