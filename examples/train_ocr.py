"""Train the character classifiers of ``svertka.ocr`` and ship them into the package.

    python examples/train_ocr.py digits --pages 480 --epochs 3   # the shipped one, 53 min
    python examples/train_ocr.py letters both --epochs 3          # 3 and 34 min (2 cores)
    python examples/train_ocr.py pairs --epochs 3                 # touching digit pairs

Each model is ``svertka.ocr.models.glyph_cnn`` fitted by ``svertka.ocr.train.train`` on glyphs
passed through ``page_like`` and ``normalize_glyph``; it is checked on the test split it never
saw (MNIST's 10,000, the 2,000 letters of ``letters_split``), plain and page-like, then written
to ``src/svertka/ocr/weights/ocr-ALPHABET.weights`` (``--output DIR`` elsewhere). ``pairs`` is
the digits' pair classifier (``svertka.ocr.pairs``), checked on pairs drawn from MNIST's test
digits and written to ``ocr-digits-pairs.weights``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from svertka.ocr import models, pairs, train
from svertka.ocr.normalize import normalize_glyph

ROOT = Path(__file__).resolve().parents[1]


def test_split(alphabet: str):
    """The held-out glyphs of ``alphabet`` with labels into ``ALPHABETS[alphabet]``."""
    parts = []
    if alphabet in ("digits", "both"):
        from svertka.datasets import mnist

        _, (x, y) = mnist.load_data()
        parts.append((x, y.astype(np.int64)))
    if alphabet in ("letters", "both"):
        from svertka.ocr.data import letters_split

        _, (x, y) = letters_split()
        parts.append((x, y.astype(np.int64) + (10 if alphabet == "both" else 0)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def accuracy(model, alphabet, x, y) -> float:
    chars, _ = models.Recognizer(model, alphabet).classify(x)
    table = models.ALPHABETS[alphabet]
    return float(np.mean([table.index(c) == t for c, t in zip(chars, y)]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("alphabets", nargs="+", choices=[*sorted(models.ALPHABETS), "pairs"])
    p.add_argument("--count", type=int, default=170_000, help="pair examples (pairs only)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--copies", type=int, default=2, help="page-like copies of each glyph")
    p.add_argument("--pages", type=int, default=0,
                   help="also train on what the reader cuts from this many synthetic pages "
                        "of training glyphs (svertka.ocr.train.segmentation_examples)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=str(ROOT / "src" / "svertka" / "ocr" / "weights"))
    a = p.parse_args(argv)
    for alphabet in a.alphabets:
        start = time.perf_counter()
        if alphabet == "pairs":
            train_pairs(a, start)
            continue
        model = train.train(alphabet, epochs=a.epochs, copies=a.copies, seed=a.seed,
                            pages=a.pages)
        x, y = test_split(alphabet)
        rng = np.random.default_rng(1)
        masks = [train.upscale_mask(g) for g in x]
        renorm = np.stack([normalize_glyph(m) for m in masks])
        partners = rng.integers(0, len(masks), len(masks))
        paged = np.stack([normalize_glyph(train.page_like(m, masks[j], rng))
                          for m, j in zip(masks, partners)])
        out = Path(a.output) / models.WEIGHTS[alphabet]
        out.parent.mkdir(parents=True, exist_ok=True)
        model.save_weights(out)
        print(f"{alphabet}: test accuracy {accuracy(model, alphabet, x, y):.4f} as stored, "
              f"{accuracy(model, alphabet, renorm, y):.4f} renormalised, "
              f"{accuracy(model, alphabet, paged, y):.4f} page-like ({len(y):,} glyphs); "
              f"{time.perf_counter() - start:.0f} s; wrote {out} ({out.stat().st_size:,} bytes)",
              flush=True)


def train_pairs(a, start: float) -> None:
    from svertka.datasets import mnist

    model = pairs.train_pairs("digits", count=a.count, epochs=a.epochs, seed=a.seed)
    _, (x, y) = mnist.load_data()
    test = {str(d): x[y == d] for d in range(10)}
    images, labels = pairs.pair_examples("digits", 10_000, np.random.default_rng(1), test)
    probs = model.predict(images[..., None].astype(np.float32) / np.float32(255), verbose=0)
    hit = float(np.mean(probs.argmax(axis=1) == labels))
    out = Path(a.output) / models.PAIR_WEIGHTS["digits"]
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(out)
    print(f"pairs: accuracy {hit:.4f} on 10,000 examples drawn from MNIST's test digits; "
          f"{time.perf_counter() - start:.0f} s; wrote {out} ({out.stat().st_size:,} bytes)",
          flush=True)


if __name__ == "__main__":
    main()
