"""The step cases: one call timed over and over, every library on the same batch.

- ``train32``, ``train128``: one training step of the notes' model (adam, categorical
  cross-entropy) at batch 32 and 128, on real digits (the MNIST sample inside svertka).
- ``infer1``, ``infer1000``: the notes' model's class probabilities for 1 and 1,000 digits.
- ``resnet``: one training step of the small CIFAR-10 ResNet of ``models.py`` at batch 32, on
  the first CIFAR-10 training images (random images when CIFAR-10 is not found; the first
  load decodes the JPEG archive and caches it, about 15 s).

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
from report import Result, Row
from svertka.utils import to_categorical
from timing import block_times, medians

Builder = Callable[[Sequence[str]], tuple[dict[str, Callable[[], object]], str]]


@dataclass(frozen=True)
class StepCase:
    name: str
    title: str
    build: Builder  # libraries -> ({library: call}, a note on the data)


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
    def build(libs):
        x, y = _digits()
        x, y = x[:batch], y[:batch]
        nets = models.twins("notes", libs)
        return {lib: steps.train_step(lib, m, x, y) for lib, m in nets.items()}, (
            "MNIST sample digits"
        )

    return build


def notes_infer(batch: int) -> Builder:
    def build(libs):
        x = _digits()[0][-batch:]
        return {lib: steps.infer(lib, m, x) for lib, m in models.twins("notes", libs).items()}, (
            "MNIST sample digits"
        )

    return build


def resnet_train(batch: int) -> Builder:
    def build(libs):
        x, y, source = _cifar(batch)
        nets = models.twins("resnet", libs)
        return {lib: steps.train_step(lib, net, x, y) for lib, net in nets.items()}, source

    return build


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
    )
}


def run(name: str, libs: Sequence[str], repeats: int, per_round: int = 5) -> Result:
    """Median milliseconds per call of each library in case ``name``."""
    case = CASES[name]
    fns, source = case.build(libs)
    times = block_times(fns, repeats, per_round)
    ms = {lib: t * 1e3 for lib, t in medians(times).items()}
    note = (
        f"{source}; median of {repeats} timed calls per library, "
        f"in rounds of {per_round} after a settle pause"
    )
    return Result(
        name, case.title, [Row("median ms", ms, headline=True)], [note], extra={"times_s": times}
    )
