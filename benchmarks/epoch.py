"""The ``epoch`` case: the notes' MNIST program, epoch by epoch, in the three libraries.

svertka and Keras run the notes' program as written (``examples/notes_mnist.py``): images
divided by 255 (float64, as the program leaves them), ``fit(x_train, y_train_cat,
batch_size=32, epochs=E, validation_split=0.2, verbose=0)`` (the last 12,000 images validate,
the first 48,000 are shuffled each epoch), then ``evaluate`` on the 10,000 test images.
PyTorch runs the equivalent eager loop: the same split, the 48,000 shuffled each epoch,
batches of 32, Adam (lr 1e-3, eps 1e-7), cross-entropy, running loss and accuracy as Keras
keeps them, a validation pass at the end of each epoch and a test pass at the end, all on the
same images (as float32, channels-first). All three start from svertka's initial weights.

An epoch's time runs from its start to the end of its validation pass (``on_epoch_begin`` to
``on_epoch_end`` for svertka and Keras). With E > 1 the table's "s/epoch" is the median of
epochs 2..E for every library, because Keras traces its graphs during the first epoch; the
first epoch is shown on its own line. The libraries run one after another (an epoch is long
enough for alternating to matter little) with a settle pause between them.

Data: full MNIST from ``svertka.datasets.mnist.load_data`` (``$SVERTKA_DATA/mnist``), never
downloaded here; without it, the 6,000/1,000-image sample inside svertka, and the title says
so. ``quick`` trains on the first 6,000 images and tests on 1,000.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import models
from libs import keras
from report import Result, Row
from svertka.utils import to_categorical
from timing import settle


def load(quick: bool):
    """``(x_train, y_train_cat), (x_test, y_test_cat), source`` as the notes' program has them."""
    from svertka.datasets import mnist
    from svertka.datasets.sources import DatasetNotFoundError

    try:
        (x_train, y_train), (x_test, y_test) = mnist.load_data(download=False)
        source = "full MNIST"
    except DatasetNotFoundError:
        (x_train, y_train), (x_test, y_test) = mnist.load_sample()
        source = "the MNIST sample in svertka (full MNIST not found)"
    if quick:
        x_train, y_train = x_train[:6000], y_train[:6000]
        x_test, y_test = x_test[:1000], y_test[:1000]
        source += ", quick subset"
    x_train = np.expand_dims(x_train / 255, axis=3)
    x_test = np.expand_dims(x_test / 255, axis=3)
    source += f": {len(x_train)} training (20% validate), {len(x_test)} test images"
    return ((x_train, to_categorical(y_train, 10)), (x_test, to_categorical(y_test, 10)), source)


def _epoch_timer(base):
    """A callback class deriving from ``base`` that records each epoch's seconds."""

    class EpochTimer(base):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    return EpochTimer()


def _keras_program(model, callback_base, train, test, epochs: int) -> dict:
    """svertka's or Keras's ``fit`` and ``evaluate`` as the notes' program calls them."""
    timer = _epoch_timer(callback_base)
    start = time.perf_counter()
    his = model.fit(
        *train, batch_size=32, epochs=epochs, validation_split=0.2, verbose=0, callbacks=[timer]
    )
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    _, accuracy = model.evaluate(*test, verbose=0)
    return {
        "epoch_s": timer.seconds,
        "fit_s": fit_s,
        "test_s": time.perf_counter() - start,
        "test_accuracy": float(accuracy),
        "val_accuracy": float(his.history["val_accuracy"][-1]),
    }


def _torch_program(net, train, test, epochs: int) -> dict:
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)

    def tensors(x, y):
        x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32))
        return x, torch.from_numpy(y.argmax(1))

    x, y = tensors(*train)
    split = int(len(x) * 0.8)
    x_fit, y_fit, x_val, y_val = x[:split], y[:split], x[split:], y[split:]

    def evaluate(x, y):
        net.eval()
        loss_sum, correct = 0.0, 0
        with torch.inference_mode():
            for i in range(0, len(x), 32):
                out, yb = net(x[i : i + 32]), y[i : i + 32]
                loss_sum += F.cross_entropy(out, yb).item() * len(yb)
                correct += (out.argmax(1) == yb).sum().item()
        return loss_sum / len(x), correct / len(x)

    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    seconds = []
    start_fit = time.perf_counter()
    for _ in range(epochs):
        start = time.perf_counter()
        net.train()
        order = torch.randperm(split)
        loss_sum, correct = 0.0, 0
        for i in range(0, split, 32):
            idx = order[i : i + 32]
            xb, yb = x_fit[idx], y_fit[idx]
            opt.zero_grad()
            out = net(xb)
            loss = F.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        _, val_accuracy = evaluate(x_val, y_val)
        seconds.append(time.perf_counter() - start)
    fit_s = time.perf_counter() - start_fit
    start = time.perf_counter()
    _, accuracy = evaluate(*tensors(*test))
    return {
        "epoch_s": seconds,
        "fit_s": fit_s,
        "test_s": time.perf_counter() - start,
        "test_accuracy": accuracy,
        "val_accuracy": val_accuracy,
    }


def run(libs, epochs: int, quick: bool = False, log=print) -> Result:
    """Seconds per epoch and test accuracy of the notes' program in each library."""
    import svertka

    train, test, source = load(quick)
    nets = models.twins("notes", libs)  # before svertka's fit changes the weights
    figures = {}
    for lib in libs:
        settle(1.0)
        log(f"  epoch case: {lib}, {epochs} epoch(s) ...")
        if lib == "torch":
            figures[lib] = _torch_program(nets[lib], train, test, epochs)
            continue
        if lib == "keras":
            keras().utils.set_random_seed(0)
        base = keras().callbacks.Callback if lib == "keras" else svertka.callbacks.Callback
        figures[lib] = _keras_program(nets[lib], base, train, test, epochs)

    def col(key, f=lambda v: v):
        return {lib: f(fig[key]) for lib, fig in figures.items()}

    if epochs > 1:
        per_epoch = Row(
            "s/epoch, median of epochs 2..E",
            col("epoch_s", lambda s: statistics.median(s[1:])),
            headline=True,
        )
        rows = [per_epoch, Row("first epoch s", col("epoch_s", lambda s: s[0]))]
    else:
        rows = [Row("s/epoch (one epoch)", col("epoch_s", lambda s: s[0]), headline=True)]
    rows += [
        Row("fit total s", col("fit_s")),
        Row("test evaluate s", col("test_s")),
        Row("final val accuracy %", col("val_accuracy", lambda a: 100 * a), ratio=False),
        Row("test accuracy %", col("test_accuracy", lambda a: 100 * a), ratio=False, headline=True),
    ]
    notes = [
        f"{source}; {epochs} epoch(s), batch 32, same initial weights, libraries one after another"
    ]
    return Result(
        "epoch", f"the notes' MNIST program, {epochs} epoch(s)", rows, notes, extra=figures
    )
