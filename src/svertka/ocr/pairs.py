"""Touching pairs read whole: a second classifier for two characters that touch or overlap.

Cutting two touching digits apart leaves each with a piece of the other, or cuts a stroke
short, and the single-character classifier then reads a '16' as a '6' (README, "Reading
text"). A pair of touching digits is still easy to read *as a pair*: the pair classifier sees
the whole candidate, normalised as MNIST's recipe does a glyph but into a field twice as wide
(the ink box fitted in 20x48, centred by its centre of mass in 28x56), and answers one of the
100 pairs "00".."99" or "not a pair" (one wide character, three, or a bad cut). The reader
offers it the runs of one connected atom ``layout.PAIR_WIDTHS`` characters wide, and
dynamic programming weighs "two characters read as a pair" against the cuts, on the same
log-probability scale.

Trained on pairs composed by ``svertka.ocr.synth`` from *training* glyphs only, touching or
overlapping, their ink thresholded from the composed line and cut out with the reader's
layout steps (``pair_examples``).
"""

from __future__ import annotations

import numpy as np

from svertka.ocr.models import ALPHABETS
from svertka.ocr.normalize import fit_ink, ink_box  # noqa: F401 - ink_box: the example

BOX = (20, 48)  # the ink box is fitted in this (height, width), aspect ratio kept
FIELD = (28, 56)


