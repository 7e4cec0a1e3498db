"""Keras's naming rule, in one place: class names in snake case (``Conv2D`` -> ``conv2d``,
``MaxPooling2D`` -> ``max_pooling2d``, ``TruePositives`` -> ``true_positives``, ``AUC`` ->
``auc``) for the default names of layers, losses, metrics and initializers.

>>> [snake_case(n) for n in ("Conv2D", "MaxPooling2D", "ReLU", "AUC", "MyHuberLoss")]
['conv2d', 'max_pooling2d', 're_lu', 'auc', 'my_huber_loss']
"""

from __future__ import annotations

import re


def snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: non-word characters dropped, then an underscore before each
    capitalised word and between a lower-case letter and a capital."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
