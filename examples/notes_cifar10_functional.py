"""Seed 000's CIFAR-10 program, written with svertka's functional API as the notes write it.

    python examples/notes_cifar10_functional.py                       # 5 epochs, as the notes
    python examples/notes_cifar10_functional.py --torch   # and one epoch of it in PyTorch
    python examples/notes_cifar10_functional.py --limit 256 --epochs 1   # a quick run (CI)

The notes (seed 000, after DeepLearning.scala's tutorial) define the network as functions over
explicit weight variables, ``maxPool(relu(conv2d(input, cnnWeight, cnnBias, ...)))``,
``relu(affine(...))``, ``affine(...)``, ``softmax``, and the loss ``-(log(probabilities) *
expectOutput).mean``, and train it with a ``Trainer(batchSize, numberOfEpoches = 5)`` whose
``startTrain()`` runs in the background. Here the same, names in Python spelling, with
``svertka.Trainer``: the main thread stays free while it trains (it prints the progress
below; a notebook would call ``trainer.plot_loss()`` or ``trainer.interrupt()``).

The hyper-parameters are those of the tutorial the notes link (DeepLearning.scala's
``demo/CNN.ipynb``, "a three-layers model ... will achieve 40% accuracy"; it reports 44.94%
after one epoch): KernelSize 7 (so KernelHeight = KernelWidth = 7), NumFilters 32, HiddenDim
500, Padding (7 - 1) / 2 = 3, Stride 1, PoolSize 2, WeightScale 0.01 (weights N(0, 1) *
WeightScale, biases zero), batch size 50, Adam with learning rate 1e-4 and an L2
regularisation of 1e-6 (here Adam's ``weight_decay``, added to the gradient as the tutorial's
plugin does), pixels ``(p + 0.5) / 256`` and one-hot labels as its Cifar10.scala loader gives
them. Chosen here: the seed of the weights and of the batch order (0), Adam's beta_1 0.9,
beta_2 0.999 and epsilon 1e-8 (the tutorial's Adam plugin is not shown in it), and
``ops.softmax`` (stable) for the tutorial's ``(exp(s) + 1e-8) / (sum(exp(s)) + 1e-8)``. The
images are channels-last (N, 32, 32, 3), so the notes' reshape to (N, 3, 32, 32) becomes one
to (N, 32, 32, 3) and the convolution weights are (KH, KW, 3, NumFilters). The loss is kept
as the notes write it: the mean over all N x 10 elements, i.e. the cross-entropy divided by 10.

``--torch`` then trains the same network in PyTorch for ``--torch-epochs`` (1) epochs from the
same initial weights, in the same batch order, with the same Adam, on as many threads as
svertka uses, and prints both times per epoch (wall-clock, the data already in memory).
``--limit N`` trains on the first N training images and tests on the first N test images.
``--output DIR`` writes the loss plot (``loss.png``) and the weights (``weights.npz``) there.
Data: ``$SVERTKA_DATA`` with a CIFAR-10 in one of ``svertka.datasets.cifar10``'s layouts.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import svertka
from svertka import ops

# the tutorial's hyper-parameters (see the docstring)
NumberOfClasses = 10
NumberOfChannels = 3
PixelHeight = PixelWidth = 32
KernelSize = 7
KernelHeight = KernelWidth = KernelSize
NumFilters = 32
HiddenDim = 500
WeightScale = 1e-2
Padding = (KernelSize - 1) // 2
Stride = 1
PoolSize = 2
BatchSize = 50
LearningRate = 1e-4
L2Regularization = 1e-6

cnn_weight = cnn_bias = affine_weight = affine_bias = affine_last_weight = affine_last_bias = None


def init_weights(seed: int = 0) -> list:
    """The tutorial's ``AllWeightsAndBias``: N(0, 1) * WeightScale, biases zero."""
    global cnn_weight, cnn_bias, affine_weight, affine_bias, affine_last_weight, affine_last_bias
    rng = np.random.default_rng(seed)

    def weight(*shape):
        w = rng.standard_normal(shape, dtype=np.float32) * np.float32(WeightScale)
        return svertka.Tensor(w, requires_grad=True)

    def bias(n):
        return svertka.Tensor(np.zeros(n, np.float32), requires_grad=True)

    cnn_weight = weight(KernelHeight, KernelWidth, NumberOfChannels, NumFilters)
    cnn_bias = bias(NumFilters)
    affine_weight = weight(NumFilters * (PixelHeight // PoolSize) * (PixelWidth // PoolSize),
                           HiddenDim)
    affine_bias = bias(HiddenDim)
    affine_last_weight = weight(HiddenDim, NumberOfClasses)
    affine_last_bias = bias(NumberOfClasses)
    return [cnn_weight, cnn_bias, affine_weight, affine_bias, affine_last_weight,
            affine_last_bias]


def affine(input, weight, bias):
    """The tutorial's ``affine``: ``input dot weight + bias`` (svertka's ``ops.dense``)."""
    return ops.dense(input, weight, bias)


def my_neural_network(input):
    n = input.shape[0]
    cnn_layer = ops.max_pool2d(ops.relu(ops.conv2d(
        ops.reshape(input, (n, PixelHeight, PixelWidth, NumberOfChannels)), cnn_weight, cnn_bias,
        (Stride, Stride), (Padding, Padding))), (PoolSize, PoolSize))
    affine_rule_of_cnn_layer = ops.relu(affine(
        ops.reshape(cnn_layer, (n, NumFilters * (PixelHeight // PoolSize)
                                * (PixelWidth // PoolSize))), affine_weight, affine_bias))
    affine_of_affine_rule_of_cnn_layer = affine(
        ops.reshape(affine_rule_of_cnn_layer, (n, HiddenDim)), affine_last_weight,
        affine_last_bias)
    softmax_value = ops.softmax(affine_of_affine_rule_of_cnn_layer)
    return softmax_value


def loss_function(input, expect_output):
    probabilities = my_neural_network(input)
    return -(ops.log(probabilities) * expect_output).mean()


def accuracy(predict, x, y, batch: int = 500) -> float:
    """The share of images whose most probable class is their label."""
    hits = sum(int((predict(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
               for i in range(0, len(x), batch))
    return hits / len(x)


def load(limit: int | None):
    """Pixels ``(p + 0.5) / 256`` and one-hot labels, as the tutorial's Cifar10.scala gives."""
    from svertka.datasets import cifar10

    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    if limit is not None:
        x_train, y_train, x_test, y_test = (a[:limit] for a in (x_train, y_train, x_test, y_test))

    def pixels(x):
        return (x.astype(np.float32) + np.float32(0.5)) / np.float32(256)

    one_hot = np.eye(NumberOfClasses, dtype=np.float32)
    return (pixels(x_train), one_hot[y_train.ravel()]), (pixels(x_test), y_test.ravel())


def train_svertka(x, y, epochs: int, seed: int, report: float, log=print) -> svertka.Trainer:
    params = init_weights(seed)
    optimizer = svertka.optimizers.Adam(learning_rate=LearningRate, epsilon=1e-8,
                                        weight_decay=L2Regularization)
    trainer = svertka.Trainer(loss_function, BatchSize, epochs, params=params,
                              optimizer=optimizer, seed=seed)
    trainer.start_train(x, y)
    steps = epochs * -(-len(x) // BatchSize)
    while not trainer.done:  # the main thread is free: here it reports the progress
        trainer.join(timeout=report)
        losses = trainer.losses
        if losses and not trainer.done:
            log(f"  {len(losses)}/{steps} iterations, loss {np.mean(losses[-100:]):.4f} "
                f"(mean of the last 100)", flush=True)
    trainer.join()  # raises what the training raised
    return trainer


def svertka_predict(x):
    with svertka.no_grad():
        return my_neural_network(x).numpy()


def torch_twin(seed: int, threads: int):
    """The same network, initial weights and Adam in PyTorch: ``(step, predict)``, where
    ``step(xb, yb)`` trains on one batch (tensors) and returns the loss."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    init_weights(seed)
    w = {name: torch.tensor(t.numpy(), requires_grad=True) for name, t in (
        ("cnn_weight", cnn_weight), ("cnn_bias", cnn_bias), ("affine_weight", affine_weight),
        ("affine_bias", affine_bias), ("affine_last_weight", affine_last_weight),
        ("affine_last_bias", affine_last_bias))}
    with torch.no_grad():  # (KH, KW, C, F) -> (F, C, KH, KW)
        w["cnn_weight"] = w["cnn_weight"].permute(3, 2, 0, 1).contiguous().requires_grad_()

    def network(input):
        n = input.shape[0]
        h = F.max_pool2d(F.relu(F.conv2d(input.permute(0, 3, 1, 2), w["cnn_weight"],
                                         w["cnn_bias"], stride=Stride, padding=Padding)),
                         PoolSize)
        h = h.permute(0, 2, 3, 1).reshape(n, -1)  # flattened channels-last, as svertka's
        h = F.relu(h @ w["affine_weight"] + w["affine_bias"])
        return F.softmax(h @ w["affine_last_weight"] + w["affine_last_bias"], dim=1)

    optimizer = torch.optim.Adam(list(w.values()), lr=LearningRate, eps=1e-8,
                                 weight_decay=L2Regularization)

    def step(xb, yb) -> float:
        optimizer.zero_grad()
        loss = -(torch.log(network(xb)) * yb).mean()
        loss.backward()
        optimizer.step()
        return loss.item()

    def predict(xb):
        with torch.no_grad():
            return network(torch.from_numpy(xb)).numpy()

    return step, predict


def train_torch(x, y, x_test, y_test, epochs: int, seed: int, threads: int) -> dict:
    """The same network, initial weights, batch order and Adam in PyTorch; its time per epoch
    and test accuracy."""
    import torch

    step, predict = torch_twin(seed, threads)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    rng, losses = np.random.default_rng(seed), []  # the Trainer's batch order
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(x), BatchSize):
            take = order[i:i + BatchSize]
            losses.append(step(xt[take], yt[take]))
    seconds = (time.perf_counter() - start) / epochs
    return {"seconds_per_epoch": seconds, "accuracy": accuracy(predict, x_test, y_test),
            "losses": losses}


def main(argv=None, log=print) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N training images (test on the first N)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch", action="store_true",
                        help="train the same network in PyTorch too and compare the times")
    parser.add_argument("--torch-epochs", type=int, default=1)
    parser.add_argument("--report", type=float, default=60.0,
                        help="seconds between progress lines")
    parser.add_argument("--output", type=Path, default=None,
                        help="a folder for loss.png and weights.npz")
    args = parser.parse_args(argv)
    (x, y), (x_test, y_test) = load(args.limit)
    threads = svertka.parallel.threads()
    log(f"CIFAR-10: {len(x)} training images, {len(x_test)} test images; {threads} threads")

    start = time.perf_counter()
    trainer = train_svertka(x, y, args.epochs, args.seed, args.report, log)
    seconds = (time.perf_counter() - start) / args.epochs
    result = {"epochs": args.epochs, "iterations": len(trainer.losses),
              "seconds_per_epoch": seconds, "final_loss": float(np.mean(trainer.losses[-100:])),
              "accuracy": accuracy(svertka_predict, x_test, y_test)}
    log(f"svertka: {seconds:.1f} s per epoch, test accuracy {result['accuracy']:.2%} after "
        f"{args.epochs} epochs")
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        trainer.plot_loss(args.output / "loss.png")
        np.savez(args.output / "weights.npz", cnn_weight=cnn_weight.numpy(),
                 cnn_bias=cnn_bias.numpy(), affine_weight=affine_weight.numpy(),
                 affine_bias=affine_bias.numpy(), affine_last_weight=affine_last_weight.numpy(),
                 affine_last_bias=affine_last_bias.numpy())
    if args.torch:
        t = train_torch(x, y, x_test, y_test, args.torch_epochs, args.seed, threads)
        result["torch"] = t
        first = np.abs(np.array(t["losses"][:3]) - np.array(trainer.losses[:3])).max()
        log(f"PyTorch: {t['seconds_per_epoch']:.1f} s per epoch, test accuracy "
            f"{t['accuracy']:.2%} after {args.torch_epochs} epochs (its first iterations' "
            f"losses within {first:.1e} of svertka's)")
        log(f"svertka / PyTorch time per epoch: {seconds / t['seconds_per_epoch']:.2f}")
    result["losses"] = trainer.losses
    return result


if __name__ == "__main__":
    main()
