"""The zoo's networks (``svertka.zoo``) and their PyTorch twins, written out by hand in
torchvision's layout (torchvision itself is not needed), with svertka's weights copied in.

svertka builds each network first (seeded); the twin gets its weights, channels-last to
channels-first as ``models.py`` describes: conv kernels (KH, KW, C_in, C_out) -> (C_out, C_in,
KH, KW), depthwise kernels (KH, KW, C, 1) -> (C, 1, KH, KW), dense matrices transposed (and
VGG's first one with its rows permuted from svertka's (H, W, C) flattening to PyTorch's
(C, H, W)), batch norm gamma/beta/moving mean/moving variance -> weight/bias/running_mean/
running_var. Every twin returns logits; the softmax goes with the loss or is applied at
inference (``steps.py``).

- ``resnet20``: He et al.'s CIFAR ResNet-20 (``zoo.resnet20``): 3x3 stem of 16 filters, three
  stages of three basic blocks (16, 32, 64 filters), option-A shortcuts (every second pixel,
  zero channels padded evenly on both sides, the odd one after: ``F.pad`` here), global
  average pooling, Dense(10).
- ``resnet50``: torchvision's ``resnet50`` module for module (``Bottleneck`` with the stride
  on the 3x3 convolution, ``downsample`` = 1x1 convolution + BN, BN eps 1e-5), its
  ``state_dict`` keys those of torchvision, so that its weights would load.
- ``vgg16``: torchvision's ``vgg16`` (``features``, ``avgpool`` = AdaptiveAvgPool2d(7),
  ``classifier``). At 224x224 the pooling is the identity; for the smaller images of a
  ``--quick`` run (whose feature maps are not 7x7) it is left out and fc1 sized to fit, as
  svertka's Flatten does.
- ``separable``: MobileNet-style blocks (DepthwiseConv2D 3x3 + BN + ReLU, 1x1 Conv2D + BN +
  ReLU; no biases before a BN), then global average pooling and Dense(10); PyTorch's
  depthwise convolution is ``Conv2d(C, C, 3, groups=C)``. Padding is written out (1 pixel on
  every side), so the stride-2 block pads as PyTorch does.

Convolutions are padded explicitly in all four (no 'same'), so twin outputs agree to float
rounding; :func:`twin_diffs` measures how far.
"""

from __future__ import annotations

import numpy as np

import svertka
from svertka.utils import set_random_seed

SEPARABLE_BLOCKS = ((64, 1), (128, 2), (128, 1), (128, 1))  # (pointwise filters, dw stride)
SEPARABLE_INPUT = (56, 56, 64)


# ---------------------------------------------------------------- svertka side


def resnet20_svertka(seed: int = 0):
    """``zoo.resnet20()`` compiled with SGD (learning rate 0.1, momentum 0.9, as He et al.)
    and categorical cross-entropy."""
    from svertka.zoo.resnet import resnet20

    set_random_seed(seed)
    model = resnet20()
    model.compile(
        optimizer=svertka.optimizers.SGD(0.1, momentum=0.9), loss="categorical_crossentropy"
    )
    return model


def resnet50_svertka(image: int = 224, seed: int = 0):
    from svertka.zoo.resnet import resnet50

    set_random_seed(seed)
    return resnet50(input_shape=(image, image, 3))


def vgg16_svertka(image: int = 224, seed: int = 0):
    from svertka.zoo.vgg import vgg16

    set_random_seed(seed)
    return vgg16(input_shape=(image, image, 3))


def separable_svertka(image: int = 56, seed: int = 0):
    """The MobileNet-style blocks of the module note on (image, image, 64) inputs, compiled
    with adam and categorical cross-entropy as the other step cases."""
    from svertka.layers import Conv2D as conv  # noqa: N813
    from svertka.layers import DepthwiseConv2D as depthwise  # noqa: N813

    L = svertka.layers  # noqa: N806
    set_random_seed(seed)
    inputs = L.Input((image, image, SEPARABLE_INPUT[2]))
    x = inputs
    for i, (filters, stride) in enumerate(SEPARABLE_BLOCKS):
        name = f"block{i + 1}"
        x = depthwise(3, strides=stride, padding=1, use_bias=False, name=f"{name}_dw")(x)
        x = L.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{name}_dw_bn")(x)
        x = L.Activation("relu")(x)
        x = conv(filters, 1, use_bias=False, name=f"{name}_pw")(x)
        x = L.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{name}_pw_bn")(x)
        x = L.Activation("relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    model = svertka.Model(inputs, L.Dense(10, activation="softmax", name="predictions")(x))
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


# ---------------------------------------------------------------- PyTorch twins


def resnet20_torch(ours):
    """He et al.'s ResNet-20 with option-A shortcuts, ``ours``' weights."""
    import torch.nn.functional as F
    from torch import nn

    class BasicBlock(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.stride, self.extra = stride, c_out - c_in

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.stride != 1 or self.extra:  # option A: subsample, zero channels around
                x = x[:, :, :: self.stride, :: self.stride]
                x = F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))
            return F.relu(out + x)

    class ResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            c_in = 16
            for stage, c_out in enumerate((16, 32, 64)):
                blocks = [BasicBlock(c_in, c_out, 2 if stage else 1)]
                blocks += [BasicBlock(c_out, c_out, 1) for _ in range(2)]
                setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
                c_in = c_out
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(x.mean((2, 3)))

    net = ResNet20()
    names = {"conv1_conv": "conv1", "conv1_bn": "bn1", "predictions": "fc"}
    for stage in range(3):
        for i in range(3):
            for j in (1, 2):
                ours_name, theirs = f"conv{stage + 2}_block{i + 1}_{j}", f"layer{stage + 1}.{i}"
                names[f"{ours_name}_conv"] = f"{theirs}.conv{j}"
                names[f"{ours_name}_bn"] = f"{theirs}.bn{j}"
    copy_weights(ours, net, names)
    return net


