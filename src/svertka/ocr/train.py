"""Training the glyph classifiers on what segmentation hands them.

A glyph cut out of a page differs from a training image: its strokes are thicker or thinner,
it may lean, and where two characters touched, the cut leaves a sliver of the neighbour on one
side. ``page_like`` does those things to a training glyph (bilevel, at twice MNIST's
resolution, as a scanned character would be), then ``normalize_glyph`` brings it back to
28x28 as the reader will. ``training_set`` builds the arrays for an alphabet; ``train`` fits
``glyph_cnn`` on them.
"""

from __future__ import annotations

import numpy as np

from svertka import checks
from svertka.ocr.models import ALPHABETS, check_alphabet, glyph_cnn
from svertka.ocr.normalize import normalize_glyph, shear_rows


def upscale_mask(glyph: np.ndarray, factor: int = 2, threshold: int = 128) -> np.ndarray:
    """A 28x28 grey glyph (ink bright) as a bilevel mask ``factor`` times larger (bilinear,
    then thresholded), the way a scanner at a finer resolution would see it.

    >>> g = np.zeros((28, 28), np.uint8); g[10:18, 12:14] = 255
    >>> m = upscale_mask(g); m.shape, m.dtype, int(m.sum()) in range(50, 80)
    ((56, 56), dtype('bool'), True)
    """
    from PIL import Image

    h, w = glyph.shape
    big = Image.fromarray(np.asarray(glyph, np.uint8)).resize(
        (w * factor, h * factor), Image.Resampling.BILINEAR)
    return np.asarray(big) >= threshold


def _shear(mask: np.ndarray, shear: float) -> np.ndarray:
    """An ink mask sheared about its middle row (``normalize.shear_rows``)."""
    return shear_rows(mask.astype(np.float32), shear, mask.shape[0] / 2) >= 0.5


def _sliver(neighbour: np.ndarray, width: int, right_side: bool) -> np.ndarray:
    """The ``width`` columns (at most 40% of its ink's width) of the neighbour's ink nearest
    to the glyph it touched; none from a narrow neighbour (a '1' is a character of its own,
    which ``reject_examples`` teaches, not a sliver)."""
    cols = np.flatnonzero(neighbour.any(axis=0))
    rows = np.flatnonzero(neighbour.any(axis=1))
    if cols.size == 0 or cols.size < 0.5 * rows.size:
        return neighbour[:, :0]
    width = min(width, int(0.4 * cols.size))
    if right_side:  # the neighbour stood to the right: its leftmost columns remain
        return neighbour[:, cols[0]:cols[0] + width]
    return neighbour[:, max(cols[-1] + 1 - width, 0):cols[-1] + 1]


def page_like(mask: np.ndarray, neighbour: np.ndarray, rng: np.random.Generator,
              strength: float = 1.0) -> np.ndarray:
    """The bilevel glyph ``mask`` as segmentation may deliver it: thickened or thinned by a
    pixel, stretched in width by up to 20%, sheared by up to ``0.3 * strength`` (about 17
    degrees), and with probability ``0.25 * strength`` carrying a sliver (2 to 6 columns) of
    the glyph ``neighbour`` touching its left or right side.

    >>> m = np.zeros((56, 56), bool); m[10:46, 26:30] = True
    >>> out = page_like(m, m, np.random.default_rng(0), strength=0.0)
    >>> bool((out == m).all())
    True
    """
    from scipy import ndimage

    out = mask
    if strength > 0:
        thick = rng.random()
        if thick < 0.25 * strength:
            out = ndimage.binary_dilation(out)
        elif thick < 0.4 * strength:
            eroded = ndimage.binary_erosion(out)
            out = eroded if eroded.sum() > 0.4 * out.sum() else out
        stretch = 1.0 + rng.uniform(-0.2, 0.2) * strength
        if abs(stretch - 1) > 0.02:
            from PIL import Image

            h, w = out.shape
            img = Image.fromarray(out.astype(np.uint8) * 255)
            out = np.asarray(img.resize((max(1, round(w * stretch)), h),
                                        Image.Resampling.BILINEAR)) >= 128
        shear = rng.uniform(-0.3, 0.3) * strength
        if abs(shear) > 0.02:
            out = _shear(out, shear)
        if rng.random() < 0.25 * strength and out.any():
            right = bool(rng.random() < 0.5)
            piece = _sliver(neighbour, int(rng.integers(2, 7)), right)
            out = _attach(out, piece, right, rng)
    return out


