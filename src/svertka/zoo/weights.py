"""Weights trained by svertka on the shared data and shipped inside the package, by name.

Each entry: the architecture, the data set it was trained on, and the file under
``svertka/zoo/weights/`` (``save_weights`` form: a JSON table plus arrays, no pickle). The
command that trained each, and the accuracy it reached, are in the README ("Trained models").
The models expect pixels scaled to [0, 1] (``x / 255``), as in training.

>>> sorted(SHIPPED)
['lenet5', 'resnet20']
"""

from __future__ import annotations

import os
from importlib import resources

SHIPPED = {
    "lenet5": {"mnist": "lenet5-mnist.weights"},
    "resnet20": {"cifar10": "resnet20-cifar10.weights"},
}


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
    name such as ``"mnist"``; or the path of a ``save_weights`` file)."""
    if weights is None:
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