def resnet50_torch(ours):
    """torchvision's ResNet-50, written out, with ``ours``' weights."""
    from torch import nn

    class Bottleneck(nn.Module):  # torchvision.models.resnet.Bottleneck (ResNet V1.5)
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * self.expansion)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):  # torchvision.models.resnet.ResNet
        def __init__(self, layers=(3, 4, 6, 3), num_classes=1000):
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = self._make_layer(64, layers[0])
            self.layer2 = self._make_layer(128, layers[1], stride=2)
            self.layer3 = self._make_layer(256, layers[2], stride=2)
            self.layer4 = self._make_layer(512, layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)

        def _make_layer(self, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride, bias=False),
                    nn.BatchNorm2d(planes * Bottleneck.expansion),
                )
            layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * Bottleneck.expansion
            layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    net = ResNet()
    names = {"conv1_conv": "conv1", "conv1_bn": "bn1", "predictions": "fc"}
    for stage, count in enumerate((3, 4, 6, 3)):
        for i in range(count):
            ours_name, theirs = f"conv{stage + 2}_block{i + 1}", f"layer{stage + 1}.{i}"
            for j in (1, 2, 3):
                names[f"{ours_name}_{j}_conv"] = f"{theirs}.conv{j}"
                names[f"{ours_name}_{j}_bn"] = f"{theirs}.bn{j}"
            if i == 0:
                names[f"{ours_name}_0_conv"] = f"{theirs}.downsample.0"
                names[f"{ours_name}_0_bn"] = f"{theirs}.downsample.1"
    copy_weights(ours, net, names)
    return net


VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def vgg16_torch(ours):
    """torchvision's VGG-16, written out, with ``ours``' weights (see the module note on
    ``avgpool``)."""
    from torch import nn

    side = ours.input_shape[1] // 32  # the feature maps' side after five poolings

    class VGG(nn.Module):  # torchvision.models.vgg.VGG with make_layers(cfgs["D"])
        def __init__(self, num_classes=1000, dropout=0.5):
            super().__init__()
            layers, c_in = [], 3
            for v in VGG16_CFG:
                if v == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.ReLU(inplace=True)]
                    c_in = v
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7)) if side == 7 else nn.Identity()
            self.classifier = nn.Sequential(
                nn.Linear(512 * side * side, 4096),
                nn.ReLU(True),
                nn.Dropout(dropout),
                nn.Linear(4096, 4096),
                nn.ReLU(True),
                nn.Dropout(dropout),
                nn.Linear(4096, num_classes),
            )

        def forward(self, x):
            return self.classifier(self.avgpool(self.features(x)).flatten(1))

    net = VGG()
    names = {"fc1": "classifier.0", "fc2": "classifier.3", "predictions": "classifier.6"}
    stage, conv = 1, 1
    for index, module in enumerate(net.features):  # Keras's names: block3_conv2 ...
        if isinstance(module, nn.MaxPool2d):
            stage, conv = stage + 1, 1
        elif isinstance(module, nn.Conv2d):
            names[f"block{stage}_conv{conv}"] = f"features.{index}"
            conv += 1
    copy_weights(ours, net, names, flatten_hw={"fc1": (side, side)})
    return net


