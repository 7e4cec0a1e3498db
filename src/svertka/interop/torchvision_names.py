"""Which torchvision module feeds which layer of ``svertka.zoo``'s AlexNet, VGG and ResNet.

torchvision's keys (``features.0.weight``, ``classifier.6.bias``, ``layer2.0.downsample.1
.running_var``, ``fc.weight``) against the zoo's Keras-style layer names (``block1_conv1``,
``predictions``, ``conv3_block1_0_bn``). timm's plain ResNets (``timm.create_model("resnet50")``)
use torchvision's names exactly, so the same mapping loads their checkpoints (``resnet50d``
and the other variants change the stem and are not covered).

The mapping is read off the model's own layers, so a network without its top
(``include_top=False``) maps only its features, and the classifier's keys are ignored.

>>> from svertka import zoo
>>> mapping, ignore = torchvision_mapping("resnet18", zoo.resnet18(input_shape=(64, 64, 3)))
>>> mapping["conv1_bn"], mapping["conv3_block1_0_conv"], mapping["predictions"], ignore
('bn1', 'layer2.0.downsample.0', 'fc', ())
"""

from __future__ import annotations

import re

import numpy as np

from svertka.interop.torch_state import load_torch_state_dict
from svertka.zoo.vgg import DEPTHS

RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
VGGS = tuple(f"vgg{d}{bn}" for d in sorted(DEPTHS) for bn in ("", "_bn"))
ARCHITECTURES = ("alexnet", *VGGS, *RESNETS)

_RESNET_LAYER = re.compile(r"conv(\d)_block(\d+)_(\d)_(conv|bn)$")


def _resnet(name: str) -> str | None:
    if name in ("conv1_conv", "conv1_bn"):
        return "conv1" if name.endswith("conv") else "bn1"
    if name == "predictions":
        return "fc"
    match = _RESNET_LAYER.match(name)
    if match is None:
        return None
    stage, block, k, kind = match.groups()
    where = f"layer{int(stage) - 1}.{int(block) - 1}"
    if k == "0":  # the projection shortcut
        return f"{where}.downsample.{0 if kind == 'conv' else 1}"
    return f"{where}.{kind}{k}"


def _vgg_table(depth: int, batch_norm: bool) -> dict[str, str]:
    """torchvision's ``features`` is one Sequential: conv, (bn,) ReLU per convolution and a
    max pooling per stage, numbered in that order; ``classifier`` is Linear, ReLU, Dropout,
    Linear, ReLU, Dropout, Linear."""
    table, i = {}, 0
    for stage, count in enumerate(DEPTHS[depth]):
        for j in range(count):
            name = f"block{stage + 1}_conv{j + 1}"
            table[name] = f"features.{i}"
            if batch_norm:
                table[f"{name}_bn"] = f"features.{i + 1}"
            i += 3 if batch_norm else 2
        i += 1
    return {**table, "fc1": "classifier.0", "fc2": "classifier.3",
            "predictions": "classifier.6"}


_ALEXNET = {"conv1": "features.0", "conv2": "features.3", "conv3": "features.6",
            "conv4": "features.8", "conv5": "features.10", "fc6": "classifier.1",
            "fc7": "classifier.4", "fc8": "classifier.6"}


def torchvision_mapping(arch: str, model) -> tuple[dict[str, str], tuple[str, ...]]:
    """``(mapping, ignore)`` for ``load_torch_state_dict``: ``{layer name: torchvision module}``
    for every layer of ``model`` that has weights, and the torchvision modules to leave out
    (the classifier, when the model has no top)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"torchvision_mapping: argument 'arch' must be one of "
                         f"{list(ARCHITECTURES)}, received {arch!r}")
    if arch.startswith("resnet"):
        lookup, head, top = _resnet, ("fc",), "predictions"
    elif arch.startswith("vgg"):
        table = _vgg_table(int(arch[3:5]), arch.endswith("_bn"))
        lookup, head, top = table.get, ("classifier",), "predictions"
    else:
        lookup, head, top = _ALEXNET.get, ("classifier",), "fc8"
    mapping, unknown = {}, []
    for layer in model.layers:
        if not layer.weights:
            continue
        module = lookup(layer.name)
        if module is None:
            unknown.append(layer.name)
        else:
            mapping[layer.name] = module
    if unknown:
        raise ValueError(f"torchvision_mapping: the {model.name!r} model has layers with weights "
                         f"that torchvision's {arch} lacks: {unknown} (is it the zoo's {arch}, "
                         f"with torchvision's layout?)")
    has_top = any(layer.name == top for layer in model.layers)
    return mapping, () if has_top else head


def load_torchvision(model, arch: str, state) -> None:
    """Load a torchvision (or timm ResNet) state dict or file into the zoo's ``arch`` model:
    every tensor must fit, but a model without its top skips the classifier's."""
    mapping, ignore = torchvision_mapping(arch, model)
    load_torch_state_dict(model, state, mapping, strict=True, ignore=ignore)


IMAGENET_MEAN = (0.485, 0.456, 0.406)  # torchvision's normalisation, RGB
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_preprocess(x):
    """Images as torchvision's ImageNet weights expect them: ``x`` channels-last RGB scaled to
    [0, 1] (``pixels / 255``), each channel less ImageNet's mean and divided by its standard
    deviation. Returns float32.

    >>> import numpy as np
    >>> imagenet_preprocess(np.array([[0.485, 0.456, 0.406], [1.0, 1.0, 1.0]])).round(2)
    array([[0.  , 0.  , 0.  ],
           [2.25, 2.43, 2.64]], dtype=float32)
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError(f"imagenet_preprocess: argument 'x' must be RGB images with the "
                         f"channels last (..., 3), received shape {x.shape}")
    return (x - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)
