"""NetVLAD against global average pooling on one backbone, for image retrieval (SPEC §9).

The task, built from Fashion-MNIST as the paper's is from Street View: the "places" are the
10 classes; queries are 1,000 test images, the database the other 9,000; a query is answered
right at N when one of its N nearest database images (Euclidean distance between descriptors)
shows the same class: Recall@N, the paper's measure. Both models share the backbone (same
layers, same initial weights) and the training: triplets (anchor, positive of its class,
negative of another class) under the triplet margin loss, Adam, the same batches. Only the
pooling differs: NetVLAD (K centroids, initialised from k-means of the backbone's
descriptors, as in the paper) or global average pooling followed by L2 normalisation. As
NetVLAD's descriptor is K times longer, a third row projects it to the average pooling's size
by PCA whitening fitted on training images (the paper's last step), so that length alone
does not decide.

    python examples/netvlad_retrieval.py                  # the README's table, ~15 minutes
    python examples/netvlad_retrieval.py --steps 20 --train 2000   # a quick look
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import svertka
from svertka import ops
from svertka.layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    GlobalAveragePooling2D,
    Input,
    Lambda,
    MaxPooling2D,
    NetVLAD,
)
from svertka.models.training import trainable_params
from svertka.zoo.netvlad import pca_whitening


def backbone(inputs):
    """A small CNN: 28x28 -> 7x7 map of 64-dimensional local descriptors."""
    x = inputs
    for i, filters in enumerate((32, 64)):
        x = Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = BatchNormalization(name=f"bn{i + 1}")(x)
        x = Activation("relu", name=f"relu{i + 1}")(x)
        x = MaxPooling2D(2, name=f"pool{i + 1}")(x)
    return Conv2D(64, 3, padding="same", name="conv3")(x)


def build(pooling: str, clusters: int, seed: int):
    svertka.utils.set_random_seed(seed)  # the same initial backbone for both poolings
    inputs = Input((28, 28, 1))
    local = backbone(inputs)
    if pooling == "netvlad":
        out = NetVLAD(clusters, name="netvlad")(local)
    else:
        out = Lambda(ops.l2_normalize, name="l2")(GlobalAveragePooling2D(name="gap")(local))
    return svertka.Model(inputs, out, name=pooling), svertka.Model(inputs, local)


def descriptors(model, x, batch=500):
    return np.concatenate([model.predict(x[i:i + batch], batch_size=batch)
                           for i in range(0, len(x), batch)])


def recall_at(queries, q_labels, database, db_labels, ns=(1, 5, 10)) -> dict:
    """Recall@N: the share of queries with a same-label image among their N nearest."""
    d = (queries ** 2).sum(1)[:, None] - 2 * queries @ database.T + (database ** 2).sum(1)
    order = np.argsort(d, axis=1)[:, :max(ns)]
    hit = db_labels[order] == q_labels[:, None]
    return {n: float(hit[:, :n].any(axis=1).mean()) for n in ns}


def triplets(y, rng, batch):
    """Indices (anchor, positive, negative): positive of the anchor's class, negative not."""
    by_class = [np.flatnonzero(y == c) for c in range(int(y.max()) + 1)]
    a = rng.integers(0, len(y), batch)
    p = np.array([rng.choice(by_class[y[i]]) for i in a])
    neg_class = (y[a] + rng.integers(1, len(by_class), batch)) % len(by_class)
    n = np.array([rng.choice(by_class[c]) for c in neg_class])
    return a, p, n


def train(model, x, y, steps, batch, margin, seed, log=print):
    params = trainable_params(model)
    optimizer = svertka.optimizers.Adam(1e-3)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        a, p, n = triplets(y, rng, batch)
        out = model(x[np.concatenate([a, p, n])], training=True)
        loss = ops.triplet_margin_loss(out[:batch], out[batch:2 * batch], out[2 * batch:],
                                       margin=margin)
        loss.backward()
        optimizer.apply_gradients(params)
        for w in params:
            w.grad = None
        if step % 100 == 0 or step == steps - 1:
            log(f"  {model.name} step {step + 1}/{steps}: triplet loss {float(loss.item()):.4f}")


def run(steps=1500, batch=64, clusters=16, margin=0.1, train_size=60000, queries=1000,
        seed=0, data="fashion_mnist", whiten_fit=5000, log=print) -> dict:
    from svertka import datasets

    (x_train, y_train), (x_test, y_test), _ = datasets.load(data)
    x_train = (x_train[:train_size, ..., None] / np.float32(255)).astype(np.float32)
    y_train = np.asarray(y_train[:train_size])
    x_test = (x_test[..., None] / np.float32(255)).astype(np.float32)
    y_test = np.asarray(y_test)
    q = np.random.default_rng(seed).permutation(len(x_test))
    qi, di = q[:queries], q[queries:]
    results = {}
    for pooling in ("avg", "netvlad"):
        model, local = build(pooling, clusters, seed)
        if pooling == "netvlad":  # the paper: centroids from k-means of sample descriptors
            sample = local.predict(x_train[:1000], batch_size=250)
            model.get_layer("netvlad").init_from_descriptors(sample.reshape(-1, sample.shape[-1]),
                                                            seed=seed)
        start = time.perf_counter()
        train(model, x_train, y_train, steps, batch, margin, seed, log)
        seconds = time.perf_counter() - start
        qd, dd = descriptors(model, x_test[qi]), descriptors(model, x_test[di])
        results[pooling] = {**recall_at(qd, y_test[qi], dd, y_test[di]),
                            "dim": int(qd.shape[1]), "seconds": seconds}
        log(f"{pooling}: {results[pooling]}")
        if pooling == "netvlad":  # the paper's PCA whitening, fitted on training images
            dim = results["avg"]["dim"]
            kernel, bias = pca_whitening(descriptors(model, x_train[:whiten_fit]), dim)
            qw, dw = (ops.l2_normalize(d @ kernel + bias).numpy() for d in (qd, dd))
            results["netvlad_pca"] = {**recall_at(qw, y_test[qi], dw, y_test[di]), "dim": dim}
            log(f"netvlad_pca: {results['netvlad_pca']}")
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=64, help="triplets per step")
    p.add_argument("--clusters", type=int, default=16)
    p.add_argument("--margin", type=float, default=0.1)
    p.add_argument("--train", type=int, default=60000, help="training images to draw from")
    p.add_argument("--data", default="fashion_mnist")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    results = run(a.steps, a.batch, a.clusters, a.margin, a.train, seed=a.seed, data=a.data)
    print("\n| pooling | descriptor | Recall@1 | Recall@5 | Recall@10 |")
    print("|---|---:|---:|---:|---:|")
    for name, label in (("avg", "global average pooling"), ("netvlad", "NetVLAD"),
                        ("netvlad_pca", "NetVLAD, PCA-whitened to the same size")):
        r = results[name]
        print(f"| {label} | {r['dim']} | {r[1]:.3f} | {r[5]:.3f} | {r[10]:.3f} |")


if __name__ == "__main__":
    main()
