"""AlexNet (Krizhevsky, Sutskever, Hinton 2012): the network that won ImageNet 2012 and
started the deep-learning era (SPEC §9): five convolutions (11x11 at stride 4 first), ReLU
instead of tanh, overlapping 3x3 max pooling at stride 2, dropout in the dense layers.

- ``alexnet()``: torchvision's version (64, 192, 384, 256, 256 filters, no normalisation):
  61,100,840 parameters at 224x224 and 1,000 classes. torchvision ends the features with an
  adaptive average pooling to 6x6, which does nothing at 224x224, the size its weights were
  trained at; here the input must lead to 6x6 maps for the dense layers (any size does
  without the top).
- ``alexnet(original=True)``: the paper's network (96, 256, 384, 384, 256 filters on 227x227
  inputs). It was split over two GPUs: convolutions 2, 4 and 5 see only the maps of their own
  GPU (two groups, ``Conv2D(groups=2)``), and layers 1 and 2 are followed by local response
  normalisation (size 5, alpha 1e-4, beta 0.75, k 2, in Caffe's and PyTorch's form where alpha
  is divided by the size). 60,965,224 parameters.

>>> alexnet(include_top=False).count_params()
2469696
"""

from __future__ import annotations

from svertka.layers import (
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    Input,
    LocalResponseNormalization,
    MaxPooling2D,
)
from svertka.models import Model
from svertka.zoo.weights import load


def alexnet(input_shape=None, classes: int = 1000, include_top: bool = True,
            original: bool = False, pooling: str | None = None, dropout: float = 0.5,
            weights=None, classifier_activation="softmax") -> Model:
    """AlexNet; ``input_shape`` defaults to 224x224x3 (torchvision) or 227x227x3 (original).
    ``weights``: None, or a file: torchvision's ``alexnet`` state dict (``.safetensors`` or
    ``.pth``) or a ``save_weights`` file. ``classifier_activation=None`` gives logits."""
    if input_shape is None:
        input_shape = (227, 227, 3) if original else (224, 224, 3)
    inputs = Input(input_shape)
    widths = (96, 256, 384, 384, 256) if original else (64, 192, 384, 256, 256)
    groups = (1, 2, 1, 2, 2) if original else (1, 1, 1, 1, 1)
    x = inputs
    for i, (filters, kernel, strides, padding) in enumerate(
            ((widths[0], 11, 4, 0 if original else 2), (widths[1], 5, 1, 2),
             (widths[2], 3, 1, 1), (widths[3], 3, 1, 1), (widths[4], 3, 1, 1))):
        x = Conv2D(filters, kernel, strides=strides, padding=padding, groups=groups[i],
                   activation="relu", name=f"conv{i + 1}")(x)
        if original and i < 2:
            x = LocalResponseNormalization(5, alpha=1e-4, beta=0.75, k=2.0,
                                           name=f"norm{i + 1}")(x)
        if i in (0, 1, 4):
            x = MaxPooling2D(3, strides=2, name=f"pool{i + 1}")(x)
    if include_top:
        x = Flatten(name="flatten")(x)
        x = Dropout(dropout, name="fc6_dropout")(x)
        x = Dense(4096, activation="relu", name="fc6")(x)
        x = Dropout(dropout, name="fc7_dropout")(x)
        x = Dense(4096, activation="relu", name="fc7")(x)
        x = Dense(classes, activation=classifier_activation, name="fc8")(x)
    elif pooling == "avg":
        x = GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling is not None:
        raise ValueError(f"alexnet: argument 'pooling' must be None or 'avg', "
                         f"received {pooling!r}")
    model = Model(inputs, x, name="alexnet_original" if original else "alexnet")
    return load(model, "alexnet_original" if original else "alexnet", weights)
