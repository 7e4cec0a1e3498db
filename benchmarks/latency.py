"""The ``latency`` case: one image through the notes' model and the zoo's ResNet-20.

What an application that predicts one image at a time waits for (character recognition, a
live web page): svertka's ``predict(x)``, ``model(x)`` under ``svertka.no_grad()`` and a
plain ``model(x)`` with gradients on, each against PyTorch's network in eval mode:

- ``predict(x)``: PyTorch's forward and softmax under ``torch.inference_mode``, the result
  as a NumPy array (``predict`` returns one);
- ``model(x)``, no_grad: the same forward and softmax, as a tensor;
- ``model(x)``, gradients on: PyTorch's forward and softmax with autograd on (both record
  what a backward pass would need; neither is asked for one).

x is one image as each library takes it: svertka a (1, H, W, C) float32 array, PyTorch a
(1, C, H, W) tensor made once, outside the timed calls. The notes' model (28x28x1) gets the
last digit of the MNIST sample inside svertka, ResNet-20 (32x32x3) a random image in
[0, 1) from seed 0 (the values do not change the work); each pair of networks first shows
that it agrees (class probabilities within ``cases.AGREE_PROB``). PyTorch runs with as many
intra-op threads as svertka has (``svertka.parallel.threads()``), restored afterwards. No
Keras column: ResNet-20 has no Keras twin here, and Keras's batch-1 figure for the notes'
model is the ``infer1`` case's.

Timing (``timing.block_times``): ``10 * repeats`` timed calls per library and row (200 by
default), in rounds of ``PER_ROUND`` calls per library, each library's block after a settle
pause and an untimed call, the libraries alternating block by block; the table gives the
medians. A call lasts 0.3-30 ms, so one slow moment of a busy machine moves a few calls,
not the median; how far the rounds disagree is in the notes: the range of the per-round
ratios of medians, svertka/PyTorch, for each row.
"""

from __future__ import annotations

import statistics

import numpy as np

import cases
import models
import steps
import svertka
import zoo_models
from report import Result, Row
from timing import block_times

PER_ROUND = 10
ROWS = ("predict(x)", "model(x), no_grad", "model(x), gradients on")


def _svertka_calls(model, x: np.ndarray) -> dict:
    def plain():
        return model(x).data

    def inference():
        with svertka.no_grad():
            return model(x).data

    return {ROWS[0]: lambda: model.predict(x), ROWS[1]: inference, ROWS[2]: plain}


def _torch_calls(net, x: np.ndarray) -> dict:
    import torch

    tx = steps.to_torch(x)
    net.eval()

    def predict():
        with torch.inference_mode():
            return torch.softmax(net(tx), 1).numpy()

    def inference():
        with torch.inference_mode():
            return torch.softmax(net(tx), 1)

    def plain():
        return torch.softmax(net(tx), 1)

    return {ROWS[0]: predict, ROWS[1]: inference, ROWS[2]: plain}


def _networks(libs) -> dict:
    """``{title: ({library: network}, x, a note)}`` for the two models."""
    x = cases._digits()[0][-1:]
    nets = models.twins("notes", libs)
    if "torch" in nets:
        p_theirs = _torch_calls(nets["torch"], x)[ROWS[0]]()
        with svertka.no_grad():
            p_ours = np.asarray(nets["svertka"](x).data)
        diff = float(np.abs(p_ours - p_theirs).max())
        if not diff < cases.AGREE_PROB:
            raise AssertionError(f"notes: svertka and PyTorch disagree on the digit: max "
                                 f"|probability difference| {diff:.3g}")
        agree = f"twins agree (max |dp| {diff:.1e})"
    else:
        agree = "no twin built, nothing compared"
    x20 = cases._images(1, 32)
    nets20, agree20 = cases._twins("resnet20", zoo_models.resnet20_svertka(), libs, x20)
    return {
        "notes": (nets, x, f"notes' model (28x28x1), an MNIST sample digit; {agree}"),
        "resnet20": (nets20, x20, f"ResNet-20 (32x32x3), a random image; {agree20}"),
    }


def _round_ratios(ours: list, theirs: list, per_round: int) -> list:
    """svertka/PyTorch of the medians of each round's timed calls."""
    return [
        statistics.median(ours[i : i + per_round]) / statistics.median(theirs[i : i + per_round])
        for i in range(0, min(len(ours), len(theirs)), per_round)
    ]


def run(libs, repeats: int, quick: bool = False) -> Result:
    """Median milliseconds per batch-1 call of each library, one row per model and call."""
    import torch

    libs = [lib for lib in libs if lib in ("svertka", "torch")]
    calls = 10 * repeats
    threads = torch.get_num_threads()
    torch.set_num_threads(svertka.parallel.threads())
    rows, notes, times_s = [], [], {}
    try:
        for family, (nets, x, note) in _networks(libs).items():
            notes.append(note)
            fns = {"svertka": _svertka_calls(nets["svertka"], x)}
            if "torch" in libs:
                fns["torch"] = _torch_calls(nets["torch"], x)
            for row in ROWS:
                times = block_times({lib: f[row] for lib, f in fns.items()}, calls, PER_ROUND,
                                    warmup=10)
                label = f"{family}: {row}"
                times_s[label] = times
                rows.append(Row(label + " ms",
                                {lib: statistics.median(t) * 1e3 for lib, t in times.items()},
                                "{:.3f}", headline=True))
                if "torch" in times:
                    r = _round_ratios(times["svertka"], times["torch"], PER_ROUND)
                    notes.append(f"{label}: svertka/PyTorch per round of {PER_ROUND} calls "
                                 f"{min(r):.2f}-{max(r):.2f} (median {statistics.median(r):.2f})")
    finally:
        torch.set_num_threads(threads)
    count = svertka.parallel.threads()
    notes.append(f"median of {calls} timed calls per library and row, in rounds of "
                 f"{PER_ROUND} after a settle pause"
                 + (f"; PyTorch on {count} intra-op thread{'s' * (count > 1)}, as svertka"
                    if "torch" in libs else "")
                 + ("; QUICK RUN" if quick else ""))
    return Result("latency", "one image (batch 1): predict and model(x)", rows, notes,
                  extra={"times_s": times_s})
