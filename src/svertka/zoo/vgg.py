"""VGG (Simonyan & Zisserman 2014): a network "made of identical blocks" (SPEC §9): 3x3
convolutions with padding 1 (two of them see 5x5, three see 7x7, with fewer weights and more
non-linearities than one large filter), each stage closed by 2x2 max pooling that halves the
image while the filters double, 64 to 512; then three dense layers.

The layout is torchvision's (and Keras's): ``vgg16()`` has 138,357,544 parameters at
224x224 and 1,000 classes, 14,714,688 of them in the convolutions. ``batch_norm=True`` puts
batch normalisation after every convolution (torchvision's ``vgg16_bn``). Blocks are named as
Keras names them: ``block3_conv2``, ``block3_pool``.

>>> vgg16(include_top=False, input_shape=(32, 32, 3)).count_params()
14714688
"""

from __future__ import annotations

from svertka.layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Input,
    MaxPooling2D,
)
from svertka.models import Model
from svertka.zoo.weights import load

# convolutions per stage (filters 64, 128, 256, 512, 512): configurations A, B, D, E
DEPTHS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


def vgg_features(x, depth: int, batch_norm: bool = False):
    """The five convolutional stages of VGG-``depth`` applied to x."""
    for stage, count in enumerate(DEPTHS[depth]):
        filters = min(64 * 2 ** stage, 512)
        for i in range(count):
            name = f"block{stage + 1}_conv{i + 1}"
            x = Conv2D(filters, 3, padding=1, activation=None if batch_norm else "relu",
                       name=name)(x)
            if batch_norm:
                x = BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{name}_bn")(x)
                x = Activation("relu", name=f"{name}_relu")(x)
        x = MaxPooling2D(2, name=f"block{stage + 1}_pool")(x)
    return x


def vgg(depth: int, input_shape=(224, 224, 3), classes: int = 1000, include_top: bool = True,
        batch_norm: bool = False, pooling: str | None = None, dropout: float = 0.5,
        weights=None, classifier_activation="softmax") -> Model:
    """VGG-``depth`` (11, 13, 16 or 19). With ``include_top``: flatten, two dense layers of
    4,096 with dropout, and the classifier (224x224 inputs give the 7x7x512 maps these were
    sized for; ``classifier_activation=None`` gives logits). Without: the features, or their
    global 'avg'/'max' pooling. ``weights``: None, or a file: torchvision's ``vgg{depth}``
    (``vgg{depth}_bn``) state dict as ``.safetensors`` or ``.pth``, or a ``save_weights``
    file."""
    if depth not in DEPTHS:
        raise ValueError(f"vgg: argument 'depth' must be one of {sorted(DEPTHS)}, "
                         f"received {depth!r}")
    inputs = Input(input_shape)
    x = vgg_features(inputs, depth, batch_norm)
    if include_top:
        x = Flatten(name="flatten")(x)
        x = Dense(4096, activation="relu", name="fc1")(x)
        x = Dropout(dropout, name="fc1_dropout")(x)
        x = Dense(4096, activation="relu", name="fc2")(x)
        x = Dropout(dropout, name="fc2_dropout")(x)
        x = Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = GlobalMaxPooling2D(name="max_pool")(x)
    elif pooling is not None:
        raise ValueError(f"vgg: argument 'pooling' must be None, 'avg' or 'max', "
                         f"received {pooling!r}")
    name = f"vgg{depth}" + ("_bn" if batch_norm else "")
    return load(Model(inputs, x, name=name), name, weights)


def vgg11(input_shape=(224, 224, 3), classes=1000, include_top=True, batch_norm=False,
          pooling=None, weights=None, classifier_activation="softmax") -> Model:
    """VGG-11 (configuration A): 132,863,336 parameters."""
    return vgg(11, input_shape, classes, include_top, batch_norm, pooling,
               weights=weights, classifier_activation=classifier_activation)


def vgg13(input_shape=(224, 224, 3), classes=1000, include_top=True, batch_norm=False,
          pooling=None, weights=None, classifier_activation="softmax") -> Model:
    """VGG-13 (configuration B): 133,047,848 parameters."""
    return vgg(13, input_shape, classes, include_top, batch_norm, pooling,
               weights=weights, classifier_activation=classifier_activation)


def vgg16(input_shape=(224, 224, 3), classes=1000, include_top=True, batch_norm=False,
          pooling=None, weights=None, classifier_activation="softmax") -> Model:
    """VGG-16 (configuration D): 138,357,544 parameters."""
    return vgg(16, input_shape, classes, include_top, batch_norm, pooling,
               weights=weights, classifier_activation=classifier_activation)


def vgg19(input_shape=(224, 224, 3), classes=1000, include_top=True, batch_norm=False,
          pooling=None, weights=None, classifier_activation="softmax") -> Model:
    """VGG-19 (configuration E): 143,667,240 parameters."""
    return vgg(19, input_shape, classes, include_top, batch_norm, pooling,
               weights=weights, classifier_activation=classifier_activation)
