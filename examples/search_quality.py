"""How well a classifier's penultimate layer finds images of the same class (SPEC §10: "the
outputs of the last layers are good descriptions of images: search for similar images").

For each data set's test split: every image is embedded by ``svertka.search.embed`` (the layer
before the classifier, L2-normalised), and every image queries all the others (leave one
out, exact cosine search). Precision@k: the share of its k nearest images with its label,
averaged over the queries. The shipped LeNet-5 (trained on MNIST) is also applied to
Fashion-MNIST, which it never saw; ResNet-20 to CIFAR-10.

    SVERTKA_DATA=/work/shared/data python examples/search_quality.py
    python examples/search_quality.py --notes-epochs 5     # adds the notes' model (~4 min)
    python examples/search_quality.py --resnet20 runs/resnet20-cifar10-50.svk --limit 2000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import svertka
from svertka import datasets, zoo
from svertka.datasets.sources import DatasetNotFoundError
from svertka.search import Index, embed, leave_one_out, precision_at_k
from svertka.zoo import weights as shipped

KS = (1, 5, 10)


def quality(model, x, y, batch_size: int = 500) -> tuple[np.ndarray, float, int]:
    """(precision@1..10, seconds to embed and search, descriptor length)."""
    t = time.perf_counter()
    index = Index(embed(model, x, batch_size=batch_size), labels=y)
    _, ids = index.query(index.vectors, max(KS) + 1, backend="numpy")
    p = precision_at_k(index.labels[leave_one_out(ids, max(KS))], index.labels)
    return p, time.perf_counter() - t, index.dim


def resnet20(path: str | None):
    """ResNet-20 from a model file (0-255 pixels, a Rescaling first) or the shipped weights."""
    if path:
        return svertka.load_model(path, compile=False), path
    if shipped.path("resnet20", "cifar10").is_file():
        return zoo.resnet20(weights="cifar10"), "resnet20:cifar10 (shipped)"
    return None, "no ResNet-20 weights: pass --resnet20 FILE"


def notes(epochs: int):
    """The notes' model (SPEC §7) trained on MNIST as the README says."""
    (x, y), _, _ = datasets.load("mnist")
    svertka.utils.set_random_seed(0)
    model = zoo.notes_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[..., None] / np.float32(255), y, epochs=epochs, batch_size=128, verbose=0)
    return model


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resnet20", default=None, help="a ResNet-20 CIFAR-10 model file "
                                                    "(default: the shipped weights)")
    p.add_argument("--limit", type=int, default=None, help="the first N test images only")
    p.add_argument("--notes-epochs", type=int, default=0,
                   help="also train the notes' model (zoo.notes_cnn) this many epochs on MNIST "
                        "(Adam, batch 128, seed 0) and search with it")
    p.add_argument("--sets", nargs="+", default=["mnist", "fashion_mnist", "cifar10"],
                   help="the data sets to search in (default: all three)")
    args = p.parse_args(argv)
    lenet = zoo.lenet5((28, 28, 1), weights="mnist")
    net, net_name = resnet20(args.resnet20) if "cifar10" in args.sets else (None, "")
    runs = [("MNIST", "mnist", lenet, "lenet5:mnist (shipped)"),
            *([("MNIST", "mnist", notes(args.notes_epochs),
                f"notes_cnn, {args.notes_epochs} epochs")] if args.notes_epochs else []),
            ("Fashion-MNIST", "fashion_mnist", lenet, "lenet5:mnist (shipped)"),
            ("CIFAR-10", "cifar10", net, net_name)]
    print("| test set | model | layer (values) | images | P@1 | P@5 | P@10 | seconds |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for title, data, model, name in [r for r in runs if r[1] in args.sets]:
        if model is None:
            print(f"| {title} | {name} | | | | | | |")
            continue
        try:
            _, (x, y), _ = datasets.load(data)
        except DatasetNotFoundError:
            print(f"| {title} | {name} | not in $SVERTKA_DATA | | | | | |")
            continue
        x, y = x[:args.limit], np.asarray(y).reshape(-1)[:args.limit]
        p, seconds, dim = quality(model, x, y)
        print(f"| {title} | {name} | {model.layers[-2].name} ({dim}) | {len(x):,} | "
              + " | ".join(f"{p[k - 1]:.4f}" for k in KS) + f" | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
