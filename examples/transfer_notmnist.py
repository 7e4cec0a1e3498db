"""The notes' transfer-learning advice (SPEC §10), measured: digits and CIFAR-10 networks
adapted to notMNIST letters A-J.

"With 10–100 images, freeze everything but the last layer; with 1000+, freeze the first
layers and train the rest with learning rates growing towards the output." The sources are
the shipped LeNet-5 (MNIST digits, 28x28 grey) and ResNet-20 (CIFAR-10, 32x32 colour: the
letters are resized and their grey channel repeated). The target: notMNIST's 10,000 labelled
letters, split once (seed 0, stratified) into a fixed 4,000-image test set (400 a letter) and
a pool of 6,000 from which 10, 100 or 500 training images a letter are drawn (the 10-image
case three times, over draws and seeds: mean ± standard deviation). Nothing is tuned on the
test set; every run uses ``svertka.transfer.fine_tune``'s defaults (Adam, rate 1e-3 at the
head, about 300 steps and 5 to 50 epochs). Rows:

- scratch: the same architecture, freshly initialised, trained whole (the baseline);
- head: the source network frozen, a new softmax layer trained on its features;
- top: the lower half of its blocks frozen, the upper half and the head trained with rates
  growing geometrically towards the output (1e-4 ... 1e-3);
- gradual (with ``--methods``, not in the default run): as top, but ULMFiT's order: the head
  first, then one block more per stage.

The notes' rule counts images in all: 10 a letter is 100 images (their "10-100": head),
100 and 500 a letter are 1,000 and 5,000 (their "1000+": top); ``*`` marks that choice.

    SVERTKA_DATA=/work/shared/data python examples/transfer_notmnist.py     # the README table
    SVERTKA_DATA=/work/shared/data python examples/transfer_notmnist.py --quick
    ... --methods scratch,head,top,gradual --resnet20 runs/resnet20-cifar10.svk

``--resnet20`` takes ResNet-20's CIFAR-10 weights from a file (a saved model, ``.svk``, or a
``save_weights`` file) instead of the shipped ones.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import svertka
from svertka import transfer, zoo
from svertka.datasets import notmnist

SOURCES = {
    "LeNet-5 / MNIST": lambda: zoo.lenet5((28, 28, 1), weights="mnist"),
    "ResNet-20 / CIFAR-10": lambda: zoo.resnet20(weights="cifar10"),
}
METHODS = ("scratch", "head", "top")
ALL_METHODS = (*METHODS, "gradual")


def resnet20_from(path: str):
    """A source builder for ResNet-20 with the CIFAR-10 weights of ``path`` (a saved model,
    which takes raw pixels if it rescales them itself, or a ``save_weights`` file)."""
    if path.endswith(".svk"):
        return lambda: svertka.load_model(path, compile=False)
    return lambda: zoo.resnet20(weights=path)


def split(y: np.ndarray, test_per_class: int = 400, seed: int = 0):
    """(test indices, pool indices): ``test_per_class`` images of each class drawn at random
    (``seed``) for the fixed test set, the rest for the training pool."""
    rng = np.random.default_rng(seed)
    test, pool = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test.append(idx[:test_per_class])
        pool.append(idx[test_per_class:])
    return np.sort(np.concatenate(test)), np.sort(np.concatenate(pool))


def draw(pool: np.ndarray, y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """``per_class`` pool images of every class, drawn at random with ``seed``."""
    rng = np.random.default_rng(seed + 1000)
    return np.concatenate([rng.choice(pool[y[pool] == c], per_class, replace=False)
                           for c in np.unique(y[pool])])


def method_kwargs(method: str, base) -> dict:
    """``fine_tune``'s arguments for one row of the table."""
    if method in ("scratch", "head"):
        return {"strategy": method}
    half = math.ceil(len(transfer.blocks(transfer.feature_extractor(base))) / 2)
    return {"strategy": "top", "top_blocks": half, "gradual_unfreeze": method == "gradual"}


def run_one(make_base, method, x, y, train, test, seed, epochs=None):
    """Test accuracy of one fine-tuning run."""
    base = make_base()
    result = transfer.fine_tune(base, (x[train], y[train]), 10, seed=seed, epochs=epochs,
                                verbose=0, **method_kwargs(method, base))
    probs = result.model.predict(result.prepare(x[test]), batch_size=256)
    return float((probs.argmax(-1) == y[test]).mean())


