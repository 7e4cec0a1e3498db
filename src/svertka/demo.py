"""The main job: train the notes' MNIST model (SPEC §7) and print its summary and accuracy.

Written on the functional engine (``svertka.ops``): every layer of the notes' Keras model is
one op call, so this file reads as the network's definition.
"""

from __future__ import annotations

import time

import numpy as np

import svertka
from svertka import ops
from svertka.datasets import mnist

LAYERS = [  # name, output shape, parameter shapes
    ("conv2d (Conv2D)", (28, 28, 32), [(3, 3, 1, 32), (32,)]),
    ("max_pooling2d (MaxPooling2D)", (14, 14, 32), []),
    ("conv2d_1 (Conv2D)", (14, 14, 64), [(3, 3, 32, 64), (64,)]),
    ("max_pooling2d_1 (MaxPooling2D)", (7, 7, 64), []),
    ("flatten (Flatten)", (3136,), []),
    ("dense (Dense)", (128,), [(3136, 128), (128,)]),
    ("dense_1 (Dense)", (10,), [(128, 10), (10,)]),
]


def init_params(rng: np.random.Generator) -> list[svertka.Tensor]:
    """Glorot-uniform weights and zero biases, as Keras initialises them."""
    params = []
    for _, _, shapes in LAYERS:
        for shape in shapes:
            if len(shape) == 1:
                data = np.zeros(shape, np.float32)
            else:
                receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
                fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
                limit = np.sqrt(6.0 / (fan_in + fan_out))
                data = rng.uniform(-limit, limit, shape).astype(np.float32)
            params.append(svertka.Tensor(data, requires_grad=True))
    return params


def forward(params, x):
    w1, b1, w2, b2, w3, b3, w4, b4 = params
    h = ops.max_pool2d(ops.relu(ops.conv2d(x, w1, b1, padding="same")), 2, 2)
    h = ops.max_pool2d(ops.relu(ops.conv2d(h, w2, b2, padding="same")), 2, 2)
    h = ops.relu(ops.dense(ops.flatten(h), w3, b3))
    return ops.dense(h, w4, b4)  # logits; softmax is folded into the loss


def summary() -> str:
    lines = [f"{'Layer (type)':34}{'Output Shape':22}{'Param #':>10}", "=" * 66]
    total = 0
    for name, shape, shapes in LAYERS:
        count = sum(int(np.prod(s)) for s in shapes)
        total += count
        lines.append(f"{name:34}{str((None, *shape)):22}{count:>10,}")
    lines += ["=" * 66, f"Total params: {total:,}", f"Trainable params: {total:,}",
              "Non-trainable params: 0"]
    return "\n".join(lines)


def adam_step(params, state, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    state["t"] += 1
    t = state["t"]
    for p, m, v in zip(params, state["m"], state["v"]):
        m *= b1
        m += (1 - b1) * p.grad
        v *= b2
        v += (1 - b2) * p.grad**2
        p.data -= lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        p.grad = None


def accuracy(params, x, y, batch=500) -> float:
    with svertka.no_grad():
        preds = [forward(params, svertka.Tensor(x[i:i + batch])).numpy().argmax(1)
                 for i in range(0, len(x), batch)]
    return float((np.concatenate(preds) == y).mean())


def run(epochs: int = 2, batch_size: int = 32, seed: int = 0) -> float:
    try:
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
        source = "full MNIST"
    except FileNotFoundError:
        (x_train, y_train), (x_test, y_test) = mnist.load_sample()
        source = "the embedded MNIST sample"
    print(f"Training the notes' model on {source}: {len(x_train)} training, {len(x_test)} test "
          "images\n")
    print(summary(), "\n")
    x_train = (x_train[..., None] / 255.0).astype(np.float32)
    x_test = (x_test[..., None] / 255.0).astype(np.float32)
    rng = np.random.default_rng(seed)
    params = init_params(rng)
    state = {"t": 0, "m": [np.zeros_like(p.data) for p in params],
             "v": [np.zeros_like(p.data) for p in params]}
    for epoch in range(1, epochs + 1):
        start, order, losses = time.perf_counter(), rng.permutation(len(x_train)), []
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            loss = ops.softmax_cross_entropy(forward(params, svertka.Tensor(x_train[idx])),
                                             y_train[idx].astype(np.int64))
            loss.backward()
            adam_step(params, state)
            losses.append(loss.item())
        print(f"epoch {epoch}/{epochs}: loss {np.mean(losses):.4f}, "
              f"{time.perf_counter() - start:.1f} s")
    acc = accuracy(params, x_test, y_test)
    print(f"\nTest accuracy: {acc:.4f}")
    return acc
