"""The networks of ``svertka.zoo`` under the names and arguments of ``keras.applications``,
so that a Keras program's ``from keras.applications import VGG16`` runs with the import
changed: ``VGG16(include_top=False, weights=None, input_shape=(224, 224, 3))``.

Layouts are torchvision's, whose published weights a later step converts: the ResNets have
no bias in their convolutions (Keras's ResNet50 has, 25,636,712 parameters in all, against
25,557,032 trainable + 53,120 batch-norm statistics here); the VGGs are the same in both.
No ImageNet weights ship with svertka: ``weights`` is None, the path of a ``save_weights``
file, or that of torchvision's state dict for the same network (``.safetensors`` or ``.pth``,
downloaded by the user; ``"imagenet"`` gets an error saying so). ``preprocess_input(x,
mode="torch")`` prepares images for those weights.

>>> VGG19(include_top=False, weights=None, input_shape=(64, 64, 3)).output_shape
(None, 2, 2, 512)
"""

from __future__ import annotations

import numpy as np

from svertka import zoo
from svertka.layers import _args
from svertka.layers.symbolic import SymbolicTensor
from svertka.models import Model
from svertka.zoo.weights import load


def _application(name, builder, include_top, weights, input_tensor, input_shape, pooling,
                 classes, classifier_activation, default_shape=(224, 224, 3)):
    if weights == "imagenet":
        raise ValueError(f"{name}: svertka ships no ImageNet weights; give weights=None (and "
                         f"train), the path of a weights file saved by save_weights, or that "
                         f"of torchvision's state dict (.safetensors or .pth)")
    if input_tensor is not None and not isinstance(input_tensor, SymbolicTensor):
        raise TypeError(f"{name}: argument 'input_tensor' must be the result of "
                        f"svertka.layers.Input(...), received {type(input_tensor).__name__}")
    if input_shape is None:
        input_shape = input_tensor.shape[1:] if input_tensor is not None else default_shape
    _args.activation_fn(name, classifier_activation)  # an error naming the application
    model = builder(input_shape=tuple(input_shape), classes=classes, include_top=include_top,
                    pooling=None if include_top else pooling,
                    classifier_activation=classifier_activation)
    if input_tensor is not None:
        model = Model(input_tensor, zoo.call_on(model, input_tensor), name=model.name)
    return load(model, builder.__name__, weights)


def VGG16(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,  # noqa: N802
          classes=1000, classifier_activation="softmax") -> Model:
    """``keras.applications.VGG16``: 138,357,544 parameters with the top."""
    return _application("VGG16", zoo.vgg16, include_top, weights, input_tensor, input_shape,
                        pooling, classes, classifier_activation)


def VGG19(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,  # noqa: N802
          classes=1000, classifier_activation="softmax") -> Model:
    """``keras.applications.VGG19``: 143,667,240 parameters with the top."""
    return _application("VGG19", zoo.vgg19, include_top, weights, input_tensor, input_shape,
                        pooling, classes, classifier_activation)


def ResNet50(include_top=True, weights=None, input_tensor=None, input_shape=None,  # noqa: N802
             pooling=None, classes=1000, classifier_activation="softmax") -> Model:
    """``keras.applications.ResNet50`` in torchvision's layout (see the module docstring)."""
    return _application("ResNet50", zoo.resnet50, include_top, weights, input_tensor,
                        input_shape, pooling, classes, classifier_activation)


def ResNet101(include_top=True, weights=None, input_tensor=None, input_shape=None,  # noqa: N802
              pooling=None, classes=1000, classifier_activation="softmax") -> Model:
    """``keras.applications.ResNet101`` in torchvision's layout."""
    return _application("ResNet101", zoo.resnet101, include_top, weights, input_tensor,
                        input_shape, pooling, classes, classifier_activation)


def ResNet152(include_top=True, weights=None, input_tensor=None, input_shape=None,  # noqa: N802
              pooling=None, classes=1000, classifier_activation="softmax") -> Model:
    """``keras.applications.ResNet152`` in torchvision's layout."""
    return _application("ResNet152", zoo.resnet152, include_top, weights, input_tensor,
                        input_shape, pooling, classes, classifier_activation)


def preprocess_input(x, mode: str = "torch"):
    """``keras.applications``' ``preprocess_input`` on RGB pixels in [0, 255], channels last:
    'torch' scales to [0, 1] and normalises each channel by ImageNet's mean and standard
    deviation (what torchvision's weights expect); 'tf' scales to [-1, 1]; 'caffe' reverses
    the channels to BGR and subtracts ImageNet's mean pixel. Returns float32.

    >>> preprocess_input(np.full((1, 1, 1, 3), 255.0), mode="tf").tolist()
    [[[[1.0, 1.0, 1.0]]]]
    >>> preprocess_input(np.full((1, 1, 1, 3), 255.0))[0, 0, 0].round(2)
    array([2.25, 2.43, 2.64], dtype=float32)
    """
    from svertka.interop import imagenet_preprocess

    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError(f"preprocess_input: argument 'x' must be RGB images with the channels "
                         f"last (..., 3), received shape {x.shape}")
    if mode == "torch":
        return imagenet_preprocess(x / np.float32(255))
    if mode == "tf":
        return x / np.float32(127.5) - np.float32(1)
    if mode == "caffe":
        return x[..., ::-1] - np.float32((103.939, 116.779, 123.68))
    raise ValueError(f"preprocess_input: argument 'mode' must be 'torch', 'tf' or 'caffe', "
                     f"received {mode!r}")


__all__ = ["preprocess_input", "VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152"]
