"""Transfer learning as the notes teach it (SPEC §10, seed 003), in one call: ``fine_tune``.

The notes' rule, in their words: "with 10–100 images, freeze everything but the last layer;
with 1000+, freeze the first layers and train the rest with learning rates growing towards
the output". They count images in all ("we have little data (10-100)"), not per class, and so
does :func:`choose_strategy`:

==============  ========  ============================================================
training set    strategy  what trains
==============  ========  ============================================================
<= 100 images   head      the new classifier only, on the frozen network's features
101 - 999       top       the new classifier and the network's last block
>= 1,000        top       the new classifier and the upper half of the network's blocks
==============  ========  ============================================================

In between, the notes say nothing; the choice here moves one step from their first case
towards their second: one block more than the head, at a lower rate. Named strategies can
also be asked for: ``"all"`` (every block, rates growing towards the output) and
``"scratch"`` (the same architecture reinitialised and trained alone: the baseline).

A *block* is a group of layers with weights: a ResNet's residual block (``conv3_block2_...``),
a convolution with the batch norm after it, or a single layer (LeNet's C1, C3, C5, F6).
Learning rates grow geometrically from ``learning_rate * lowest_rate`` at the first trained
block to ``learning_rate`` at the classifier (``svertka.optimizers.LayerRates``). The frozen
part runs once: its outputs do not change while it is frozen (a frozen batch norm runs in
inference mode), so they are computed before training and only the rest trains on them.

>>> import numpy as np
>>> from svertka import zoo
>>> base = zoo.lenet5((28, 28, 1))
>>> x = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
>>> result = fine_tune(base, (x, np.arange(20) % 4), 4, epochs=1, verbose=0)
>>> result.strategy, result.trainable, result.model.output_shape
('head', ['new_head'], (None, 4))
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from svertka import checks

STRATEGIES = ("auto", "head", "top", "all", "scratch")
FEW, MANY = 100, 1000  # the notes' "10-100 images" and "1000+"


@dataclass
class FineTuneResult:
    """What ``fine_tune`` returns; unpacks as ``model, history = fine_tune(...)``.

    ``model`` runs on inputs as the base took them (``prepare`` makes new images so);
    ``history`` maps each log key to its per-epoch values over all stages; ``frozen`` and
    ``trainable`` list the layers left alone and trained (by name, the new head last);
    ``rates`` the learning rate of each trained layer; ``scale`` what integer pixels were
    multiplied by (1/255, or 1 for a base that rescales them itself)."""

    model: object
    history: dict
    strategy: str
    frozen: list[str]
    trainable: list[str]
    rates: dict[str, float] = field(default_factory=dict)
    scale: float = 1 / 255

    def __iter__(self):
        return iter((self.model, self.history))

    def prepare(self, x) -> np.ndarray:
        """Images ``x`` adapted as the training images were (:func:`adapt_images`)."""
        return adapt_images(x, self.model.input_shape[1:], "FineTuneResult.prepare", self.scale)


def choose_strategy(n_images: int) -> tuple[str, float]:
    """The notes' rule: ``(strategy, fraction of the blocks to train)`` for ``n_images``.

    >>> choose_strategy(100), choose_strategy(500), choose_strategy(1000)
    (('head', 0.0), ('top', 0.0), ('top', 0.5))

    A fraction 0 with "top" means the last block alone.
    """
    n = checks.positive_int("choose_strategy", "n_images", n_images)
    if n <= FEW:
        return "head", 0.0
    return ("top", 0.0) if n < MANY else ("top", 0.5)


# -- input adaptation -------------------------------------------------------------------
def resize_bilinear(x: np.ndarray, size) -> np.ndarray:
    """Images (N, H, W, C) resized to ``size`` (OH, OW), bilinear with half-pixel centres
    (TensorFlow's ``resize``, PyTorch's ``align_corners=False``; no antialiasing).

    >>> resize_bilinear(np.array([1.0, 3.0]).reshape(1, 1, 2, 1), (1, 4))[0, 0, :, 0].tolist()
    [1.0, 1.5, 2.5, 3.0]
    """
    x = np.asarray(x, np.float32)
    ah, aw = _lerp(x.shape[1], size[0]), _lerp(x.shape[2], size[1])
    y = np.einsum("oh,nhwc->nowc", ah, x)  # (N, OH, W, C)
    return np.einsum("pw,nowc->nopc", aw, y)  # (N, OH, OW, C)


def _lerp(n: int, m: int) -> np.ndarray:
    """The (m, n) matrix taking n samples to m, bilinear with half-pixel centres."""
    s = np.clip((np.arange(m) + 0.5) * n / m - 0.5, 0.0, n - 1)
    lo = np.floor(s).astype(np.intp)
    t = (s - lo).astype(np.float32)
    a = np.zeros((m, n), np.float32)
    np.add.at(a, (np.arange(m), lo), 1 - t)
    np.add.at(a, (np.arange(m), np.minimum(lo + 1, n - 1)), t)
    return a


def adapt_images(x, input_shape, where: str = "adapt_images", scale: float = 1 / 255
                 ) -> np.ndarray:
    """Images ``x`` made fit for a network with ``input_shape`` (H, W, C), as the notes say
    ("images of another size are simply resized to the network's input"): integer pixels
    multiplied by ``scale`` (1/255: to [0, 1], as the shipped models were trained; float
    images are taken as already scaled), grey repeated to RGB or RGB averaged to grey, then
    bilinear resizing.

    >>> adapt_images(np.full((2, 28, 28), 255, np.uint8), (32, 32, 3)).shape
    (2, 32, 32, 3)
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"{where}: images must be (N, H, W) or (N, H, W, C), received an array "
                         f"of shape {x.shape}")
    h, w, c = (int(d) for d in input_shape[-3:])
    scaled = x.astype(np.float32)
    if np.issubdtype(x.dtype, np.integer):
        scaled *= np.float32(scale)
    if scaled.shape[-1] != c:
        if scaled.shape[-1] == 1:
            scaled = np.repeat(scaled, c, axis=-1)
        elif c == 1 and scaled.shape[-1] in (3, 4):
            scaled = scaled[..., :3].mean(axis=-1, keepdims=True)
        else:
            raise ValueError(f"{where}: the network takes {c}-channel images, received "
                             f"{scaled.shape[-1]} channels (only 1 <-> 3 are converted)")
    if scaled.shape[1:3] != (h, w):
        scaled = resize_bilinear(scaled, (h, w))
    return scaled


