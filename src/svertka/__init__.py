"""svertka (свёртка, "convolution"): convolutional neural networks from first principles.

``import svertka as keras`` lets the notes' Keras program run with only its imports changed.

>>> import svertka
>>> x = svertka.Tensor([[1.0, -2.0]], requires_grad=True)
>>> svertka.ops.relu(x).sum().backward()
>>> x.grad.tolist()
[[1.0, 0.0]]

Importing svertka changes nothing in the process: the malloc setting of
:mod:`svertka.allocator` is applied when svertka first trains or predicts.
"""

from svertka import (
    activations,
    applications,
    augment,
    backend,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    saving,
    search,
    tools,
    transfer,
    utils,
    zoo,
)
from svertka.autograd import Function, Tensor, no_grad
from svertka.errors import DataFileError, ModelFileError
from svertka.layers import Input
from svertka.losses import Loss
from svertka.metrics import Metric
from svertka.models import Model, Sequential, load_model
from svertka.trainer import Trainer

__version__ = "0.1.0"

__all__ = [
    "DataFileError", "Function", "Input", "Loss", "Metric", "Model", "ModelFileError",
    "Sequential", "Tensor", "Trainer",
    "__version__", "activations", "applications", "augment", "backend", "callbacks", "datasets",
    "initializers", "layers", "load_model", "losses", "metrics", "models", "no_grad", "ops",
    "optimizers", "preprocessing", "random", "regularizers", "saving", "search", "tools",
    "transfer", "utils", "zoo",
]