def separable_torch(ours):
    """The blocks of :func:`separable_svertka` in PyTorch, with ``ours``' weights."""
    from torch import nn

    layers, names, c = [], {}, SEPARABLE_INPUT[2]
    for i, (filters, stride) in enumerate(SEPARABLE_BLOCKS):
        name, at = f"block{i + 1}", len(layers)
        layers += [
            nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
            nn.Conv2d(c, filters, 1, bias=False),
            nn.BatchNorm2d(filters),
            nn.ReLU(inplace=True),
        ]
        names.update(
            {
                f"{name}_dw": f"{at}",
                f"{name}_dw_bn": f"{at + 1}",
                f"{name}_pw": f"{at + 3}",
                f"{name}_pw_bn": f"{at + 4}",
            }
        )
        c = filters
    names["predictions"] = f"{len(layers) + 2}"
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))
    copy_weights(ours, net, names)
    return net


# ---------------------------------------------------------------- copying and checking


def copy_weights(ours, net, names: dict[str, str], flatten_hw=None) -> None:
    """Copy the weights of each layer of ``ours`` named in ``names`` into the module of
    ``net`` at the dotted path it maps to; every layer of ours with weights must be mapped
    and every parameter and buffer of ``net`` written."""
    import torch
    from torch import nn

    flatten_hw = flatten_hw or {}
    modules = dict(net.named_modules())
    written = set()
    for layer in ours.layers:
        weights = [np.asarray(w) for w in layer.get_weights()]
        if not weights:
            continue
        path = names[layer.name]  # KeyError: a layer the twin lacks
        module = modules[path]
        if isinstance(module, nn.BatchNorm2d):
            targets = (module.weight, module.bias, module.running_mean, module.running_var)
            values = weights
        elif isinstance(module, nn.Conv2d):
            kernel = weights[0]  # (KH, KW, C_in, C_out), or (KH, KW, C, M) for a depthwise one
            if module.groups > 1:
                kernel = kernel.reshape(*kernel.shape[:2], 1, -1)  # channel c*M + m, as Keras
            targets = (module.weight, module.bias)[: len(weights)]
            values = [kernel.transpose(3, 2, 0, 1), *weights[1:]]
        elif isinstance(module, nn.Linear):
            kernel = weights[0]
            if layer.name in flatten_hw:  # rows: svertka's (H, W, C) order to PyTorch's (C, H, W)
                h, w = flatten_hw[layer.name]
                kernel = kernel.reshape(h, w, -1, kernel.shape[1]).transpose(2, 0, 1, 3)
                kernel = kernel.reshape(-1, kernel.shape[-1])
            targets, values = (module.weight, module.bias), [kernel.T, weights[1]]
        else:
            raise TypeError(f"no weight copy from {layer.name} to {type(module).__name__}")
        if len(targets) != len(values) or any(t is None for t in targets):
            raise ValueError(f"{layer.name} -> {path}: {len(values)} weights for {len(targets)}")
        with torch.no_grad():
            for target, value in zip(targets, values):
                if tuple(target.shape) != value.shape:
                    raise ValueError(
                        f"{layer.name} -> {path}: shape {value.shape}, "
                        f"expected {tuple(target.shape)}"
                    )
                target.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))
        written.add(path)
    missing = sorted(
        name.rsplit(".", 1)[0]
        for name, _ in [*net.named_parameters(), *net.named_buffers()]
        if name.rsplit(".", 1)[0] not in written and not name.endswith("num_batches_tracked")
    )
    if missing:
        raise ValueError(f"twin modules left with their own weights: {sorted(set(missing))}")


def twin_diffs(ours, net, x: np.ndarray, training: bool = False) -> tuple[float, float]:
    """How far ``ours`` and its twin ``net`` disagree on ``x`` (N, H, W, C), in inference
    mode or, with ``training``, in training mode (batch statistics; both then update their
    running averages): the largest absolute difference of their class probabilities, and
    of their logits relative to the largest logit. The logits matter because an untrained
    deep network's probabilities are often all but one-hot, which hides differences; ours
    are its classifier's input (a model sharing its layers) times the classifier's weights.
    """
    import torch

    from steps import to_torch

    head = ours.outputs[0]  # the classifier: Dense with the softmax built in
    kernel, bias = (np.asarray(w) for w in head.layer.get_weights())
    features = svertka.Model(ours.inputs[0], head.parents[0])
    with svertka.no_grad():
        p_ours = np.asarray(ours(x, training=training).data)
        z_ours = np.asarray(features(x, training=training).data) @ kernel + bias
    was_training = net.training
    net.train(training)
    with torch.inference_mode():
        z_theirs = net(to_torch(x)).numpy()
    net.train(was_training)
    p_theirs = np.exp(z_theirs - z_theirs.max(1, keepdims=True))
    p_theirs /= p_theirs.sum(1, keepdims=True)
    scale = max(float(np.abs(z_theirs).max()), 1e-30)
    return float(np.abs(p_ours - p_theirs).max()), float(np.abs(z_ours - z_theirs).max()) / scale


TWINS = {
    "resnet20": resnet20_torch,
    "resnet50": resnet50_torch,
    "vgg16": vgg16_torch,
    "separable": separable_torch,
}