# -- the network's parts ----------------------------------------------------------------
def takes_raw_pixels(base) -> bool:
    """Whether ``base`` rescales its input itself (its first layer is a ``Rescaling``, as in
    the models ``svertka train`` saves): it is then given pixels in 0-255, not [0, 1]."""
    from svertka.layers import Rescaling

    first = [n for n in base._nodes if n.parents and n.parents[0] is base.inputs[0]]
    return len(first) == 1 and isinstance(first[0].layer, Rescaling)


def default_cut(base) -> str:
    """The layer whose output are the features: the one feeding the final Dense (skipping a
    Dropout or Activation between them); LeNet-5's F6, a ResNet's global pooling."""
    from svertka.layers import Activation, Dense, Dropout

    node = base.outputs[0]
    if not isinstance(node.layer, Dense):
        raise ValueError(f"fine_tune: the base {base.name!r} does not end in a Dense "
                         f"classifier (its last layer is {node.layer.name!r}, a "
                         f"{type(node.layer).__name__}); name the feature layer with cut=...")
    node = node.parents[0]
    while node.layer is not None and isinstance(node.layer, (Dropout, Activation)):
        node = node.parents[0]
    if node.layer is None:
        raise ValueError(f"fine_tune: the base {base.name!r} is a single Dense layer; there "
                         f"is nothing to transfer")
    return node.layer.name


