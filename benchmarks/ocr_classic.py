"""The lecture notes' classic character recognisers against the CNN: accuracy on MNIST's test
split (10,000 digits, fitted on its 60,000 training digits) and on notMNIST's letters test
split (2,000, fitted on the 8,000 of ``svertka.ocr.data.letters_split``), prediction time
per glyph and fitting time.

    python benchmarks/ocr_classic.py               # the README's table (k-NN takes minutes)
    python benchmarks/ocr_classic.py --limit 2000  # a quick look: 2,000 train, 2,000 test

Rows: raster (class-mean templates, then 10 k-means templates per class), feature-based
(HOG + zoning + projections, 5-NN), structural (holes, endpoints, junctions, crossings,
5-NN) and the CNN that ``svertka.ocr.read`` uses (``svertka.ocr.recognizer``; fitted
offline, so no fit time; letters are passed through ``normalize_glyph`` first, as the reader
does and as that CNN was trained). The CNN row is left out, with a note, where its weights
are not installed (``--cnn-weights DIR`` measures weights not yet shipped). Prediction time
is the whole test split's ``predict`` (features included) divided by its size, on MNIST;
fit time is MNIST's, then the letters'.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

METHODS = ("raster", "raster-kmeans", "features", "structural", "cnn")


def baseline(name: str):
    from svertka.ocr.classic import FeatureClassifier, RasterClassifier, StructuralClassifier

    return {"raster": (RasterClassifier, "raster, class-mean templates (NCC)"),
            "raster-kmeans": (lambda: RasterClassifier(10),
                              "raster, 10 k-means templates per class (NCC)"),
            "features": (FeatureClassifier, "feature-based: HOG + zoning + projections, 5-NN"),
            "structural": (StructuralClassifier,
                           "structural: holes, ends, junctions, crossings, 5-NN"),
            }[name]


def subset(x, y, limit: int | None, seed: int = 0):
    """At most ``limit`` glyphs, a fixed random choice (notMNIST's splits are not shuffled
    the same way MNIST's are, so the first ``limit`` would not do)."""
    if limit is None or limit >= len(y):
        return x, y
    keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:limit])
    return x[keep], y[keep]


def load(limit: int | None):
    from svertka.datasets import mnist
    from svertka.ocr.data import letters_split

    (xm, ym), (xm_test, ym_test) = mnist.load_data()
    with warnings.catch_warnings():  # notMNIST ships its t10k file only: that is expected
        warnings.simplefilter("ignore", UserWarning)
        (xl, yl), (xl_test, yl_test) = letters_split()
    return {"MNIST": (subset(xm, ym, limit), subset(xm_test, ym_test, limit)),
            "notMNIST": (subset(xl, yl, limit), subset(xl_test, yl_test, limit))}


def run_baseline(name: str, data) -> dict:
    make, label = baseline(name)
    row = {"label": label}
    for set_name, ((x, y), (x_test, y_test)) in data.items():
        t = time.perf_counter()
        clf = make().fit(x, y)
        row[f"{set_name} fit"] = time.perf_counter() - t
        t = time.perf_counter()
        predicted = clf.predict(x_test)
        row[f"{set_name} ms"] = 1e3 * (time.perf_counter() - t) / len(x_test)
        row[set_name] = float(np.mean(predicted == y_test))
    return row


def run_cnn(data, weights_dir=None) -> dict:
    """The CNN's row; a set whose classifier cannot run here (weights not installed) gets a
    note instead of figures. ``weights_dir``: a folder of ``ocr-ALPHABET.weights`` files to
    use instead of the shipped ones."""
    row = {"label": "CNN (svertka.ocr.recognizer, glyph_cnn)", "notes": []}
    try:
        from svertka.ocr import ALPHABETS, normalize_glyph, recognizer
        from svertka.ocr.models import WEIGHTS
    except ImportError as e:
        row["notes"].append(f"skipped: {e}")
        return row
    for (set_name, (_, (x_test, y_test))), alphabet in zip(data.items(),
                                                          ("digits", "letters")):
        try:
            if weights_dir is None:
                net = recognizer(alphabet)
            else:
                file = os.path.join(weights_dir, WEIGHTS[alphabet])
                if not os.path.isfile(file):
                    raise FileNotFoundError(f"{file} is missing")
                net = recognizer(alphabet, weights=file)
        except (FileNotFoundError, OSError) as e:
            row["notes"].append(f"{set_name} skipped: {e}")
            continue
        if set_name == "notMNIST":
            x_test = np.stack([normalize_glyph(g) for g in x_test])
        net.classify(x_test[:8])  # builds and warms the model off the clock
        t = time.perf_counter()
        chars, _ = net.classify(x_test)
        row[f"{set_name} ms"] = 1e3 * (time.perf_counter() - t) / len(x_test)
        truth = np.array(list(ALPHABETS[alphabet]))[y_test]
        row[set_name] = float(np.mean(np.array(chars) == truth))
    return row


def table_row(row: dict) -> str:
    def percent(key):
        return f"{100 * row[key]:.2f}%" if key in row else "-"

    fit = (f"{row['MNIST fit']:.1f} s / {row['notMNIST fit']:.1f} s" if "MNIST fit" in row
           else "trained offline")
    ms = f"{row['MNIST ms']:.3f}" if "MNIST ms" in row else "-"
    notes = f" ({'; '.join(row['notes'])})" if row.get("notes") else ""
    return (f"| {row['label']}{notes} | {percent('MNIST')} | {percent('notMNIST')} | {ms} | "
            f"{fit} |")


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=None,
                   help="at most this many training and this many test glyphs of each set")
    p.add_argument("--cnn-weights", default=None, metavar="DIR",
                   help="a folder of ocr-digits.weights and ocr-letters.weights to measure "
                        "instead of the shipped ones (examples/train_ocr.py --output DIR)")
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"comma-separated, of {', '.join(METHODS)}")
    args = p.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        p.error(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    if args.limit is not None and args.limit < 1:
        p.error(f"--limit must be at least 1, received {args.limit}")
    data = load(args.limit)
    sizes = ", ".join(f"{k} {len(tr[1]):,} train / {len(te[1]):,} test"
                      for k, (tr, te) in data.items())
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy "
          f"{np.__version__}; {sizes}")
    print("| method | MNIST accuracy | notMNIST accuracy | ms per glyph (predict, MNIST) | "
          "fit time (MNIST / notMNIST) |")
    print("|---|---:|---:|---:|---:|")
    rows = []
    for m in methods:
        rows.append(run_cnn(data, args.cnn_weights) if m == "cnn" else run_baseline(m, data))
        print(table_row(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    main()
