"""Keras-style layers: each keeps its config, makes its weights on the first call, and wraps
one or two functions of ``svertka.ops``.

Images are channels-last (N, H, W, C); shapes print the batch axis as None. Layers are saved
as ``{"class_name", "config"}`` (``serialize``) and rebuilt by ``deserialize``, which only
builds classes listed in ``LAYERS`` (no eval, no pickle).

>>> from svertka import layers
>>> x = layers.Input((28, 28, 1))
>>> y = layers.Conv2D(32, (3, 3), padding="same", activation="relu")(x)
>>> layers.MaxPooling2D((2, 2), strides=2)(y).shape
(None, 14, 14, 32)
>>> layers.deserialize(layers.serialize(layers.Dense(10, name="out"))).units
10
"""

from __future__ import annotations

from svertka.layers.activations import (
    ELU,
    GELU,
    LeakyReLU,
    LinearThreshold,
    Maxout,
    MaxoutConv2D,
    PReLU,
    ReLU,
    Softmax,
    Step,
)
from svertka.layers.base import Layer, _plain, reset_names
from svertka.layers.conv1d import (
    AveragePooling1D,
    Conv1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    MaxPooling1D,
)
from svertka.layers.conv_transpose import Conv2DTranspose
from svertka.layers.convolutional import Conv2D
from svertka.layers.core import Activation, Dense, Dropout, Flatten, Input, Reshape
from svertka.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from svertka.layers.embedding import Embedding
from svertka.layers.lambda_layer import Lambda
from svertka.layers.merge import (
    Add,
    Arithmetic,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from svertka.layers.netvlad import NetVLAD
from svertka.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    LocalResponseNormalization,
)
from svertka.layers.pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
    MinPooling2D,
    SumPooling2D,
)
from svertka.layers.preprocessing import (
    CenterCrop,
    RandomContrast,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
    Resizing,
)
from svertka.layers.reshaping import Cropping2D, UpSampling2D, ZeroPadding2D
from svertka.layers.shortcut import IdentityShortcut
from svertka.layers.symbolic import KerasTensor, SymbolicTensor
from svertka.layers.table_conv import TableConv2D

LAYERS: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Dense,
        Flatten,
        Activation,
        Dropout,
        Reshape,
        Conv2D,
        Conv2DTranspose,
        DepthwiseConv2D,
        SeparableConv2D,
        MaxPooling2D,
        AveragePooling2D,
        SumPooling2D,
        MinPooling2D,
        GlobalAveragePooling2D,
        GlobalMaxPooling2D,
        ReLU,
        LeakyReLU,
        PReLU,
        ELU,
        GELU,
        Softmax,
        LinearThreshold,
        Step,
        Maxout,
        MaxoutConv2D,
        BatchNormalization,
        LocalResponseNormalization,
        LayerNormalization,
        GroupNormalization,
        Add,
        Concatenate,
        Subtract,
        Multiply,
        Average,
        Maximum,
        Minimum,
        Arithmetic,
        Rescaling,
        Resizing,
        CenterCrop,
        RandomFlip,
        RandomRotation,
        RandomZoom,
        RandomTranslation,
        RandomContrast,
        UpSampling2D,
        ZeroPadding2D,
        Cropping2D,
        IdentityShortcut,
        TableConv2D,
        Lambda,
        NetVLAD,
        Conv1D,
        MaxPooling1D,
        AveragePooling1D,
        GlobalAveragePooling1D,
        GlobalMaxPooling1D,
        Embedding,
    )
}