def feature_extractor(base, cut: str | None = None):
    """The base cut after layer ``cut`` (default: :func:`default_cut`): a model from the
    base's input to that layer's output, sharing the base's layers and weights."""
    from svertka.models import Model

    if len(base.inputs) != 1 or len(base.outputs) != 1:
        raise ValueError(f"fine_tune: the base must have one input and one output, received "
                         f"{len(base.inputs)} and {len(base.outputs)}")
    name = default_cut(base) if cut is None else cut
    nodes = [n for n in base._nodes if n.layer.name == name]
    if not nodes:
        raise ValueError(f"fine_tune: argument 'cut' must name a layer of {base.name!r} "
                         f"({[la.name for la in base.layers]}), received {cut!r}")
    if len(nodes) > 1:
        raise ValueError(f"fine_tune: layer {name!r} is used {len(nodes)} times in "
                         f"{base.name!r}; cut at a layer used once")
    return Model(base.inputs[0], nodes[0], name=f"{base.name}_features")


def blocks(model) -> list[list]:
    """The layers with weights, grouped into blocks, input to output: a residual block's
    layers share a name up to ``_block<k>``; a batch norm joins the layer before it."""
    from svertka.layers import BatchNormalization

    groups: list[list] = []
    keys: list[str] = []
    for layer in model.layers:
        if not layer.weights:
            continue
        m = re.match(r"^(.*_block\d+)_", layer.name)
        key = m.group(1) if m else layer.name
        if groups and (key == keys[-1] or (m is None and isinstance(layer, BatchNormalization))):
            groups[-1].append(layer)
        else:
            groups.append([layer])
            keys.append(key)
    return groups


