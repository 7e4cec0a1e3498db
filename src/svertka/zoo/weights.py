"""Weights trained by svertka on the shared data and shipped inside the package, by name.

Each entry: the architecture, the data set it was trained on, and the file under
``svertka/zoo/weights/`` (``save_weights`` form: a JSON table plus arrays, no pickle). The
command that trained each, and the accuracy it reached, are in the README ("Trained models").
The models expect pixels scaled to [0, 1] (``x / 255``), as in training.

``load`` also takes the path of a PyTorch state dict (``.safetensors``, ``.pth``, ``.pt``,
``.bin``) for the networks torchvision has (AlexNet, VGG, ResNet-18 to 152; timm's ResNets
share the names): the user downloads the file, nothing here goes to the network. See
``svertka.interop`` for the conversion and ``imagenet_preprocess`` for the inputs they expect.

>>> sorted(SHIPPED)
['lenet5', 'notes', 'resnet20']
"""

from __future__ import annotations

import os
from importlib import resources

TORCH_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")

SHIPPED = {
    "lenet5": {"mnist": "lenet5-mnist.weights"},
    "notes": {"mnist": "notes-mnist.weights"},
    "resnet20": {"cifar10": "resnet20-cifar10.weights"},
}
# the images each data set's weights were trained on, (H, W, C): what the builder is given
INPUTS = {"mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


def specs() -> list[str]:
    """Every shipped network as ``"arch:weights"``, the form the command line takes.

    >>> specs()
    ['lenet5:mnist', 'notes:mnist', 'resnet20:cifar10']
    """
    return [f"{arch}:{w}" for arch, choices in SHIPPED.items() for w in choices]


def path(arch: str, weights: str):
    """The shipped file for ``arch`` trained on ``weights`` (a data set name)."""
    choices = SHIPPED.get(arch, {})
    if weights not in choices:
        raise ValueError(f"{arch}: argument 'weights' must be None, a weights file, or one of "
                         f"{sorted(choices) or 'nothing (no weights ship for it)'}, "
                         f"received {weights!r}")
    return resources.files("svertka.zoo") / "weights" / choices[weights]


def load(model, arch: str, weights):
    """``model`` with the weights named by ``weights`` (None: left as initialised; a shipped
    name such as ``"mnist"``; the path of a ``save_weights`` file; or that of a torchvision
    state dict, ``.safetensors`` or ``.pth``, for ``arch``)."""
    if weights is None:
        return model
    if isinstance(weights, (str, os.PathLike)) and _is_torch_file(weights):
        from svertka.interop.torchvision_names import ARCHITECTURES, load_torchvision

        if arch not in ARCHITECTURES:
            raise ValueError(f"{arch}: argument 'weights' is a PyTorch state dict "
                             f"({os.fspath(weights)!r}), but torchvision has no {arch} to "
                             f"convert from (it does for {', '.join(ARCHITECTURES)})")
        load_torchvision(model, arch, weights)
        return model
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        model.load_weights(weights)
        return model
    file = path(arch, weights)
    if not file.is_file():
        raise FileNotFoundError(f"{arch}: the weights {weights!r} are not in this installation "
                                f"({file} is missing: not trained and shipped yet in this "
                                f"version, or a damaged install)")
    with resources.as_file(file) as local:
        model.load_weights(local)
    return model


def _is_torch_file(weights) -> bool:
    return os.fspath(weights).lower().endswith(TORCH_SUFFIXES)
