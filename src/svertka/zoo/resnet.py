"""ResNet (He et al. 2015): "layers add a correction, so very deep nets train" (SPEC §9).

A residual block computes ``relu(x + F(x))``: the layers F learn only what to add to their
input, and the shortcut carries the signal (and the gradient) past them unchanged.

- ``resnet18/34/50/101/152``: the ImageNet networks exactly as torchvision builds them (7x7 stem,
  max pooling, four stages of basic or bottleneck blocks, 1x1 projection shortcuts where a
  stage changes the shape; padding written out as torchvision's, so its weights fit:
  ``weights="resnet50.safetensors"`` or ``.pth`` loads torchvision's or timm's state dict,
  see ``svertka.interop``; ``classifier_activation=None`` gives logits).
- ``resnet20/32/44/56``: the CIFAR networks of §4.2: a 3x3 stem with 16 filters, three stages
  of ``n`` basic blocks with 16, 32 and 64 filters (depth ``6n + 2``), global average pooling
  and the classifier; shortcuts are parameter-free ("option A": subsample, pad channels).

>>> resnet20().count_params() > 270_000, resnet20().output_shape
(True, (None, 10))
"""

from __future__ import annotations

from svertka.layers import (
    Activation,
    Add,
    BatchNormalization,
    Conv2D,
    Dense,
    GlobalAveragePooling2D,
    IdentityShortcut,
    Input,
    MaxPooling2D,
)
from svertka.models import Model
from svertka.zoo.weights import load

# torchvision's BatchNorm2d: eps 1e-5, running averages updated by 0.1 (Keras momentum 0.9)
BN = {"epsilon": 1e-5, "momentum": 0.9}


def conv_bn(x, filters: int, kernel: int, strides: int = 1, relu: bool = True, name: str = ""):
    """Convolution (no bias: the batch norm's offset replaces it), batch norm, ReLU."""
    x = Conv2D(filters, kernel, strides=strides, padding=kernel // 2, use_bias=False,
               kernel_initializer="he_normal", name=f"{name}_conv")(x)
    x = BatchNormalization(**BN, name=f"{name}_bn")(x)
    return Activation("relu", name=f"{name}_relu")(x) if relu else x


def basic_block(x, filters: int, strides: int = 1, shortcut: str = "projection", name: str = ""):
    """Two 3x3 convolutions (ResNet-18/34 and the CIFAR nets); ``shortcut`` is 'projection'
    (1x1 convolution + batch norm where the shape changes) or 'zeros' (option A)."""
    y = conv_bn(x, filters, 3, strides, name=f"{name}_1")
    y = conv_bn(y, filters, 3, 1, relu=False, name=f"{name}_2")
    return Activation("relu", name=f"{name}_out")(Add(name=f"{name}_add")(
        [_shortcut(x, filters, strides, shortcut, name), y]))


def bottleneck_block(x, filters: int, strides: int = 1, name: str = ""):
    """1x1 (reduce to ``filters``), 3x3 (stride here, as torchvision), 1x1 (expand to 4x)."""
    y = conv_bn(x, filters, 1, name=f"{name}_1")
    y = conv_bn(y, filters, 3, strides, name=f"{name}_2")
    y = conv_bn(y, 4 * filters, 1, relu=False, name=f"{name}_3")
    return Activation("relu", name=f"{name}_out")(Add(name=f"{name}_add")(
        [_shortcut(x, 4 * filters, strides, "projection", name), y]))


def _shortcut(x, filters, strides, kind, name):
    if strides == 1 and x.shape[-1] == filters:
        return x
    if kind == "zeros":
        return IdentityShortcut(filters, strides, name=f"{name}_shortcut")(x)
    return conv_bn(x, filters, 1, strides, relu=False, name=f"{name}_0")


def _head(x, classes: int, include_top: bool, pooling: str | None,
          classifier_activation="softmax"):
    if include_top:
        x = GlobalAveragePooling2D(name="avg_pool")(x)
        return Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling is not None:
        raise ValueError(f"resnet: argument 'pooling' must be None or 'avg', received {pooling!r}")
    return x


def _imagenet(blocks, bottleneck: bool, name: str, input_shape, classes, include_top, pooling,
              weights, classifier_activation):
    inputs = Input(input_shape)
    x = conv_bn(inputs, 64, 7, 2, name="conv1")
    x = MaxPooling2D(3, strides=2, padding=1, name="pool1")(x)
    for stage, count in enumerate(blocks):
        filters = 64 * 2 ** stage
        for i in range(count):
            strides = 2 if stage > 0 and i == 0 else 1
            block_name = f"conv{stage + 2}_block{i + 1}"
            x = (bottleneck_block(x, filters, strides, name=block_name) if bottleneck
                 else basic_block(x, filters, strides, name=block_name))
    model = Model(inputs, _head(x, classes, include_top, pooling, classifier_activation),
                  name=name)
    return load(model, name, weights)


