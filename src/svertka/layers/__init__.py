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
    PReLU,
    ReLU,
    Softmax,
    Step,
)
from svertka.layers.base import Layer, SymbolicTensor, reset_names
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
from svertka.layers.merge import Add, Concatenate
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
        BatchNormalization,
        LocalResponseNormalization,
        LayerNormalization,
        GroupNormalization,
        Add,
        Concatenate,
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
    """``{"class_name": ..., "config": layer.get_config()}``, JSON-serialisable."""
    name = type(layer).__name__
    if LAYERS.get(name) is not type(layer):
        raise ValueError(
            f"serialize: the class of {layer!r} is not in svertka.layers.LAYERS, "
            f"so it could not be deserialized; register it with "
            f"svertka.layers.register"
        )
    return {"class_name": name, "config": layer.get_config()}


def deserialize(config: dict) -> Layer:
    """The layer described by ``{"class_name": ..., "config": {...}}`` (from ``serialize``)."""
    if not isinstance(config, dict) or not isinstance(config.get("config", {}), dict):
        raise TypeError(
            f"deserialize: argument 'config' must be a dict "
            f'{{"class_name": str, "config": dict}}, received {config!r}'
        )
    name = config.get("class_name")
    if not isinstance(name, str) or name not in LAYERS:
        raise ValueError(
            f"deserialize: unknown layer class {name!r}; known classes: {', '.join(sorted(LAYERS))}"
        )
    return LAYERS[name].from_config(dict(config.get("config", {})))


__all__ = [
    "LAYERS",
    "ELU",
    "GELU",
    "Activation",
    "Add",
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
    "Lambda",
    "LayerNormalization",
    "Layer",
    "LeakyReLU",
    "LinearThreshold",
    "LocalResponseNormalization",
    "MaxPooling1D",
    "MaxPooling2D",
    "Maxout",
    "MinPooling2D",
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
    "SumPooling2D",
    "SymbolicTensor",
    "TableConv2D",
    "UpSampling2D",
    "ZeroPadding2D",
    "deserialize",
    "register",
    "reset_names",
    "serialize",
]
