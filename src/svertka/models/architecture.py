"""A model's architecture as plain JSON and back: ``model_spec`` (``{"class_name",
"config"}``) and ``model_from_config``, the form a svertka file (:mod:`svertka.models.saving`),
``get_config``/``from_config``, ``clone_model`` and ``model_to_json`` hold.

A ``Sequential`` is its name, input shape and layers; a functional ``Model`` its inputs,
layers and call graph (``functional_config``). A model used as a layer is saved as its own
spec, recursively; a subclassed model (``__init__``/``call``) as its class's name, its
``get_config()`` and the input shape it was built with (``BUILD_SHAPE``), and rebuilt by
``from_config`` and one call on zeros of that shape.

Custom classes and functions (layers, models, activations) are written by name only: their
registered name (``svertka.saving.register_keras_serializable``) or their class name.
Rebuilding resolves each name from ``custom_objects=``, the active ``custom_object_scope`` or
the registry, and refuses an unknown one with a message that names it: no code is stored.
"""

from __future__ import annotations

import inspect
import json

import numpy as np

from svertka import layers as layers_mod
from svertka.autograd import no_grad
from svertka.layers.base import Layer
from svertka.models import modelcheck
from svertka.models.model import Model
from svertka.models.sequential import Sequential
from svertka.saving import registration

MODEL_CLASSES = {"Sequential": Sequential, "Model": Model, "Functional": Model}
BUILD_SHAPE = "build_input_shape"  # in a subclassed model's config: the shape it was built on

__all__ = ["BUILD_SHAPE", "MODEL_CLASSES", "config_to_model", "functional_config",
           "model_config", "model_from_config", "model_spec", "sequential_config"]


def functional_config(model) -> dict:
    """Inputs, layers and the call graph of a model, as plain JSON.

    A node records its layer, its parents and whether the layer took a list; and, only
    where they apply, the constant keyword arguments of its call (``"kwargs"``, such as
    ``base(x, training=False)``) and which output of a layer of several outputs it is
    (``"output_index"``). A model whose inputs or outputs are a dict records the keys
    (``"input_keys"``, ``"output_keys"``)."""
    names = {id(t): f"input_{i}" for i, t in enumerate(model.inputs)}
    nodes = []
    for i, node in enumerate(model._nodes):
        names[id(node)] = f"node_{i}"
        entry = {"layer": node.layer.name, "parents": [names[id(p)] for p in node.parents],
                 "many": node.many}
        if getattr(node, "call_kwargs", None):
            entry["kwargs"] = dict(node.call_kwargs)
        if getattr(node, "index", None) is not None:
            entry["output_index"] = node.index
        nodes.append(entry)
    config = {
        "name": model.name,
        "inputs": [list(t.shape[1:]) for t in model.inputs],
        "layers": [layers_mod.layer_spec(layer) for layer in model.layers],
        "nodes": nodes,
        "outputs": [names[id(t)] for t in model.outputs],
        "single_input": getattr(model, "_single_input", True),
        "single_output": getattr(model, "_single_output", True),
    }
    for key in ("input_keys", "output_keys"):
        if getattr(model, f"_{key}", None) is not None:
            config[key] = list(getattr(model, f"_{key}"))
    return config


def _strip_extras(spec, where: str):
    """``spec`` (a functional model's) with the optional fields ``functional_config`` writes
    only where they apply checked here and left out, for ``modelcheck`` to check the rest;
    other specs are returned as they are."""
    config = spec.get("config") if isinstance(spec, dict) else None
    if not (isinstance(config, dict) and isinstance(config.get("nodes"), list)):
        return spec
    config = dict(config)
    for key, items in (("input_keys", "inputs"), ("output_keys", "outputs")):
        if key in config:
            keys, n = config.pop(key), config.get(items)
            modelcheck._expect(
                isinstance(keys, list) and isinstance(n, list) and len(keys) == len(n)
                and all(isinstance(k, str) and 0 < len(k) <= modelcheck.MAX_NAME
                        for k in keys) and len(set(keys)) == len(keys),
                f"{where}.config.{key}", f"a list of distinct names, one per item of {items}",
                keys)
    nodes = []
    for i, node in enumerate(config["nodes"]):
        if isinstance(node, dict) and ("kwargs" in node or "output_index" in node):
            node = dict(node)
            kwargs = node.pop("kwargs", {})
            modelcheck._expect(
                isinstance(kwargs, dict) and len(kwargs) <= 16 and all(
                    isinstance(k, str) and (v is None or isinstance(v, (bool, int, float, str)))
                    for k, v in kwargs.items()),
                f"{where}.config.nodes[{i}].kwargs",
                "an object of at most 16 plain values (booleans, numbers, strings, null)",
                kwargs)
            if "output_index" in node:
                index = node.pop("output_index")
                modelcheck._expect(type(index) is int and 0 <= index < modelcheck.MAX_IO,
                                   f"{where}.config.nodes[{i}].output_index",
                                   f"an int in [0, {modelcheck.MAX_IO})", index)
        nodes.append(node)
    config["nodes"] = nodes
    return {**spec, "config": config}


