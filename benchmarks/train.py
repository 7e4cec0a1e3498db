"""The notes' MNIST model (SPEC §7): a training step and inference, svertka vs PyTorch.

Both run in this one process on the same data and the same initial weights, alternating,
after a warm-up; we print the median time of each and the ratio svertka/PyTorch (below 1.0
means svertka is faster). PyTorch runs an eager loop in its native channels-first layout with
Adam and cross-entropy, as the notes' Keras program does with ``compile(optimizer='adam',
loss='categorical_crossentropy')``.

    python benchmarks/train.py [--repeats 20]

Caveat (seen on the 2-core machines): when the two libraries alternate in one process, each
one's worker threads may still be spinning from its last call while the other runs (OpenBLAS
behind NumPy, OpenMP behind PyTorch), which slows both. PyTorch alone measured 24.7 ms a step
at batch 32 where it took 39 ms alternating. Read the ratios with that in mind; setting
``OMP_WAIT_POLICY=PASSIVE`` is one way to tame it.
"""

from __future__ import annotations

import argparse

import numpy as np

import svertka
from svertka.utils import set_random_seed, to_categorical
from svertka.zoo import notes_cnn
from timing import median_times


def torch_model(ours):
    """The same network in PyTorch, with svertka's initial weights copied in."""
    import torch
    from torch import nn

    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    w = ours.get_weights()
    with torch.no_grad():
        for layer, (k, b) in zip([net[0], net[3]], [(w[0], w[1]), (w[2], w[3])]):
            layer.weight.copy_(torch.tensor(k.transpose(3, 2, 0, 1)))
            layer.bias.copy_(torch.tensor(b))
        # svertka flattens (H, W, C), PyTorch (C, H, W): permute the dense rows to match
        dense = w[4].reshape(7, 7, 64, 128).transpose(2, 0, 1, 3).reshape(3136, 128)
        net[7].weight.copy_(torch.tensor(dense.T))
        net[7].bias.copy_(torch.tensor(w[5]))
        net[9].weight.copy_(torch.tensor(w[6].T))
        net[9].bias.copy_(torch.tensor(w[7]))
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    import torch

    set_random_seed(0)
    model = notes_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    net = torch_model(model)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    rng = np.random.default_rng(0)
    print(f"svertka {svertka.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), numpy {np.__version__}")
    print(f"{'case':32} {'svertka ms':>11} {'torch ms':>9} {'ratio':>7}")
    from svertka.models.training import _trainable_params, train_step

    params = _trainable_params(model)
    for batch in (32, 128):
        x = rng.random((batch, 28, 28, 1), dtype=np.float32)
        y = to_categorical(rng.integers(0, 10, batch), 10)
        tx = torch.tensor(x.transpose(0, 3, 1, 2).copy())
        ty = torch.tensor(y.argmax(1))

        def ours(x=x, y=y):
            train_step(model, svertka.Tensor(x), y, params)

        def theirs(tx=tx, ty=ty):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(tx), ty).backward()
            opt.step()

        a, b = median_times(ours, theirs, args.repeats)
        print(f"{'training step, batch ' + str(batch):32} {a * 1e3:11.2f} {b * 1e3:9.2f} "
              f"{a / b:7.2f}")
    for batch in (1, 1000):
        x = rng.random((batch, 28, 28, 1), dtype=np.float32)
        tx = torch.tensor(x.transpose(0, 3, 1, 2).copy())

        def infer(x=x):
            with svertka.no_grad():
                model(x)

        def infer_torch(tx=tx):
            with torch.inference_mode():
                torch.softmax(net(tx), 1)

        a, b = median_times(infer, infer_torch, args.repeats)
        print(f"{'inference, batch ' + str(batch):32} {a * 1e3:11.2f} {b * 1e3:9.2f} "
              f"{a / b:7.2f}")


if __name__ == "__main__":
    main()
