"""The benchmarked networks in svertka, PyTorch and Keras, with identical initial weights.

svertka builds each network first (seeded); the PyTorch and Keras twins get its weights. Keras
is channels-last like svertka, so its weights copy as they are. PyTorch is channels-first:
conv kernels go from (KH, KW, C_in, C_out) to (C_out, C_in, KH, KW), dense matrices are
transposed, and the first dense layer after ``Flatten`` has its rows permuted, because
svertka flattens (H, W, C) and PyTorch (C, H, W).

- ``notes``: the notes' MNIST model (``svertka.zoo.notes_cnn``, SPEC §7), 421,642 parameters.
- ``resnet``: a small ResNet for CIFAR-10 (32x32x3): stem conv3x3(16)-BN-ReLU, a basic block
  at 16 channels (conv3x3-BN-ReLU-conv3x3-BN, identity added, ReLU), a downsampling block at
  32 channels (stride-2 conv3x3 and a stride-2 1x1 projection with BN on the shortcut),
  global average pooling, Dense(10, softmax); convolutions before a BN have no bias. svertka
  and Keras build it from the same code (:func:`resnet_graph`). One difference remains: for
  the stride-2 3x3 convolution, 'same' padding in svertka and Keras puts the one padding pixel
  at the bottom/right, PyTorch's ``padding=1`` pads both sides (same shapes, same FLOPs,
  outputs shifted by a pixel there). PyTorch's BN gets Keras's epsilon (1e-3) and momentum
  (0.99, i.e. PyTorch's 0.01).
"""

from __future__ import annotations

import numpy as np

import svertka
from svertka.utils import set_random_seed
from svertka.zoo import notes_cnn


def notes_svertka(seed: int = 0):
    """``notes_cnn()`` compiled as the notes compile it (adam, categorical cross-entropy)."""
    set_random_seed(seed)
    model = notes_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def notes_keras(ours):
    """The notes' Keras model with ``ours``' weights, compiled as the notes compile it."""
    from libs import keras

    k = keras()
    L = k.layers  # noqa: N806 - the notes' spelling
    model = k.Sequential(
        [
            k.Input((28, 28, 1)),
            L.Conv2D(32, (3, 3), padding="same", activation="relu"),
            L.MaxPooling2D((2, 2), strides=2),
            L.Conv2D(64, (3, 3), padding="same", activation="relu"),
            L.MaxPooling2D((2, 2), strides=2),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dense(10, activation="softmax"),
        ]
    )
    model.set_weights(ours.get_weights())
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def notes_torch(ours):
    """The same network in PyTorch (logits out: the softmax goes with the loss or is applied
    at inference), with ``ours``' weights."""
    import torch
    from torch import nn

    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(3136, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    w = ours.get_weights()
    with torch.no_grad():
        _copy_conv(net[0], w[0], w[1])
        _copy_conv(net[3], w[2], w[3])
        # rows of the first dense matrix: svertka's (H, W, C) order to PyTorch's (C, H, W)
        _copy_dense(
            net[7], w[4].reshape(7, 7, 64, 128).transpose(2, 0, 1, 3).reshape(3136, 128), w[5]
        )
        _copy_dense(net[9], w[6], w[7])
    return net


def resnet_graph(L, inputs):  # noqa: N803 - L is a Keras-style layers module
    """The small ResNet of the module note, built with ``L`` = svertka.layers or
    keras.layers; every layer with weights is named so that twins can be paired."""

    def conv_bn(x, filters, kernel, name, strides=1):
        x = L.Conv2D(
            filters, kernel, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"
        )(x)
        return L.BatchNormalization(name=f"{name}_bn")(x)

    x = L.Activation("relu")(conv_bn(inputs, 16, 3, "stem"))
    y = L.Activation("relu")(conv_bn(x, 16, 3, "b1a"))
    x = L.Activation("relu")(L.Add()([conv_bn(y, 16, 3, "b1b"), x]))
    y = L.Activation("relu")(conv_bn(x, 32, 3, "b2a", strides=2))
    shortcut = conv_bn(x, 32, 1, "b2s", strides=2)
    x = L.Activation("relu")(L.Add()([conv_bn(y, 32, 3, "b2b"), shortcut]))
    x = L.GlobalAveragePooling2D()(x)
    return L.Dense(10, activation="softmax", name="head")(x)


RESNET_CONVS = (  # (name, C_in, C_out, kernel, stride) in PyTorch's terms
    ("stem", 3, 16, 3, 1),
    ("b1a", 16, 16, 3, 1),
    ("b1b", 16, 16, 3, 1),
    ("b2a", 16, 32, 3, 2),
    ("b2s", 16, 32, 1, 2),
    ("b2b", 32, 32, 3, 1),
)


def resnet_svertka(seed: int = 0):
    """The small ResNet in svertka, compiled with adam and categorical cross-entropy."""
    set_random_seed(seed)
    inputs = svertka.Input((32, 32, 3))
    model = svertka.Model(inputs, resnet_graph(svertka.layers, inputs))
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def resnet_keras(ours):
    """The same network in Keras with ``ours``' weights, paired layer by layer by name."""
    from libs import keras

    k = keras()
    inputs = k.Input((32, 32, 3))
    model = k.Model(inputs, resnet_graph(k.layers, inputs))
    for layer in ours.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def resnet_torch(ours):
    """The same network in PyTorch (logits out) with ``ours``' weights."""
    import torch
    from torch import nn

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            for name, c_in, c_out, k, s in RESNET_CONVS:
                setattr(self, f"{name}_conv", nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False))
                setattr(self, f"{name}_bn", nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.01))
            self.head = nn.Linear(32, 10)

        def unit(self, x, name):
            return getattr(self, f"{name}_bn")(getattr(self, f"{name}_conv")(x))

        def forward(self, x):
            relu = torch.relu
            x = relu(self.unit(x, "stem"))
            x = relu(self.unit(relu(self.unit(x, "b1a")), "b1b") + x)
            y = relu(self.unit(x, "b2a"))
            x = relu(self.unit(y, "b2b") + self.unit(x, "b2s"))
            return self.head(x.mean((2, 3)))

    net = ResNet()
    with torch.no_grad():
        for name, *_ in RESNET_CONVS:
            _copy_conv(getattr(net, f"{name}_conv"), *ours.get_layer(f"{name}_conv").get_weights())
            gamma, beta, mean, var = ours.get_layer(f"{name}_bn").get_weights()
            bn = getattr(net, f"{name}_bn")
            for tensor, value in (
                (bn.weight, gamma),
                (bn.bias, beta),
                (bn.running_mean, mean),
                (bn.running_var, var),
            ):
                tensor.copy_(torch.from_numpy(np.asarray(value)))
        _copy_dense(net.head, *ours.get_layer("head").get_weights())
    return net


def _copy_conv(conv, kernel, bias=None) -> None:
    import torch

    conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
    if bias is not None:
        conv.bias.copy_(torch.from_numpy(np.asarray(bias)))


def _copy_dense(linear, kernel, bias) -> None:
    import torch

    linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
    linear.bias.copy_(torch.from_numpy(np.asarray(bias)))


def twins(family: str, libs) -> dict:
    """``{library: model}`` for ``family`` 'notes' or 'resnet', every library's network
    starting from the same weights as svertka's (built first)."""
    ours = {"notes": notes_svertka, "resnet": resnet_svertka}[family]()
    copies = {
        "notes": {"torch": notes_torch, "keras": notes_keras},
        "resnet": {"torch": resnet_torch, "keras": resnet_keras},
    }[family]
    return {lib: ours if lib == "svertka" else copies[lib](ours) for lib in libs}