def normalize_pair(mask) -> np.ndarray:
    """Two characters as one MNIST-style image: ink bright on black, the ink box fitted in
    20x48 keeping its aspect ratio (area-averaged when shrinking), centred by its centre of
    mass in a 28x56 field. An empty mask gives zeros.

    >>> m = np.zeros((40, 70), bool); m[5:35, 10:20] = True; m[5:35, 40:50] = True
    >>> out = normalize_pair(m)
    >>> out.shape, out.dtype, ink_box(out > 127)[:2]
    ((28, 56), dtype('uint8'), (4, 24))
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"normalize_pair: argument 'mask' must be a 2-D array (H, W), "
                         f"received shape {mask.shape}")
    return fit_ink(mask, BOX, FIELD, ((FIELD[0] - 1) / 2, (FIELD[1] - 1) / 2), "normalize_pair")


def pair_cnn(classes: int):
    """The pair classifier: ``glyph_cnn``'s layers on a 28x56 field (28x56 -> 14x28 -> 7x14 ->
    4x7), ``classes`` outputs (100 pairs and "not a pair" for the digits).

    >>> pair_cnn(101).output_shape
    (None, 101)
    """
    from svertka.ocr.models import glyph_cnn

    return glyph_cnn(classes, field=FIELD, name="pair_cnn")


def _upright_line(chars: str, n: int, rng, settings, glyphs):
    """A line of ``n`` touching or overlapping characters drawn by ``synth``, as the reader
    sees it: thresholded, made upright (``layout.find_lines``). ``(mask, text, boxes, line)``,
    or None when it does not come out as one line."""
    from svertka.ocr import layout, synth

    cov, text, boxes, _ = synth._line(chars, rng, settings, glyphs)
    lines = layout.find_lines(cov > rng.uniform(0.35, 0.65))  # strokes a little bolder/thinner
    if len(lines) != 1:
        return None
    return lines[0].labels > 0, text, boxes, lines[0]


def _cut_between(line, boxes, k: int) -> int:
    """The upright column between characters ``k`` and ``k + 1`` of a drawn line."""
    middle = (boxes[k][2] + boxes[k + 1][0]) / 2
    rows = np.arange(max(boxes[k][1], boxes[k + 1][1]), min(boxes[k][3], boxes[k + 1][3]))
    rows = rows[(rows >= line.y0) & (rows < line.y1)] - line.y0
    shift = float(np.median(line.shifts[rows])) if rows.size else float(line.shifts.mean())
    return int(round(middle + shift))


def pair_examples(alphabet: str, count: int, rng: np.random.Generator, glyphs):
    """``count`` pair images and labels for the pair classifier, from ``glyphs``
    (``{character: uint8 (N, 28, 28)}``, *training* glyphs) drawn touching (75%) or
    overlapping (25%) with ``synth``'s default slant, size and stroke: 60% pairs (label
    ``a * len(alphabet) + b``); and "not a pair" (label ``len(alphabet) ** 2``): one character
    alone (12%), three (8%), a pair with 12-30% of its width cut off one side (10%); the last
    10% are two of three touching characters cut apart where they meet (the pair, 60% of
    them) or with a cut 25-60% of a character's width too deep (not a pair), as the reader's
    cuts of a longer run deliver them. ``(x uint8 (count, 28, 56), y)``."""
    import dataclasses

    from svertka.ocr import synth

    chars = ALPHABETS[alphabet]
    k = len(chars)
    reject = k * k
    base = synth.Settings()
    drawn = {n: dataclasses.replace(base, length=(n, n), touching=0.75, overlapping=0.25,
                                    space=0.0) for n in (1, 2, 3)}
    xs, ys = [], []
    while len(xs) < count:
        kind = rng.random()
        n = 2 if kind < 0.6 or 0.8 <= kind < 0.9 else 1 if kind < 0.72 else 3
        got = _upright_line(chars, n, rng, drawn[n], glyphs)
        if got is None:
            continue
        mask, text, boxes, line = got
        label = reject
        if kind < 0.6:
            label = chars.index(text[0]) * k + chars.index(text[1])
        elif 0.8 <= kind < 0.9:  # a bad cut: one side short by 12-30% of the pair's width
            cols = np.flatnonzero(mask.any(axis=0))
            cut = int(round(rng.uniform(0.12, 0.3) * (cols[-1] + 1 - cols[0])))
            mask = mask.copy()
            if rng.random() < 0.5:
                mask[:, :cols[0] + cut] = False
            else:
                mask[:, cols[-1] + 1 - cut:] = False
        elif kind >= 0.9:  # two of three, cut apart where they meet or a third too deep
            left = rng.random() < 0.5
            b = 1 if left else 0
            cut = _cut_between(line, boxes, b)
            if rng.random() < 0.6:
                first = text[:2] if left else text[1:]
                label = chars.index(first[0]) * k + chars.index(first[1])
            else:
                other = boxes[b + 1] if left else boxes[b]
                cut += int(round((-1 if left else 1) * rng.uniform(0.25, 0.6)
                                 * (other[2] - other[0])))
            mask = mask.copy()
            if left:
                mask[:, cut:] = False
            else:
                mask[:, :max(cut, 0)] = False
            if not mask.any():
                continue
        xs.append(normalize_pair(mask))
        ys.append(label)
    return np.stack(xs), np.asarray(ys, np.int64)


def train_pairs(alphabet: str = "digits", count: int = 170_000, epochs: int = 3, seed: int = 0,
                verbose: int = 1):
    """``pair_cnn`` for ``alphabet`` fitted on ``pair_examples`` of its training glyphs
    (MNIST's training digits): Adam, batch 128, a cosine decay of the rate from 2e-3."""
    from svertka import optimizers
    from svertka.datasets import mnist
    from svertka.random import seed as set_seed

    if alphabet != "digits":
        raise ValueError(f"train_pairs: argument 'alphabet' must be 'digits' (the only one "
                         f"with a pair classifier), received {alphabet!r}")
    set_seed(seed)
    (x, y), _ = mnist.load_data()
    glyphs = {str(d): x[y == d] for d in range(10)}
    images, labels = pair_examples(alphabet, count, np.random.default_rng(seed), glyphs)
    model = pair_cnn(len(ALPHABETS[alphabet]) ** 2 + 1)
    steps = epochs * -(-len(images) // 128)
    model.compile(optimizer=optimizers.Adam(optimizers.schedules.CosineDecay(2e-3, steps)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images[..., None].astype(np.float32) / np.float32(255), labels, batch_size=128,
              epochs=epochs, verbose=verbose)
    return model
