"""How well ``svertka.ocr.read`` reads synthetic pages of test-split glyphs (never trained on).

    python benchmarks/ocr.py                                  # digits, every difficulty
    python benchmarks/ocr.py --alphabet letters --difficulty hard --pages 10
    python benchmarks/ocr.py --alphabet both --save-examples docs/ocr

Pages come from ``svertka.ocr.synth`` (MNIST's test digits, the test part of notMNIST's
letter split), ``--lines`` lines each, at the difficulty presets ``easy``, ``default``,
``hard`` (see ``synth.Settings.preset``). Each page's ``result.text`` is split into lines and
compared with the truth line by line, in order (a missing or extra line counts as wrong):
character accuracy is 1 - (edit distance) / (truth characters), line accuracy the share of
lines read exactly, spaces collapsed. Low confidence: the share of characters the reader
flagged. Times are ``read`` alone, per page, generation aside. Data come from
``$SVERTKA_DATA`` (default: ``../shared/data`` beside the repository, when it exists).
``--save-examples DIR`` writes each setting's first page as PNG, with its truth and reading.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
if "SVERTKA_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["SVERTKA_DATA"] = str(SHARED_DATA)

ALPHABETS = ("digits", "letters", "both")
DIFFICULTIES = ("easy", "default", "hard")


def measure(read, alphabet: str, difficulty: str, pages: int, lines: int, seed: int,
            examples: Path | None = None) -> dict:
    """Reads ``pages`` generated pages; the totals and scores of the setting."""
    from svertka.ocr import synth

    # one stream per setting, so adding a setting never changes another's pages
    rng = np.random.default_rng([seed, ALPHABETS.index(alphabet),
                                 DIFFICULTIES.index(difficulty)])
    settings = synth.Settings.preset(difficulty)
    truth, reading, low, chars, seconds = [], [], 0, 0, 0.0
    for page in range(pages):
        image, texts, _, _ = synth.make_page(alphabet, rng, settings, lines=lines)
        t = time.perf_counter()
        result = read(image, alphabet=alphabet)
        seconds += time.perf_counter() - t
        got = result.text.split("\n") if result.text else []
        truth.append(texts)
        reading.append(got)
        found = [c for line in result.lines for c in line.chars]
        chars += len(found)
        low += sum(bool(c.low_confidence) for c in found)
        if examples is not None and page == 0:
            save_example(examples, f"{alphabet}_{difficulty}", image, texts, got)
    n_lines = sum(len(t) for t in truth)
    sizes = [sum(len(" ".join(line.split())) for line in t) for t in truth]
    # per page, weighted back to counts: a page's extra line never shifts the next page's
    errors = sum(round((1 - synth.char_accuracy(t, r)) * n)
                 for t, r, n in zip(truth, reading, sizes))
    compared = [max(len(t), len(r)) for t, r in zip(truth, reading)]
    exact = sum(round(synth.line_accuracy(t, r) * n) for t, r, n in zip(truth, reading, compared))
    return dict(alphabet=alphabet, difficulty=difficulty, pages=pages, lines=n_lines,
                chars=sum(sizes), char_acc=1 - errors / sum(sizes), line_acc=exact / sum(compared),
                low=low / max(chars, 1), ms=1000 * seconds / pages)


def save_example(folder: Path, name: str, image: np.ndarray, truth, read) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(folder / f"{name}.png")
    (folder / f"{name}.txt").write_text("truth:\n" + "\n".join(truth) + "\n\nread:\n"
                                        + "\n".join(read) + "\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alphabet", choices=ALPHABETS, default="digits")
    p.add_argument("--difficulty", choices=DIFFICULTIES + ("all",), default="all")
    p.add_argument("--pages", type=int, default=20)
    p.add_argument("--lines", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-examples", type=Path, metavar="DIR")
    p.add_argument("--weights", type=Path, metavar="FILE",
                   help="a save_weights file of glyph_cnn to read with instead of the shipped one")
    p.add_argument("--no-pairs", action="store_true",
                   help="read without the classifier of touching pairs (what it adds)")
    args = p.parse_args(argv)
    if args.pages < 1 or args.lines < 1:
        p.error(f"--pages and --lines must be >= 1, received {args.pages} and {args.lines}")
    try:
        from svertka.ocr import read, recognizer
    except ImportError as e:
        sys.exit(f"benchmarks/ocr.py: svertka.ocr.read is not available ({e}): nothing "
                 "to measure yet (the generator itself is svertka.ocr.synth)")
    try:
        model = recognizer(args.alphabet, weights=args.weights,
                           pair_weights=False if args.no_pairs else None)
    except FileNotFoundError as e:  # the shipped weights are not trained yet
        sys.exit(f"benchmarks/ocr.py: {e}")
    difficulties = DIFFICULTIES if args.difficulty == "all" else (args.difficulty,)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.lines} lines a page, seed {args.seed}; weights: "
          f"{args.weights or 'shipped'}{', no pair classifier' if args.no_pairs else ''}; "
          f"data: {os.environ.get('SVERTKA_DATA', 'SVERTKA_DATA unset')}")
    print("| alphabet | difficulty | pages | lines | characters | character accuracy | "
          "line accuracy | low confidence | ms per page |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for difficulty in difficulties:
        r = measure(functools.partial(read, model=model), args.alphabet, difficulty,
                    args.pages, args.lines, args.seed, args.save_examples)
        print(f"| {r['alphabet']} | {r['difficulty']} | {r['pages']} | {r['lines']} | "
              f"{r['chars']:,} | {r['char_acc']:.2%} | {r['line_acc']:.2%} | {r['low']:.1%} | "
              f"{r['ms']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