def run(sources=SOURCES, sizes=(10, 100, 500), methods=METHODS, draws=3, epochs=None,
        test_limit=None, log=print) -> dict:
    """``{(source, method, per_class): [accuracy per draw]}``, and ``("time", source)``
    seconds per source. Draws repeat only the smallest size (the others vary little)."""
    _, (x, y) = notmnist.load_data()
    test, pool = split(y)
    if test_limit is not None:
        test = test[:: max(1, len(test) // test_limit)]
    results: dict = {}
    for name, make_base in sources.items():
        start = time.perf_counter()
        for per_class in sizes:
            for d in range(draws if per_class == min(sizes) else 1):
                train = draw(pool, y, per_class, d)
                for method in methods:
                    acc = run_one(make_base, method, x, y, train, test, d, epochs)
                    results.setdefault((name, method, per_class), []).append(acc)
                    log(f"{name:22} {method:8} {per_class:4} a class, draw {d}: {acc:.4f} "
                        f"({time.perf_counter() - start:.0f} s)")
        results[("time", name)] = time.perf_counter() - start
    return results


def notes_choice(per_class: int, classes: int = 10) -> str:
    """The row the notes' rule picks (``transfer.choose_strategy``) for this training set."""
    strategy, _ = transfer.choose_strategy(per_class * classes)
    return strategy


def table(results: dict, sizes=(10, 100, 500), methods=METHODS) -> str:
    """The Markdown table of test accuracies (%), ``*`` on the notes' choice."""
    header = "| source | method | " + " | ".join(f"{s} a letter" for s in sizes) + " |"
    lines = [header, "|" + "---|" * (2 + len(sizes))]
    for name in dict.fromkeys(k[0] for k in results if k[0] != "time"):
        for method in methods:
            cells = []
            for s in sizes:
                accs = np.array(results.get((name, method, s), [])) * 100
                if not len(accs):
                    cells.append("")
                    continue
                cell = f"{accs.mean():.1f}" + (f" ± {accs.std():.1f}" if len(accs) > 1 else "")
                cells.append(cell + (" *" if notes_choice(s) == method else ""))
            lines.append(f"| {name} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sources", default="lenet5,resnet20",
                   help="comma-separated, of: lenet5, resnet20")
    p.add_argument("--sizes", default="10,100,500", help="training images a letter")
    p.add_argument("--methods", default=",".join(METHODS),
                   help="comma-separated, of: " + ", ".join(ALL_METHODS))
    p.add_argument("--resnet20", default=None, metavar="FILE",
                   help="ResNet-20 / CIFAR-10 weights from FILE instead of the shipped ones")
    p.add_argument("--draws", type=int, default=3, help="draws of the smallest training set")
    p.add_argument("--quick", action="store_true",
                   help="a tiny run (LeNet-5, 5 a letter, 1 epoch, 200 test images)")
    args = p.parse_args(argv)
    known = dict(SOURCES)
    if args.resnet20:
        known["ResNet-20 / CIFAR-10"] = resnet20_from(args.resnet20)
    names = {"lenet5": "LeNet-5 / MNIST", "resnet20": "ResNet-20 / CIFAR-10"}
    sources = {names[k]: known[names[k]] for k in args.sources.split(",")}
    sizes = tuple(int(s) for s in args.sizes.split(","))
    methods = tuple(args.methods.split(","))
    kwargs = {}
    if args.quick:
        sources = {k: v for k, v in SOURCES.items() if k.startswith("LeNet")}
        sizes, kwargs = (5,), {"draws": 1, "epochs": 1, "test_limit": 200}
    else:
        kwargs = {"draws": args.draws}
    start = time.perf_counter()
    results = run(sources, sizes, methods, **kwargs)
    print()
    print(table(results, sizes, methods))
    print()
    for name in sources:
        print(f"{name}: {results[('time', name)]:.0f} s")
    print(f"Total: {time.perf_counter() - start:.0f} s")
    return results


if __name__ == "__main__":
    main()