def resnet18(input_shape=(224, 224, 3), classes=1000, include_top=True, pooling=None,
             weights=None, classifier_activation="softmax") -> Model:
    """ResNet-18: basic blocks (2, 2, 2, 2); 11,689,512 trainable parameters at 1,000 classes."""
    return _imagenet((2, 2, 2, 2), False, "resnet18", input_shape, classes, include_top,
                     pooling, weights, classifier_activation)


def resnet34(input_shape=(224, 224, 3), classes=1000, include_top=True, pooling=None,
             weights=None, classifier_activation="softmax") -> Model:
    """ResNet-34: basic blocks (3, 4, 6, 3); 21,797,672 trainable parameters."""
    return _imagenet((3, 4, 6, 3), False, "resnet34", input_shape, classes, include_top,
                     pooling, weights, classifier_activation)


def resnet50(input_shape=(224, 224, 3), classes=1000, include_top=True, pooling=None,
             weights=None, classifier_activation="softmax") -> Model:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3); 25,557,032 trainable parameters."""
    return _imagenet((3, 4, 6, 3), True, "resnet50", input_shape, classes, include_top,
                     pooling, weights, classifier_activation)


def resnet101(input_shape=(224, 224, 3), classes=1000, include_top=True, pooling=None,
              weights=None, classifier_activation="softmax") -> Model:
    """ResNet-101: bottleneck blocks (3, 4, 23, 3); 44,549,160 trainable parameters."""
    return _imagenet((3, 4, 23, 3), True, "resnet101", input_shape, classes, include_top,
                     pooling, weights, classifier_activation)


def resnet152(input_shape=(224, 224, 3), classes=1000, include_top=True, pooling=None,
              weights=None, classifier_activation="softmax") -> Model:
    """ResNet-152: bottleneck blocks (3, 8, 36, 3); 60,192,808 trainable parameters."""
    return _imagenet((3, 8, 36, 3), True, "resnet152", input_shape, classes, include_top,
                     pooling, weights, classifier_activation)


def resnet_cifar(depth: int, input_shape=(32, 32, 3), classes=10, include_top=True,
                 pooling=None) -> Model:
    """The CIFAR ResNet of depth ``6n + 2`` (He et al. 2015, §4.2), option A shortcuts."""
    if (depth - 2) % 6 or depth < 8:
        raise ValueError(f"resnet_cifar: argument 'depth' must be 6n + 2 with n >= 1 "
                         f"(20, 32, 44, 56, 110), received {depth!r}")
    n = (depth - 2) // 6
    inputs = Input(input_shape)
    x = conv_bn(inputs, 16, 3, name="conv1")
    for stage, filters in enumerate((16, 32, 64)):
        for i in range(n):
            strides = 2 if stage > 0 and i == 0 else 1
            x = basic_block(x, filters, strides, shortcut="zeros",
                            name=f"conv{stage + 2}_block{i + 1}")
    return Model(inputs, _head(x, classes, include_top, pooling), name=f"resnet{depth}")


def resnet20(input_shape=(32, 32, 3), classes=10, include_top=True, pooling=None,
             weights=None) -> Model:
    """ResNet-20 for CIFAR-10 (0.27M parameters; the paper: 8.75% error). ``weights="cifar10"``
    loads the shipped weights (trained here; inputs scaled to [0, 1])."""
    return load(resnet_cifar(20, input_shape, classes, include_top, pooling), "resnet20",
                weights)


def resnet32(input_shape=(32, 32, 3), classes=10, include_top=True, pooling=None) -> Model:
    """ResNet-32 for CIFAR-10 (0.46M parameters; the paper: 7.51% error)."""
    return resnet_cifar(32, input_shape, classes, include_top, pooling)


def resnet44(input_shape=(32, 32, 3), classes=10, include_top=True, pooling=None) -> Model:
    """ResNet-44 for CIFAR-10 (0.66M parameters; the paper: 7.17% error)."""
    return resnet_cifar(44, input_shape, classes, include_top, pooling)


def resnet56(input_shape=(32, 32, 3), classes=10, include_top=True, pooling=None) -> Model:
    """ResNet-56 for CIFAR-10 (0.85M parameters; the paper: 6.97% error)."""
    return resnet_cifar(56, input_shape, classes, include_top, pooling)
