"""The notes' functional CIFAR-10 program (``examples/notes_cifar10_functional.py``, seed 000):
one training step of its network in svertka (``svertka.ops`` over six weight Tensors, Adam)
and of the same network, weights and Adam in PyTorch, on the same 50 CIFAR-10 images, timed
in alternating blocks (``timing.py``) so that both meet the same load on the machine. An
epoch is 1,000 such steps (50,000 images in batches of 50): the time per epoch given is the
median step times 1,000.

    python benchmarks/notes_functional.py [--repeats 30]

Random images stand in when CIFAR-10 is not found (the values do not change the work).
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import notes_cifar10_functional as notes  # noqa: E402

import svertka  # noqa: E402
from svertka.parallel import region  # noqa: E402
from timing import block_times, medians  # noqa: E402


def batch():
    """The first 50 CIFAR-10 training images as the example reads them, with one-hot labels."""
    try:
        (x, y), _ = notes.load(notes.BatchSize)
        return x, y, "the first 50 CIFAR-10 training images"
    except Exception as e:  # noqa: BLE001 - no data set here: the work is the same
        rng = np.random.default_rng(0)
        x = rng.random((notes.BatchSize, 32, 32, 3), dtype=np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, notes.BatchSize)]
        return x, y, f"random images ({type(e).__name__}: CIFAR-10 not found)"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed steps per library")
    args = parser.parse_args(argv)
    import torch

    x, y, what = batch()
    threads = svertka.parallel.threads()
    params = notes.init_weights(0)
    optimizer = svertka.optimizers.Adam(learning_rate=notes.LearningRate, epsilon=1e-8,
                                        weight_decay=notes.L2Regularization)
    xs = svertka.Tensor(x)

    def svertka_step():
        with region():
            for p in params:
                p.grad = None
            loss = notes.loss_function(xs, y)
            loss.backward()
            optimizer.apply_gradients(params)
            return loss.item()

    torch_step, _ = notes.torch_twin(0, threads)
    notes.init_weights(0)  # torch_twin drew the same weights again: svertka's start equal
    params[:] = [notes.cnn_weight, notes.cnn_bias, notes.affine_weight, notes.affine_bias,
                 notes.affine_last_weight, notes.affine_last_bias]
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    first = (svertka_step(), torch_step(xt, yt))
    times = medians(block_times({"svertka": svertka_step,
                                 "torch": lambda: torch_step(xt, yt)}, args.repeats))
    print(f"{platform.processor() or platform.machine()}, {threads} threads; batch 50 "
          f"({what}); first losses {first[0]:.6f} (svertka), {first[1]:.6f} (PyTorch "
          f"{torch.__version__})")
    print("| library | step (ms) | epoch of 1,000 steps (s) |")
    print("|---|---:|---:|")
    for name in ("svertka", "torch"):
        print(f"| {name} | {times[name] * 1e3:.1f} | {times[name] * 1e3:.0f} |")
    print(f"svertka / PyTorch: {times['svertka'] / times['torch']:.2f}")


if __name__ == "__main__":
    main()