def _attach(mask, piece, right: bool, rng) -> np.ndarray:
    """``mask`` with ``piece`` placed against its ink on one side (overlapping by 0-2 columns)
    at a random height within the ink's rows."""
    if piece.shape[1] == 0 or not piece.any():
        return mask
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    ph, pw = piece.shape
    overlap = int(rng.integers(0, 3))
    h = max(mask.shape[0], ph)
    canvas = np.zeros((h, mask.shape[1] + 2 * pw), bool)
    canvas[: mask.shape[0], pw: pw + mask.shape[1]] = mask
    top = int(np.clip(rows[0] + rng.integers(-ph // 4, ph // 4 + 1), 0, h - ph))
    if right:
        x = pw + cols[-1] + 1 - overlap
    else:
        x = pw + cols[0] - pw + overlap
    canvas[top:top + ph, x:x + pw] |= piece
    return canvas


def reject_examples(masks, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` normalised glyphs that are *not* one character, of the kinds a wrong cut or
    join of touching characters makes: a part (15-65% of the width, left or right) of a wide
    glyph, down to a sliver that looks like a stroke; two glyphs side by side (touching or 3
    pixels apart); or a glyph with more than a third of its neighbour. Trained as an extra
    class, they teach the classifier to say so, which lets the reader weigh readings of a line
    against each other (LeCun et al. 1998, section VI, trained their segmenter's recogniser
    the same way, with a "none of the above" class).

    >>> m = np.zeros((56, 56), bool); m[8:48, 10:40] = True
    >>> reject_examples([m, m], 3, np.random.default_rng(0)).shape
    (3, 28, 28)
    """
    out = []
    n = len(masks)
    while len(out) < count:
        a, b = masks[int(rng.integers(n))], masks[int(rng.integers(n))]
        ca, cb = np.flatnonzero(a.any(axis=0)), np.flatnonzero(b.any(axis=0))
        if ca.size == 0 or cb.size == 0:
            continue
        kind = rng.random()
        if kind < 0.5:  # a part of a wide glyph (a '1' is never cut: a part of it is a '1')
            if ca.size < 0.6 * np.flatnonzero(a.any(axis=1)).size:
                continue
            w = int(round(ca.size * rng.uniform(0.15, 0.65)))
            part = a[:, ca[0]:ca[0] + w] if rng.random() < 0.5 else a[:, ca[-1] + 1 - w:ca[-1] + 1]
            glyph = part
        elif kind < 0.8:  # two glyphs side by side
            gap = int(rng.integers(-2, 4))
            glyph = _side_by_side(a[:, ca[0]:ca[-1] + 1], b[:, cb[0]:cb[-1] + 1], gap)
        else:  # a glyph and more than a third of its neighbour
            w = int(round(cb.size * rng.uniform(0.35, 0.7)))
            glyph = _side_by_side(a[:, ca[0]:ca[-1] + 1], b[:, cb[0]:cb[0] + w], 0)
        out.append(normalize_glyph(glyph))
    return np.stack(out) if out else np.zeros((0, 28, 28), np.uint8)


def _side_by_side(left: np.ndarray, right: np.ndarray, gap: int) -> np.ndarray:
    h = max(left.shape[0], right.shape[0])
    w = left.shape[1] + max(gap, -left.shape[1] + 1) + right.shape[1]
    out = np.zeros((h, max(w, left.shape[1])), bool)
    out[: left.shape[0], : left.shape[1]] = left
    x = left.shape[1] + max(gap, -left.shape[1] + 1)
    out[: right.shape[0], x:x + right.shape[1]] |= right
    return out


def _iou(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _held(box, truth) -> float:
    """The share of the box ``truth`` that lies inside ``box``."""
    w = min(box[2], truth[2]) - max(box[0], truth[0])
    h = min(box[3], truth[3]) - max(box[1], truth[1])
    area = (truth[2] - truth[0]) * (truth[3] - truth[1])
    return max(w, 0) * max(h, 0) / area if area else 0.0


def segmentation_examples(alphabet: str, pages: int, rng: np.random.Generator, glyphs,
                          settings="default"):
    """What the reader's own segmentation cuts from ``pages`` synthetic pages of *training*
    glyphs (``glyphs``: ``{character: uint8 (N, 28, 28)}``), each candidate labelled by the
    true character boxes: its character where its ink box matches one (intersection over
    union at least 0.8) and holds less than 30% of any other; "not a character" where it
    matches none (below 0.5) or holds half of a second character (a narrow '1' leaning into a
    '6' barely moves the box, so the union alone would call "16" a '6'); the ambiguous ones
    between are left out. ``(x uint8 (N, 28, 28), y)``. This is LeCun et al.'s recipe
    for a segmenter's recogniser: train it on the segmenter's output, wrong cuts included."""
    from svertka.ocr import layout, synth
    from svertka.ocr.image import dark_ink
    from svertka.ocr.read import text_ink

    table = ALPHABETS[alphabet]
    xs, ys = [], []
    for _ in range(pages):
        image, texts, _, char_boxes = synth.make_page(alphabet, rng, settings, glyphs=glyphs)
        grey = image.astype(np.float32) / np.float32(255)
        truth = [(c, b) for t, bs in zip(texts, char_boxes)
                 for c, b in zip(t.replace(" ", ""), bs)]
        for line in layout.find_lines(text_ink(grey, dark_ink(grey))):
            for i, j, *_ in layout.candidates(line):
                box = line.page_box(i, j)
                scores = sorted(((_iou(box, b), _held(box, b), c) for c, b in truth),
                                reverse=True)
                score, _, char = scores[0] if scores else (0.0, 0.0, "")
                second = max((held for _, held, _ in scores[1:]), default=0.0)
                if score >= 0.8 and second < 0.3:
                    label = table.index(char)
                elif score < 0.5 or second >= 0.5:
                    label = len(table)
                else:
                    continue
                xs.append(normalize_glyph(line.mask(i, j)[0]))
                ys.append(label)
    if not xs:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.stack(xs), np.asarray(ys, np.int64)


def training_set(alphabet: str, copies: int = 2, seed: int = 0, limit: int | None = None,
                 rejects: float = 0.5, pages: int = 0):
    """``(x, y)`` for ``alphabet``: each training glyph once through ``normalize_glyph`` alone
    and ``copies`` times through ``page_like`` first, plus ``rejects`` times as many
    ``reject_examples`` with the label ``len(ALPHABETS[alphabet])`` (the extra class), plus the
    ``segmentation_examples`` of ``pages`` synthetic pages of the same training glyphs. x
    uint8 (N, 28, 28), y int labels into ``ALPHABETS[alphabet]``. notMNIST glyphs come from
    ``data.letters_split``'s training part (repeated 4 times in ``"both"`` so that letters are
    not swamped by 60,000 digits).
    ``limit`` keeps the first glyphs of each source (for quick runs)."""
    check_alphabet("training_set", alphabet)
    copies = checks.integer("training_set", "copies", copies, 0)
    sources = []
    if alphabet in ("digits", "both"):
        from svertka.datasets import mnist

        (x, y), _ = mnist.load_data()
        sources.append((x[:limit], y[:limit].astype(np.int64), 1))
    if alphabet in ("letters", "both"):
        from svertka.ocr.data import letters_split

        (x, y), _ = letters_split()
        offset = 10 if alphabet == "both" else 0
        sources.append((x[:limit], y[:limit].astype(np.int64) + offset,
                        4 if alphabet == "both" else 1))
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for x, y, repeat in sources:
        masks = [upscale_mask(g) for g in x]
        for _ in range(repeat):
            xs.append(np.stack([normalize_glyph(m) for m in masks]))
            ys.append(y)
            for _ in range(copies):
                partners = rng.integers(0, len(masks), len(masks))
                xs.append(np.stack([normalize_glyph(page_like(m, masks[j], rng))
                                    for m, j in zip(masks, partners)]))
                ys.append(y)
        count = int(rejects * len(masks) * repeat)
        xs.append(reject_examples(masks, count, rng))
        ys.append(np.full(count, len(ALPHABETS[alphabet]), np.int64))
    if pages:
        table = ALPHABETS[alphabet]
        glyphs = {}
        for x, y, _ in sources:
            glyphs.update({table[k]: x[y == k] for k in np.unique(y)})
        sx, sy = segmentation_examples(alphabet, pages, rng, glyphs)
        xs.append(sx)
        ys.append(sy)
    return np.concatenate(xs), np.concatenate(ys)


def train(alphabet: str, epochs: int = 4, copies: int = 2, seed: int = 0,
          limit: int | None = None, pages: int = 0, verbose: int = 1):
    """``glyph_cnn`` for ``alphabet`` (one output more than it has characters: "not a
    character") fitted on ``training_set`` (Adam, batch 128, a cosine decay of the rate from
    2e-3, with one-to-two-pixel shifts online)."""
    from svertka import optimizers
    from svertka.random import seed as set_seed

    set_seed(seed)
    x, y = training_set(alphabet, copies=copies, seed=seed, limit=limit, pages=pages)
    model = glyph_cnn(len(ALPHABETS[alphabet]) + 1)  # the last class: not a character
    steps = epochs * -(-len(x) // 128)
    rate = optimizers.schedules.CosineDecay(2e-3, steps)
    model.compile(optimizer=optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x[..., None].astype(np.float32) / np.float32(255), y, batch_size=128,
              epochs=epochs, augment="shift=0.07", verbose=verbose)
    return model
