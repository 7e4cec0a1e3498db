"""The networks of ``svertka.zoo`` under the names and arguments of ``keras.applications``,
so that a Keras program's ``from keras.applications import VGG16`` runs with the import
changed: ``VGG16(include_top=False, weights=None, input_shape=(224, 224, 3))``.

Layouts are torchvision's, whose published weights a later step converts: the ResNets have
no bias in their convolutions (Keras's ResNet50 has, 25,636,712 parameters in all, against
25,557,032 trainable + 53,120 batch-norm statistics here); the VGGs are the same in both.
No ImageNet weights ship with svertka: ``weights`` is None or the path of a
``save_weights`` file (``"imagenet"`` gets an error saying so).

>>> VGG19(include_top=False, weights=None, input_shape=(64, 64, 3)).output_shape
(None, 2, 2, 512)
"""

from __future__ import annotations

from svertka import zoo
from svertka.layers import _args
from svertka.layers.base import SymbolicTensor
from svertka.models import Model


def _application(name, builder, include_top, weights, input_tensor, input_shape, pooling,
                 classes, classifier_activation, default_shape=(224, 224, 3)):
    if weights == "imagenet":
        raise ValueError(f"{name}: svertka ships no ImageNet weights; give weights=None (and "
                         f"train), or the path of a weights file saved by save_weights")
    if input_tensor is not None and not isinstance(input_tensor, SymbolicTensor):
        raise TypeError(f"{name}: argument 'input_tensor' must be the result of "
                        f"svertka.layers.Input(...), received {type(input_tensor).__name__}")
    if input_shape is None:
        input_shape = input_tensor.shape[1:] if input_tensor is not None else default_shape
    model = builder(input_shape=tuple(input_shape), classes=classes, include_top=include_top,
                    pooling=None if include_top else pooling)
    if include_top and classifier_activation != "softmax":
        head = model.layers[-1]
        head._activation = _args.activation_fn(name, classifier_activation)
        head.activation = classifier_activation
    if input_tensor is not None:
        model = Model(input_tensor, zoo.call_on(model, input_tensor), name=model.name)
    if weights is not None:
        model.load_weights(weights)
    return model


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


__all__ = ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152"]
