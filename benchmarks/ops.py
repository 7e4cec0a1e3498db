"""conv2d and max_pool2d forward+backward at the notes' MNIST model shapes (SPEC §7), vs PyTorch.

Both libraries run in this one process on the same data, alternating, after a warm-up; we print
the median time of each and the ratio svertka/PyTorch (below 1.0 means svertka is faster).
PyTorch runs in its native channels-first layout, svertka in channels-last.

    python benchmarks/ops.py [--batch 32] [--repeats 30]
"""

from __future__ import annotations

import argparse

import numpy as np

import svertka
from svertka import ops
from timing import median_times


def cases(batch: int):
    """(name, svertka step, torch step) at the shapes of the notes' model."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    out = []
    for name, (h, c_in, c_out) in {"conv1 3x3 1->32 same": (28, 1, 32),
                                   "conv2 3x3 32->64 same": (14, 32, 64)}.items():
        x = rng.standard_normal((batch, h, h, c_in)).astype(np.float32)
        w = (rng.standard_normal((3, 3, c_in, c_out)) * 0.1).astype(np.float32)
        b = np.zeros(c_out, np.float32)
        gy = rng.standard_normal((batch, h, h, c_out)).astype(np.float32)
        sx, sw, sb = (svertka.Tensor(a, requires_grad=True) for a in (x, w, b))
        tx = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
        tw = torch.tensor(w.transpose(3, 2, 0, 1).copy(), requires_grad=True)
        tb = torch.tensor(b, requires_grad=True)
        tgy = torch.tensor(gy.transpose(0, 3, 1, 2).copy())

        def ours(sx=sx, sw=sw, sb=sb, gy=gy):
            sx.grad = sw.grad = sb.grad = None
            ops.conv2d(sx, sw, sb, padding="same").backward(gy)

        def theirs(tx=tx, tw=tw, tb=tb, tgy=tgy):
            tx.grad = tw.grad = tb.grad = None
            F.conv2d(tx, tw, tb, padding=1).backward(tgy)

        out.append((name, ours, theirs))
    for name, (h, c) in {"max_pool1 2x2/2": (28, 32), "max_pool2 2x2/2": (14, 64)}.items():
        x = rng.standard_normal((batch, h, h, c)).astype(np.float32)
        gy = rng.standard_normal((batch, h // 2, h // 2, c)).astype(np.float32)
        sx = svertka.Tensor(x, requires_grad=True)
        tx = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
        tgy = torch.tensor(gy.transpose(0, 3, 1, 2).copy())

        def ours(sx=sx, gy=gy):
            sx.grad = None
            ops.max_pool2d(sx, 2, 2).backward(gy)

        def theirs(tx=tx, tgy=tgy):
            tx.grad = None
            F.max_pool2d(tx, 2, 2).backward(tgy)

        out.append((name, ours, theirs))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    import torch

    print(f"svertka {svertka.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), numpy {np.__version__}, batch {args.batch}")
    print(f"{'case (forward+backward)':28} {'svertka ms':>11} {'torch ms':>9} {'ratio':>7}")
    for name, ours, theirs in cases(args.batch):
        a, b = median_times(ours, theirs, args.repeats)
        print(f"{name:28} {a * 1e3:11.2f} {b * 1e3:9.2f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