def _structural(model) -> bool:
    """Whether ``model`` is saved by its structure (a plain ``Sequential`` or functional
    ``Model``) rather than as a subclass's config."""
    return type(model) in (Sequential, Model)


def _built_input_shape(model):
    """The input shape (batch axis first) a subclassed model was built with, or None."""
    if getattr(model, "inputs", None):
        shapes = [list(t.shape) for t in model.inputs]
        return shapes[0] if len(shapes) == 1 else shapes
    try:  # a subclassed model: the shape of its first call
        return model.input_shape
    except (AttributeError, ValueError):
        return None


def _as_json_shape(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_as_json_shape(s) for s in shape]
    return [None if d is None else int(d) for d in shape]


def _subclassed_spec(model) -> dict:
    cls = type(model)
    name = registration.registered_name(cls) or cls.__name__
    if name in MODEL_CLASSES or name in layers_mod.LAYERS:
        raise ValueError(f"save: the model class {cls.__name__!r} has the name of one of "
                         f"svertka's classes; register it under another name with "
                         f"@svertka.saving.register_keras_serializable()")
    shape = _built_input_shape(model)
    if shape is None:
        raise ValueError(f"{model.name}.save: the subclassed model {cls.__name__} has not been "
                         f"built; call it on a batch (or fit it) before saving")
    config = dict(model.get_config())
    config.setdefault("name", model.name)
    config[BUILD_SHAPE] = _as_json_shape(shape)
    return {"class_name": name, "config": config}


def model_spec(model) -> dict:
    """``{"class_name", "config"}`` of a model: a ``Sequential``'s input shape and layers, a
    functional model's graph, or a subclassed model's class name and config."""
    if not _structural(model):
        return _subclassed_spec(model)
    if isinstance(model, Sequential):
        return {"class_name": "Sequential", "config": sequential_config(model)}
    return {"class_name": "Model", "config": functional_config(model)}


def sequential_config(model) -> dict:
    """A ``Sequential``'s name, input shape and layers, as plain JSON."""
    model._require_built("save")
    return {"name": model.name, "input_shape": list(model._input.shape[1:]),
            "layers": [layers_mod.layer_spec(layer) for layer in model.layers]}


def _accepts(cls, argument: str) -> bool:
    try:
        params = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == argument or p.kind is p.VAR_KEYWORD for p in params)


def _subclassed_from_config(cls, config: dict):
    """A subclassed model rebuilt: ``from_config``, then one call on zeros of the shape it
    was built with (``None`` sizes as 1), which makes its weights."""
    config = dict(config)
    shape = config.pop(BUILD_SHAPE, None)
    name = config.get("name")
    if not _accepts(cls, "name"):
        config.pop("name", None)
    owner = next(k for k in cls.__mro__ if "from_config" in vars(k))
    # a subclass's own from_config, else Keras's default for subclassed models
    model = cls.from_config(config) if owner not in (Layer, Model, Sequential) else cls(**config)
    if name is not None and getattr(model, "name", None) != name:
        model.name = name
    if shape is not None:
        many = bool(shape) and isinstance(shape[0], list)
        zeros = [np.zeros([1 if d is None else d for d in s], np.float32)
                 for s in (shape if many else [shape])]
        with no_grad(), np.errstate(all="ignore"):  # the weights are not set yet
            model(zeros if many else zeros[0])
    return model


