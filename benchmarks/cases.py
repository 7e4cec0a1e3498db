"""The step cases: one call timed over and over, every library on the same batch.

- ``train32``, ``train128``: one training step of the notes' model (adam, categorical
  cross-entropy) at batch 32 and 128, on real digits (the MNIST sample inside svertka).
- ``infer1``, ``infer1000``: the notes' model's class probabilities for 1 and 1,000 digits.
- ``resnet``: one training step of the small CIFAR-10 ResNet of ``models.py`` at batch 32, on
  the first CIFAR-10 training images (random images when CIFAR-10 is not found; the first
  load decodes the JPEG archive and caches it, about 15 s).
- ``resnet20``: one training step of ``svertka.zoo.resnet20()`` (SGD, learning rate 0.1,
  momentum 0.9; categorical cross-entropy) at batch 128 on the first CIFAR-10 training
  images, against a PyTorch ResNet-20 with option-A shortcuts (``zoo_models.py``).
- ``resnet50_1``, ``resnet50_16``: class probabilities of ``svertka.zoo.resnet50()`` at
  224x224 for 1 and 16 images, against torchvision's ResNet-50 written out.
- ``vgg16_1``, ``vgg16_16``: the same for ``svertka.zoo.vgg16()`` (138M parameters).
- ``separable``: one training step (adam) of four MobileNet-style blocks (DepthwiseConv2D
  3x3 + BN + ReLU, 1x1 Conv2D + BN + ReLU) at 56x56x64 and 28x28x128, batch 16, on random
  activations; skipped, with a note, while ``svertka.layers.DepthwiseConv2D`` cannot be
  imported.

The inference cases of the zoo run on random images in [0, 1) drawn from seed 0 (not
CIFAR-10 upscaled: the values do not change the work), the separable case on random values
from seed 0. The zoo cases have PyTorch twins only (their Keras column shows "-"). Before
any timing, each zoo case checks that svertka's network and its twin agree: the largest
difference of their class probabilities on the case's batch must be below ``AGREE_PROB``
and that of their logits, relative to the largest logit, below ``AGREE_LOGIT`` (an untrained
deep network's probabilities are often all but one-hot, which hides differences), in
inference mode and, for the training cases, in training mode too (batch statistics); the
case fails otherwise, and its table notes the figures. (Losses are not compared: svertka's
categorical cross-entropy clips probabilities at 1e-7 as Keras's does, PyTorch's works on
logits, so they differ where a probability is that small, as at initialisation here.)
``--quick`` runs them smaller (``QUICK``: ResNet-50 on 64x64 images, VGG-16 on 32x32,
ResNet-20 at batch 32, the separable blocks on 28x28 at batch 4), which its note says.

Each case builds, per library, a no-argument function; :func:`run` times them as
``timing.py`` describes, and ``memory.py`` builds one library's alone in a fresh process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import models
import steps
import zoo_models
from libs import LIBS
from report import Result, Row
from svertka.utils import to_categorical
from timing import block_times, medians

Builder = Callable[..., tuple[dict[str, Callable[[], object]], str]]

AGREE_PROB = 1e-4  # largest |difference| of twin class probabilities
AGREE_LOGIT = 1e-4  # largest |difference| of twin logits, relative to the largest logit
QUICK = {"resnet20": 32, "resnet50": 64, "vgg16": 32, "separable": (28, 4)}


@dataclass(frozen=True)
class StepCase:
    name: str
    title: str
    build: Builder  # (libraries, quick) -> ({library: call}, a note on the data)
    libs: tuple[str, ...] = LIBS  # the libraries the case has a network for
    max_repeats: int | None = None  # a cap on the timed calls (the slowest cases)
    warmup: int = 3  # untimed calls per library before the timed ones


@functools.cache
def _digits():
    from svertka.datasets import mnist

    (x, y), _ = mnist.load_sample()
    return (x[..., None] / np.float32(255)).astype(np.float32), to_categorical(y, 10)


@functools.cache
def _cifar(n: int):
    """The first ``n`` CIFAR-10 training images as float32 in [0, 1], one-hot labels, and
    where they came from."""
    from svertka.datasets import cifar10
    from svertka.datasets.sources import DatasetNotFoundError

    try:
        (x, y), _ = cifar10.load_data(download=False)
        source = "the first CIFAR-10 training images"
    except DatasetNotFoundError:
        rng = np.random.default_rng(0)
        x, y = rng.integers(0, 256, (n, 32, 32, 3), np.uint8), rng.integers(0, 10, n)
        source = "random images (CIFAR-10 not found)"
    return (x[:n] / np.float32(255)).astype(np.float32), to_categorical(y[:n], 10), source


def notes_train(batch: int) -> Builder:
    def build(libs, quick=False):
        x, y = _digits()
        x, y = x[:batch], y[:batch]
        nets = models.twins("notes", libs)
        return {lib: steps.train_step(lib, m, x, y) for lib, m in nets.items()}, (
            "MNIST sample digits"
        )

    return build


def notes_infer(batch: int) -> Builder:
    def build(libs, quick=False):
        x = _digits()[0][-batch:]
        return {lib: steps.infer(lib, m, x) for lib, m in models.twins("notes", libs).items()}, (
            "MNIST sample digits"
        )

    return build


def resnet_train(batch: int) -> Builder:
    def build(libs, quick=False):
        x, y, source = _cifar(batch)
        nets = models.twins("resnet", libs)
        return {lib: steps.train_step(lib, net, x, y) for lib, net in nets.items()}, source

    return build


@functools.cache
def _images(n: int, side: int, channels: int = 3) -> np.ndarray:
    """``n`` random (side, side, channels) images in [0, 1), float32, from seed 0."""
    return np.random.default_rng(0).random((n, side, side, channels), np.float32)


def _twins(family: str, ours, libs, x: np.ndarray, training: bool = False) -> tuple[dict, str]:
    """``{library: model}`` with PyTorch's twin of ``ours`` where asked for, and a note on
    how closely it agrees with ours on ``x``: in inference mode and, with ``training``, in
    training mode too (it must, to ``AGREE_PROB``)."""
    nets = {"svertka": ours}
    if "torch" not in libs:
        return nets, "no twin built, nothing compared"
    nets["torch"] = net = zoo_models.TWINS[family](ours)
    notes = []
    for mode in (False, True) if training else (False,):
        prob, logit = zoo_models.twin_diffs(ours, net, x, training=mode)
        what = "training" if mode else "inference"
        if not (prob < AGREE_PROB and logit < AGREE_LOGIT):  # also catches NaN
            raise AssertionError(
                f"{family}: svertka and its PyTorch twin disagree in {what} mode on the "
                f"case's batch: max |probability difference| {prob:.3g} (limit "
                f"{AGREE_PROB:g}), max |logit difference| / max |logit| {logit:.3g} (limit "
                f"{AGREE_LOGIT:g})"
            )
        notes.append(f"{what}: max |dp| {prob:.1e}, max |dlogit|/max |logit| {logit:.1e}")
    return nets, f"twins agree ({'; '.join(notes)})"


def _quick_note(quick: bool, what: str) -> str:
    return f"; QUICK RUN: {what}" if quick else ""


def resnet20_train(batch: int) -> Builder:
    def build(libs, quick=False):
        n = QUICK["resnet20"] if quick else batch
        x, y, source = _cifar(n)
        nets, agree = _twins("resnet20", zoo_models.resnet20_svertka(), libs, x, True)
        fns = {lib: steps.train_step(lib, net, x, y, "sgd") for lib, net in nets.items()}
        return fns, (f"{source}; {agree}" + _quick_note(quick, f"batch {n}, not {batch}"))

    return build


ZOO_INFER = {"resnet50": zoo_models.resnet50_svertka, "vgg16": zoo_models.vgg16_svertka}


def zoo_infer(family: str, batch: int, image: int = 224) -> Builder:
    def build(libs, quick=False):
        side = QUICK[family] if quick else image
        x = _images(batch, side)
        ours = ZOO_INFER[family](side)
        nets, agree = _twins(family, ours, libs, x)
        return {lib: steps.infer(lib, net, x) for lib, net in nets.items()}, (
            f"random images in [0, 1) from seed 0; {agree}"
            + _quick_note(quick, f"{side}x{side} images, not {image}x{image}")
        )

    return build


def separable_train(batch: int, side: int = 56) -> Builder:
    def build(libs, quick=False):
        s, n = QUICK["separable"] if quick else (side, batch)
        x = _images(n, s, zoo_models.SEPARABLE_INPUT[2])
        y = to_categorical(np.random.default_rng(0).integers(0, 10, n), 10)
        nets, agree = _twins("separable", zoo_models.separable_svertka(s), libs, x, True)
        fns = {lib: steps.train_step(lib, net, x, y) for lib, net in nets.items()}
        return fns, (
            f"random activations in [0, 1) and labels from seed 0; {agree}"
            + _quick_note(quick, f"{s}x{s}x64 inputs at batch {n}, not {side}x{side} at {batch}")
        )

    return build


TWINNED = ("svertka", "torch")  # the zoo cases: PyTorch twins only

CASES = {
    c.name: c
    for c in (
        StepCase("train32", "notes model, training step, batch 32", notes_train(32)),
        StepCase("train128", "notes model, training step, batch 128", notes_train(128)),
        StepCase("infer1", "notes model, inference, batch 1", notes_infer(1)),
        StepCase("infer1000", "notes model, inference, batch 1,000", notes_infer(1000)),
        StepCase(
            "resnet",
            "CIFAR-10 ResNet blocks (20k params), training step, batch 32",
            resnet_train(32),
        ),
        StepCase(
            "resnet20",
            "zoo ResNet-20 (0.27M params), training step (SGD momentum 0.9), batch 128",
            resnet20_train(128),
            TWINNED,
        ),
        StepCase(
            "resnet50_1",
            "zoo ResNet-50 (25.6M params), inference 224x224, batch 1",
            zoo_infer("resnet50", 1),
            TWINNED,
        ),
        StepCase(
            "resnet50_16",
            "zoo ResNet-50 (25.6M params), inference 224x224, batch 16",
            zoo_infer("resnet50", 16),
            TWINNED,
            max_repeats=10,
            warmup=1,
        ),
        StepCase(
            "vgg16_1",
            "zoo VGG-16 (138M params), inference 224x224, batch 1",
            zoo_infer("vgg16", 1),
            TWINNED,
        ),
        StepCase(
            "vgg16_16",
            "zoo VGG-16 (138M params), inference 224x224, batch 16",
            zoo_infer("vgg16", 16),
            TWINNED,
            max_repeats=10,
            warmup=1,
        ),
        StepCase(
            "separable",
            "MobileNet-style depthwise-separable blocks, training step, batch 16",
            separable_train(16),
            TWINNED,
        ),
    )
}


def run(
    name: str, libs: Sequence[str], repeats: int, per_round: int = 5, quick: bool = False
) -> Result:
    """Median milliseconds per call of each library in case ``name``."""
    case = CASES[name]
    notes = [f"no {lib} network in this case" for lib in libs if lib not in case.libs]
    libs = [lib for lib in libs if lib in case.libs]
    fns, source = case.build(libs, quick)
    repeats = min(repeats, case.max_repeats or repeats)
    times = block_times(fns, repeats, per_round, warmup=case.warmup)
    ms = {lib: t * 1e3 for lib, t in medians(times).items()}
    note = (
        f"{source}; median of {repeats} timed calls per library, "
        f"in rounds of {per_round} after a settle pause"
    )
    return Result(
        name,
        case.title,
        [Row("median ms", ms, headline=True)],
        [note, *notes],
        extra={"times_s": times},
    )