def register(cls: type[Layer]) -> type[Layer]:
    """Add a Layer subclass to ``LAYERS`` so that ``deserialize`` can build it; usable as a
    class decorator. A second class under a taken name is refused."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register: argument 'cls' must be a Layer subclass, received {cls!r}")
    if LAYERS.get(cls.__name__, cls) is not cls:
        raise ValueError(
            f"register: the name {cls.__name__!r} already belongs to {LAYERS[cls.__name__]!r}"
        )
    LAYERS[cls.__name__] = cls
    return cls


def serialize(layer: Layer) -> dict:
    """Keras 3's ``keras.layers.serialize``: ``{"module", "class_name", "config",
    "registered_name"}`` (``svertka.saving.serialize_keras_object``); ``deserialize`` reads
    it, and the ``{"class_name", "config"}`` of ``layer_spec`` too.

    >>> serialize(Dense(2, name="d"))["registered_name"] is None
    True
    """
    from svertka.saving import serialize_keras_object

    return serialize_keras_object(layer)


def layer_spec(layer: Layer) -> dict:
    """``{"class_name": ..., "config": layer.get_config()}``, JSON-serialisable: a layer as a
    model file describes it.

    The class is named by its name in ``LAYERS``, its registered name (``"package>Name"``,
    ``svertka.saving.register_keras_serializable``) or, for any other custom class, its own
    name, which loading resolves from ``custom_objects`` (its code is never saved). A model
    used as a layer is its model spec (``svertka.models.architecture.model_spec``)."""
    from svertka.models.model import Model
    from svertka.saving import registration

    if isinstance(layer, Model):
        from svertka.models.architecture import model_spec

        return model_spec(layer)
    cls = type(layer)
    name = cls.__name__
    if LAYERS.get(name) is not cls:
        registered = registration.registered_name(cls)
        if registered is not None:
            name = registered
        elif name in LAYERS or not isinstance(layer, Layer):
            raise ValueError(
                f"serialize: the class of {layer!r} is not in svertka.layers.LAYERS and its "
                f"name is taken by {LAYERS.get(name)!r}, so it could not be deserialized; "
                f"register it with svertka.layers.register or "
                f"@svertka.saving.register_keras_serializable()"
            )
    config = layer.get_config()
    if "name" not in config:  # a user's get_config may leave it out; the graph refers to it
        config = {"name": layer.name, **config}
    if not all(_plain(v, tuples=False) for v in config.values()):
        # a custom layer's config may hold layers, regularizers...: Keras's dict of each
        from svertka.saving import serialize_keras_object

        config = {k: v if _plain(v, tuples=False) else serialize_keras_object(v)
                  for k, v in config.items()}
    return {"class_name": name, "config": config}




def _takes_name(cls) -> bool:
    """Whether ``cls(...)`` accepts ``name=`` (a ``name`` parameter or ``**kwargs``)."""
    import inspect

    try:
        params = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "name" or p.kind is p.VAR_KEYWORD for p in params)


def resolve_class(name, custom_objects: dict | None = None):
    """The layer or model class a saved ``class_name`` names, or None: the custom objects
    (``custom_objects``, the active ``custom_object_scope``, the registry) first, as in
    Keras, then ``LAYERS``; ``"Sequential"`` and ``"Model"`` (``"Functional"``) too."""
    from svertka.models import architecture
    from svertka.saving import registration

    if not isinstance(name, str):
        return None
    cls = registration.resolve(name, custom_objects)
    if isinstance(cls, type) and issubclass(cls, (Layer, architecture.Model)):
        return cls
    return LAYERS.get(name) or architecture.MODEL_CLASSES.get(name)


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """The layer described by ``{"class_name": ..., "config": {...}}`` (from ``serialize``);
    a custom class is looked up as ``resolve_class`` says."""
    from svertka.models import architecture
    from svertka.saving import registration

    if not isinstance(config, dict) or not isinstance(config.get("config", {}), dict):
        raise TypeError(
            f"deserialize: argument 'config' must be a dict "
            f'{{"class_name": str, "config": dict}}, received {config!r}'
        )
    name = config.get("class_name")
    registered = config.get("registered_name")  # Keras's dict form names a custom class so
    if isinstance(registered, str) and resolve_class(registered) is not None:
        name = registered
    with registration.custom_object_scope(custom_objects or {}):
        cls = resolve_class(name)
        if cls is None:
            raise ValueError(
                f"deserialize: unknown layer class {name!r}; known classes: "
                f"{', '.join(sorted(LAYERS))}. A custom class is saved by name, never with its "
                f"code: provide it with custom_objects={{{name!r}: ...}}, inside "
                f"svertka.saving.custom_object_scope, or register it with "
                f"@svertka.saving.register_keras_serializable()"
            )
        settings = dict(config.get("config", {}))
        if issubclass(cls, architecture.Model):
            return architecture.model_from_config({"class_name": name, "config": settings},
                                                  cls=cls)
        name = settings.pop("name") if "name" in settings and not _takes_name(cls) else None
        layer = cls.from_config(settings)
        if name is not None:  # a constructor without 'name': set as serialize saved it
            layer.name = name
        return layer


__all__ = [
    "LAYERS",
    "ELU",
    "GELU",
    "Activation",
    "Add",
    "Arithmetic",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "BatchNormalization",
    "CenterCrop",
    "Concatenate",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Embedding",
    "Flatten",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GroupNormalization",
    "IdentityShortcut",
    "Input",
    "KerasTensor",
    "Lambda",
    "LayerNormalization",
    "Layer",
    "LeakyReLU",
    "LinearThreshold",
    "LocalResponseNormalization",
    "MaxPooling1D",
    "MaxPooling2D",
    "Maximum",
    "Maxout",
    "MaxoutConv2D",
    "Minimum",
    "MinPooling2D",
    "Multiply",
    "NetVLAD",
    "PReLU",
    "ReLU",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
    "Reshape",
    "Resizing",
    "SeparableConv2D",
    "Softmax",
    "Step",
    "Subtract",
    "SumPooling2D",
    "SymbolicTensor",
    "TableConv2D",
    "UpSampling2D",
    "ZeroPadding2D",
    "add",
    "average",
    "concatenate",
    "deserialize",
    "maximum",
    "minimum",
    "multiply",
    "layer_spec",
    "register",
    "reset_names",
    "resolve_class",
    "serialize",
    "subtract",
]