# -- fine_tune --------------------------------------------------------------------------
def fine_tune(base, data, head_classes: int, *, cut: str | None = None, strategy: str = "auto",
              top_blocks: int | None = None, epochs: int | None = None, batch_size: int = 32,
              learning_rate: float = 1e-3, lowest_rate: float = 0.1, dropout: float = 0.0,
              gradual_unfreeze: bool = False, validation_data=None, seed: int = 0,
              verbose="auto") -> FineTuneResult:
    """Adapt ``base`` (a trained svertka model) to ``head_classes`` new classes.

    Args:
        base: the source network; its classifier is cut off at ``cut`` (a layer name;
            default :func:`default_cut`) and a new ``Dense(head_classes, softmax)`` (after
            ``Dropout(dropout)`` when non-zero) put in its place. Its weights are shared,
            not copied: fine-tuning changes ``base`` too (rebuild it to keep the original).
        data: ``(x, y)``: images (N, H, W[, C]) of any size and 1 or 3 channels, adapted by
            :func:`adapt_images`, and integer labels; or the path of an image tree (class
            folders, or ``train/`` and ``test/``; its test split becomes the validation data).
        strategy: "auto" (the notes' rule by the number of training images, see the module
            note), "head", "top", "all" or "scratch".
        top_blocks: with "top", how many of the network's last blocks train (default: the
            rule's: the last one, or the upper half from 1,000 images on).
        epochs: per run (default ``clip(ceil(300 / steps per epoch), 5, 50)``: about 300
            steps, at least 5 epochs). With ``gradual_unfreeze`` they are shared out over the
            stages, at least one each.
        learning_rate: Adam's rate for the new head; lower trained blocks get geometrically
            less, down to ``learning_rate * lowest_rate`` (uniform for "head" and "scratch").
        gradual_unfreeze: ULMFiT's order: the head alone first, then one block more per
            stage, top down, until the strategy's blocks all train.
        validation_data: ``(x, y)`` adapted as ``data``; reported as ``val_*`` per epoch.
        seed: seeds svertka's generators (head initialisation, shuffling).
    """
    from svertka.utils import set_random_seed

    if strategy not in STRATEGIES:
        raise ValueError(f"fine_tune: argument 'strategy' must be one of {STRATEGIES}, "
                         f"received {strategy!r}")
    head_classes = checks.positive_int("fine_tune", "head_classes", head_classes)
    batch_size = checks.positive_int("fine_tune", "batch_size", batch_size)
    learning_rate = checks.finite_float("fine_tune", "learning_rate", learning_rate, 0.0,
                                        low_open=True)
    lowest_rate = checks.finite_float("fine_tune", "lowest_rate", lowest_rate, 0.0, 1.0,
                                      low_open=True)
    gradual_unfreeze = checks.flag("fine_tune", "gradual_unfreeze", gradual_unfreeze)
    if not hasattr(base, "_nodes") or not base.inputs:
        raise TypeError(f"fine_tune: argument 'base' must be a built svertka model, received "
                        f"{base!r}")
    if gradual_unfreeze and strategy == "scratch":
        raise ValueError("fine_tune: gradual_unfreeze=True unfreezes a trained network; "
                         "strategy 'scratch' has none")
    set_random_seed(checks.non_negative_int("fine_tune", "seed", seed))
    features = feature_extractor(base, cut)
    shape = base.input_shape[1:]
    scale = 1.0 if takes_raw_pixels(base) else 1 / 255
    (x, y), validation_data = _load(data, validation_data, shape, scale)
    y = _labels(y, len(x), head_classes, "data")
    if validation_data is not None:
        xv, yv = validation_data
        validation_data = (adapt_images(xv, shape, "fine_tune", scale),
                           _labels(yv, len(xv), head_classes, "validation_data"))
    if epochs is None:
        epochs = int(np.clip(math.ceil(300 / math.ceil(len(x) / batch_size)), 5, 50))
    epochs = checks.positive_int("fine_tune", "epochs", epochs)

    groups = blocks(features)
    if strategy == "auto":
        strategy, fraction = choose_strategy(len(x))
        if strategy == "top" and top_blocks is None:
            top_blocks = max(1, math.ceil(fraction * len(groups)))
    if strategy == "scratch":
        from svertka.models.architecture import model_from_config, model_spec

        features = model_from_config(model_spec(features))  # same layers, fresh weights
        groups = blocks(features)
    n_train = {"head": 0, "all": len(groups), "scratch": len(groups)}.get(strategy)
    if n_train is None:  # "top"
        n_train = 1 if top_blocks is None else checks.integer(
            "fine_tune", "top_blocks", top_blocks, 1, len(groups))
    elif top_blocks is not None:
        raise ValueError(f"fine_tune: argument 'top_blocks' goes with strategy 'top', "
                         f"received strategy={strategy!r}")

    model, head = _with_head(features, head_classes, dropout)
    fit = {"batch_size": batch_size, "verbose": verbose}
    history: dict[str, list] = {}
    stages = list(range(n_train + 1)) if gradual_unfreeze else [n_train]
    lowest = 1.0 if strategy == "scratch" else lowest_rate
    for n_blocks, stage_epochs in zip(stages, _share(epochs, len(stages))):
        trained = [*groups[len(groups) - n_blocks:], head]
        for layer in (la for g in groups for la in g):
            layer.trainable = any(layer is t for g in trained for t in g)
        part, prefix = model, None
        if n_blocks < len(groups):
            part, prefix = _split(model, trained[0][0])
        xs, val = x, validation_data
        if prefix is not None:  # the frozen part's outputs, computed once
            xs = prefix.predict(x, batch_size=256)
            if val is not None:
                val = (prefix.predict(val[0], batch_size=256), val[1])
        rates = _compile(part, trained, learning_rate, lowest)
        h = part.fit(xs, y, epochs=stage_epochs, validation_data=val, **fit)
        for key, values in h.history.items():
            history.setdefault(key, []).extend(values)
    if part is not model:
        _compile(model, trained, learning_rate, lowest)
    frozen = [la.name for g in groups for la in g if not la.trainable]
    return FineTuneResult(model, history, strategy, frozen, list(rates), rates, scale)


