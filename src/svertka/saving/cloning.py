"""``keras.models.clone_model``, ``model.to_json()`` and ``keras.models.model_from_json``:
a model's architecture copied (fresh weights) or written as JSON and read back.

>>> import svertka
>>> from svertka import layers
>>> x = layers.Input((4,))
>>> model = svertka.Model(x, layers.Dense(2, name="out")(layers.Dense(3)(x)))
>>> copy = clone_model(model)
>>> [la.name for la in copy.layers] == [la.name for la in model.layers]
True
>>> copy.layers[0].kernel is model.layers[0].kernel
False
>>> model_from_json(model_to_json(model)).output_shape
(None, 2)
"""

from __future__ import annotations

import json

from svertka.saving.serialization import deserialize_keras_object, serialize_keras_object


def model_to_json(model, **kwargs) -> str:
    """The architecture of ``model`` as a JSON string (``serialize_keras_object``'s dict);
    ``kwargs`` go to ``json.dumps`` (``indent=2``), as Keras's ``to_json``."""
    return json.dumps(serialize_keras_object(model), **kwargs)


def model_from_json(json_string: str, custom_objects: dict | None = None):
    """The model (fresh weights) that ``model_to_json`` described; custom classes come from
    ``custom_objects``, the active ``custom_object_scope`` or the registry."""
    from svertka.models.model import Model

    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"model_from_json: argument 'json_string' must be a JSON string, "
                        f"received {type(json_string).__name__}")
    try:
        config = json.loads(json_string)
    except ValueError as e:
        raise ValueError(f"model_from_json: argument 'json_string' is not valid JSON "
                         f"({e})") from None
    model = deserialize_keras_object(config, custom_objects=custom_objects)
    if not isinstance(model, Model):
        raise ValueError(f"model_from_json: the JSON describes a {type(model).__name__}, "
                         f"not a model")
    return model


def _default_clone(layer):
    """A new layer of the same class and config: fresh weights, nothing shared."""
    from svertka.models.model import Model

    if isinstance(layer, Model):
        return clone_model(layer)
    return type(layer).from_config(layer.get_config())


def _cloned(clone_function, layer):
    from svertka.layers import Layer

    new = clone_function(layer)
    if not isinstance(new, Layer) and not _is_model(new):
        raise TypeError(f"clone_model: argument 'clone_function' must return a layer, "
                        f"received {new!r} for layer {layer.name!r}")
    return new


def _is_model(obj) -> bool:
    from svertka.models.model import Model

    return isinstance(obj, Model)


def _sequential(model, input_tensors, clone_function):
    from svertka.layers import Input
    from svertka.models.sequential import Sequential

    new = Sequential(name=model.name)
    if input_tensors is not None:
        inputs = input_tensors if isinstance(input_tensors, (list, tuple)) else [input_tensors]
        if len(inputs) != 1:
            raise ValueError(f"clone_model: a Sequential takes one input tensor, received "
                             f"{len(inputs)}")
        new.add(inputs[0])
    elif model.inputs:
        new.add(Input(tuple(model.inputs[0].shape[1:])))
    for layer in model.layers:
        new.add(_cloned(clone_function, layer))
    return new


def _functional(model, input_tensors, clone_function):
    """The graph of ``model`` wired again (``architecture.rebuild_functional``, as loading
    does) with a clone of each layer, on new inputs or ``input_tensors``."""
    from svertka.layers import SymbolicTensor
    from svertka.models.architecture import functional_config, rebuild_functional

    inputs = None
    if input_tensors is not None:
        inputs = list(input_tensors) if isinstance(input_tensors, (list, tuple)) else [
            input_tensors]
        if len(inputs) != len(model.inputs) or not all(
                isinstance(t, SymbolicTensor) for t in inputs):
            raise ValueError(f"clone_model: argument 'input_tensors' must be "
                             f"{len(model.inputs)} symbolic tensor(s) (Input(...)), received "
                             f"{input_tensors!r}")
    originals = {layer.name: layer for layer in model.layers}
    return rebuild_functional(
        functional_config(model),
        lambda spec: _cloned(clone_function, originals[spec["config"]["name"]]), inputs)


def clone_model(model, input_tensors=None, clone_function=None, **kwargs):
    """A new model of the same architecture with fresh weights (nothing shared), as Keras 3.

    ``clone_function(layer) -> layer`` makes each new layer (default: the same class from
    ``layer.get_config()``; a nested model is cloned in turn). ``input_tensors`` replaces
    the inputs (``Input(...)`` tensors). A subclassed model is rebuilt from its config (its
    ``clone_function`` must be None, as in Keras). Weights are not copied: call
    ``clone.set_weights(model.get_weights())`` for that.

    >>> import svertka
    >>> from svertka import layers
    >>> m = svertka.Sequential([layers.Input((3,)), layers.Dense(2, name="d")])
    >>> c = clone_model(m, clone_function=lambda la: layers.Dense(5, name="d5"))
    >>> c.output_shape
    (None, 5)
    """
    from svertka.models.architecture import _structural, model_from_config, model_spec
    from svertka.models.model import Model
    from svertka.models.sequential import Sequential

    if kwargs:
        raise TypeError(f"clone_model: unexpected keyword arguments {sorted(kwargs)} "
                        f"(call_function and recursive are not supported)")
    if not isinstance(model, Model):
        raise TypeError(f"clone_model: argument 'model' must be a svertka Model, received "
                        f"{type(model).__name__}")
    if clone_function is None:
        clone_function = _default_clone
    elif not callable(clone_function):
        raise TypeError(f"clone_model: argument 'clone_function' must be callable or None, "
                        f"received {clone_function!r}")
    if not _structural(model):
        if clone_function is not _default_clone or input_tensors is not None:
            raise ValueError(f"clone_model: a subclassed model ({type(model).__name__}) is "
                             f"cloned from its config only; 'clone_function' and "
                             f"'input_tensors' must be None")
        return model_from_config(model_spec(model), cls=type(model))
    if isinstance(model, Sequential):
        return _sequential(model, input_tensors, clone_function)
    return _functional(model, input_tensors, clone_function)