def model_config(model) -> dict:
    """``model.get_config()`` in Keras's spirit: a ``Sequential``'s name, input shape and
    layers, a functional model's graph, a subclassed model's own config (with the shape it
    was built with); ``config_to_model`` turns it back into a model."""
    return model_spec(model)["config"]


def config_to_model(cls, config: dict, custom_objects: dict | None = None):
    """``cls.from_config(config)`` for a model class: a new model (fresh weights) from
    ``model_config``'s dict; custom classes from ``custom_objects``, the active scope or the
    registry.

    >>> from svertka.layers import Dense, Input
    >>> m = Sequential([Input((3,)), Dense(2, name="d")], name="s")
    >>> model_config(config_to_model(Sequential, model_config(m))) == model_config(m)
    True
    """
    if not isinstance(config, dict):
        raise TypeError(f"{cls.__name__}.from_config: argument 'config' must be a dict, "
                        f"received {type(config).__name__}")
    if cls in (Sequential, Model):
        functional = "nodes" in config
        if cls is Sequential and functional:
            raise ValueError("Sequential.from_config: the config describes a functional model "
                             "(it has 'nodes'); use Model.from_config")
        cls = Model if functional else Sequential
    with registration.custom_object_scope(custom_objects or {}):
        return model_from_config({"class_name": cls.__name__, "config": config}, cls=cls)


def model_from_config(spec: dict, cls=None):
    """Rebuild a ``Sequential``, a functional ``Model`` or a subclassed model (``cls``, or
    the class its ``class_name`` resolves to) from ``{"class_name", "config"}``."""
    name, config = spec.get("class_name"), spec.get("config", {})
    if cls is None:
        cls = layers_mod.resolve_class(name)
    if cls is None or not (isinstance(cls, type) and issubclass(cls, Model)):
        raise ValueError(registration.unknown_name_message("load_model", "model class", name))
    if cls is Sequential:
        model = Sequential(name=config["name"])
        # all layers first, then one build: adding them to a built model would rebuild its
        # graph once per layer, quadratic in a long (or hostile) stack
        model._layers.extend(layers_mod.deserialize(s) for s in config["layers"])
        model.build((None, *config["input_shape"]))
        return model
    if cls is not Model:
        return _subclassed_from_config(cls, config)
    return rebuild_functional(config, layers_mod.deserialize)


def rebuild_functional(config: dict, make_layer, inputs=None):
    """The functional model ``config`` (``functional_config``) describes, each layer made by
    ``make_layer(layer_spec)`` once (a shared layer stays shared), on new ``Input`` tensors
    or on ``inputs``: loading (``make_layer`` deserialises) and ``clone_model`` (it clones)
    wire the graph here alike."""
    from svertka.layers import Input

    built = {spec["config"]["name"]: make_layer(spec) for spec in config["layers"]}
    if inputs is None:
        inputs = [Input(tuple(shape)) for shape in config["inputs"]]
    values = {f"input_{i}": t for i, t in enumerate(inputs)}
    calls = {}  # a layer of several outputs is called once for all of its output nodes
    for i, node in enumerate(config["nodes"]):
        parents = [values[p] for p in node["parents"]]
        kwargs = node.get("kwargs", {})
        key = (node["layer"], tuple(node["parents"]), json.dumps(kwargs, sort_keys=True))
        if "output_index" in node and key in calls:
            y = calls[key]
        else:
            y = built[node["layer"]](parents if node["many"] else parents[0], **kwargs)
            calls[key] = y
        if "output_index" in node:
            y = list(y.values()) if isinstance(y, dict) else list(y)
            y = y[node["output_index"]]
        values[f"node_{i}"] = y
    outputs = [values[o] for o in config["outputs"]]
    ins = (dict(zip(config["input_keys"], inputs)) if "input_keys" in config
           else inputs[0] if config.get("single_input", True) else inputs)
    outs = (dict(zip(config["output_keys"], outputs)) if "output_keys" in config
            else outputs[0] if config.get("single_output", True) else outputs)
    return Model(ins, outs, name=config["name"])