def _with_head(features, classes: int, dropout: float):
    """(the whole model, the new head's layers) with the head on the features."""
    from svertka.layers import Dense, Dropout, Flatten
    from svertka.models import Model

    head = [Flatten(name="new_head_flatten")] if len(features.output_shape) > 2 else []
    if dropout:
        head.append(Dropout(dropout, name="new_head_dropout"))
    head.append(Dense(classes, activation="softmax", name="new_head"))
    t = features.outputs[0]
    for layer in head:
        t = layer(t)
    return Model(features.inputs[0], t, name="fine_tuned"), head


def _split(model, first):
    """(the part of ``model`` from layer ``first`` on, the part before it) when the frozen
    layers before ``first`` feed it through one tensor and run the same in training as at
    inference; else (``model``, None). The part before then gives the same outputs every
    epoch: computed once, they spare each epoch a forward pass through it."""
    from svertka.layers import Dropout, Input, Lambda
    from svertka.models import Model

    node = next(n for n in model._nodes if n.layer is first)
    if len(node.parents) != 1 or node.parents[0].layer is None:
        return model, None
    boundary = node.parents[0]
    before, stack = set(), [boundary]
    while stack:
        n = stack.pop()
        if id(n) not in before:
            before.add(id(n))
            stack.extend(n.parents)
    prefix = Model(model.inputs[0], boundary, name="frozen_part")
    if any(isinstance(la, (Dropout, Lambda)) or la.trainable_weights for la in prefix.layers):
        return model, None
    values = {id(boundary): Input(boundary.shape[1:])}
    for n in model._nodes:
        if id(n) in before:
            continue
        if any(id(p) not in values for p in n.parents):  # a path around the boundary
            return model, None
        args = [values[id(p)] for p in n.parents]
        values[id(n)] = n.layer(args if n.many else args[0])
    part = Model(values[id(boundary)], values[id(model.outputs[0])], name="trained_part")
    return part, prefix


def _load(data, validation_data, shape, scale):
    if isinstance(data, (str, os.PathLike)):
        from svertka.datasets import image_dataset

        if not Path(data).exists():
            raise ValueError(f"fine_tune: argument 'data' is a path that does not exist: "
                             f"{data}")
        h, w, c = shape
        (x, y), test, _ = image_dataset(data, image_size=(h, w),
                                        color_mode="grayscale" if c == 1 else "rgb")
        if validation_data is None and len(test[0]):
            validation_data = test
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    else:
        raise TypeError(f"fine_tune: argument 'data' must be (x, y) or the path of an image "
                        f"tree, received {type(data).__name__}")
    if len(x) == 0:
        raise ValueError("fine_tune: argument 'data' holds no images")
    return (adapt_images(x, shape, "fine_tune", scale), y), validation_data


def _labels(y, n: int, classes: int, arg: str) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if len(y) != n or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"fine_tune: argument '{arg}' must pair {n} images with {n} integer "
                         f"labels, received {len(y)} labels of dtype {y.dtype}")
    if y.min() < 0 or y.max() >= classes:
        raise ValueError(f"fine_tune: the labels of '{arg}' must lie in [0, head_classes = "
                         f"{classes}), received labels from {y.min()} to {y.max()}")
    return y


def _share(epochs: int, stages: int) -> list[int]:
    """``epochs`` over ``stages`` as evenly as may be, later stages first, at least 1 each."""
    base, extra = divmod(epochs, stages)
    return [max(1, base + (i >= stages - extra)) for i in range(stages)]


def _compile(model, trained: list[list], learning_rate: float, lowest: float
             ) -> dict[str, float]:
    """Compile ``model`` with Adam, each block of ``trained`` (input to output, the head
    last) at a rate growing geometrically from ``learning_rate * lowest`` to
    ``learning_rate``; returns each trained layer's rate."""
    from svertka import optimizers
    from svertka.optimizers.layer_rates import spread

    rates = {la.name: r for g, r in zip(trained, spread(learning_rate * lowest, learning_rate,
                                                          len(trained)))
             for la in g if la.weights}
    schedule = optimizers.LayerRates(learning_rate, multipliers={
        name: r / learning_rate for name, r in rates.items()})
    model.compile(optimizer=optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return rates
