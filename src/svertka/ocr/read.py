"""Reading a page: ink mask, lines, candidate characters, the classifier, the best reading.

For every line, each candidate run of pieces (``layout.candidates``) is cut out, normalised as
MNIST was (``normalize_glyph``) and classified, all in one batch; ``layout.best_path`` then
picks the split of the line into characters whose probabilities, together, are highest. The
classifier thereby decides where touching characters part and which broken pieces belong
together. Spaces are the gaps between characters that are wide for that line (``spaces``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from svertka import checks
from svertka.ocr import layout, pairs
from svertka.ocr.image import MAX_PIXELS, dark_ink, default_window, ink_mask, load_grey
from svertka.ocr.models import check_alphabet, recognizer
from svertka.ocr.normalize import normalize_glyph

LOW_CONFIDENCE = 0.6
SHORT_COST = 2.0  # taken from a fragment's log-probability when it is read as a character
PAIR_BIAS = -0.5  # added to a pair's log-probability when weighed against reading it by cuts


@dataclass
class Char:
    """One character read: its text, ink box ``(x0, y0, x1, y1)`` (ends exclusive) in the
    page, the classifier's probability for it, and whether that is below the threshold."""

    text: str
    box: tuple
    confidence: float
    low_confidence: bool


@dataclass
class Line:
    """One line: its text (with spaces), box, and characters (spaces have none)."""

    text: str
    box: tuple
    chars: list = field(default_factory=list)


@dataclass
class Result:
    """What ``read`` found: the lines top to bottom, the alphabet, and the page's polarity."""

    lines: list
    alphabet: str
    size: tuple
    dark_ink: bool

    @property
    def text(self) -> str:
        """The lines' texts joined by newlines."""
        return "\n".join(line.text for line in self.lines)

    @property
    def chars(self) -> list:
        """Every character, line by line."""
        return [c for line in self.lines for c in line.chars]

    def as_dict(self) -> dict:
        """A JSON-ready dictionary of everything (boxes as lists)."""
        return {"text": self.text, "alphabet": self.alphabet,
                "width": self.size[0], "height": self.size[1], "dark_ink": self.dark_ink,
                "lines": [asdict(line) for line in self.lines]}


def read(image, alphabet: str = "digits", min_confidence: float = LOW_CONFIDENCE,
         polarity: str = "auto", slant: bool = False, max_pixels: int = MAX_PIXELS,
         model=None) -> Result:
    """The text in ``image`` (a path, PIL image or array; see ``image.load_grey``), read with
    the shipped classifier of ``alphabet`` (``"digits"``, ``"letters"`` A-J, ``"both"``) or
    ``model`` (a ``Recognizer``). Characters the classifier gives less than
    ``min_confidence`` are marked ``low_confidence``. ``slant=True`` deslants each character
    before classifying it. A page with no ink gives a ``Result`` with no lines.

    >>> page = np.full((40, 40), 255, np.uint8)
    >>> read(page).lines  # nothing written on it
    []
    """
    check_alphabet("read", alphabet)
    min_confidence = checks.finite_float("read", "min_confidence", min_confidence, 0.0, 1.0)
    if polarity not in ("auto", "dark", "light"):
        raise ValueError(f"read: argument 'polarity' must be 'auto', 'dark' or 'light', "
                         f"received {polarity!r}")
    grey = load_grey(image, max_pixels)
    dark = dark_ink(grey) if polarity == "auto" else polarity == "dark"
    ink = text_ink(grey, dark)
    size = (grey.shape[1], grey.shape[0])
    lines = layout.find_lines(ink)
    if not lines:
        return Result([], alphabet, size, dark)
    rec = model if model is not None else recognizer(alphabet)
    runs = [layout.candidates(line) for line in lines]
    pair_runs = [layout.pair_candidates(line) if rec.pairs is not None else []
                 for line in lines]
    # each candidate's ink, once: its glyph (or pair image), its height and its box
    masks = [[line.mask(i, j) for i, j, *_rest in single + double]
             for line, single, double in zip(lines, runs, pair_runs)]
    glyphs = [normalize_glyph(ink, slant=slant)
              for ms, single in zip(masks, runs) for ink, _ in ms[:len(single)]]
    images = [pairs.normalize_pair(ink)
              for ms, single in zip(masks, runs) for ink, _ in ms[len(single):]]
    probs = rec.probabilities(np.stack(glyphs))
    pair_probs = rec.pair_probabilities(np.array(images, np.uint8).reshape(-1, *pairs.FIELD))
    out, k, kp = [], 0, 0
    for line, line_runs, line_pairs, ms in zip(lines, runs, pair_runs, masks):
        p = probs[k:k + len(line_runs)]
        k += len(line_runs)
        pp = pair_probs[kp:kp + len(line_pairs)]
        kp += len(line_pairs)
        best = np.concatenate([p.argmax(axis=1), pp.argmax(axis=1)]).astype(int)
        conf = np.concatenate([p.max(axis=1, initial=0.0), pp.max(axis=1, initial=0.0)])
        scored = []
        for r, ((i, j, _, x0, x1, joins), c) in enumerate(zip(line_runs + line_pairs, conf)):
            pair = r >= len(p)
            logp = (float(np.log(max(c, 1e-12))) + PAIR_BIAS * pair
                    - SHORT_COST * _short(ms[r][0], line.char_height))
            scored.append((i, j, x0, x1, logp, joins, 1 + pair))
        path = layout.best_path(len(line.pieces), scored, line.char_width,
                                cuts=layout.cut_boundaries(line))
        chars = []
        for r in path:
            c = float(conf[r])
            if r < len(p):
                box = line.mask_box(*ms[r])
                chars.append(Char(rec.alphabet[best[r]], box, round(c, 4), c < min_confidence))
                continue
            n = len(rec.alphabet)  # a pair read whole: both characters, the ink split between
            for text, box in zip((rec.alphabet[best[r] // n], rec.alphabet[best[r] % n]),
                                 _pair_boxes(line, *ms[r])):
                chars.append(Char(text, box, round(c, 4), c < min_confidence))
        out.append(_line(chars, line))
    return Result(out, alphabet, size, dark)


def _short(ink: np.ndarray, char_height: float) -> bool:
    """Whether a candidate's ink is shorter than ``layout.SMALL`` of a character: a fragment,
    read alone only when nothing can take it in."""
    rows = np.flatnonzero(ink.any(axis=1))
    return bool(rows.size) and rows[-1] + 1 - rows[0] < layout.SMALL * char_height


def _pair_boxes(line, ink: np.ndarray, x0: int) -> tuple:
    """The page boxes of the two characters of a pair read whole (``ink`` from column ``x0``
    of the upright line): its ink split at the column of least ink in its middle half."""
    profile = ink.sum(axis=0)
    w = len(profile)
    cut = w // 4 + int(np.argmin(profile[w // 4: max(w // 4 + 1, 3 * w // 4)]))
    left, right = ink.copy(), ink.copy()
    left[:, cut:] = False
    right[:, :cut] = False
    if not left.any() or not right.any():
        box = line.mask_box(ink, x0)
        return box, box
    return line.mask_box(left, x0), line.mask_box(right, x0)


def text_ink(grey: np.ndarray, dark: bool) -> np.ndarray:
    """The ink mask of a page, its threshold window fitted to the text: Sauvola's window must
    be larger than the strokes, or the middle of a thick stroke, where the window sees only
    ink, is taken for paper. After a first pass, if the characters (median component height)
    are taller than two thirds of the window, the mask is made again with a window twice
    their height.

    >>> page = np.ones((300, 300), np.float32); page[40:260, 100:160] = 0.0  # a thick bar
    >>> bool(text_ink(page, dark=True)[150, 130])  # its middle is ink, not a hollow outline
    True
    """
    polarity = "dark" if dark else "light"
    window = default_window(grey.shape)
    ink = ink_mask(grey, window=window, polarity=polarity)
    _, boxes, areas = layout.components(ink)
    keep = layout.drop_specks(boxes, areas)
    if keep.size:
        height = float(np.median(boxes[keep - 1, 3] - boxes[keep - 1, 1]))
        if height > 2 * window / 3:
            ink = ink_mask(grey, window=int(2 * height) | 1, polarity=polarity)
    return ink


def spaces(gaps, char_height: float) -> list:
    """Which gaps between consecutive characters are spaces: those as wide as a character is
    tall, and those of at least 0.7 of it that are more than twice the line's narrower gaps
    (its lower quartile), so that a widely spaced line is not read as words of one letter.

    >>> spaces([3, 4, 20, 3], char_height=16.0), spaces([12, 13, 12, 13], char_height=16.0)
    ([False, False, True, False], [False, False, False, False])
    """
    gaps = np.asarray(gaps, float)
    if gaps.size == 0:
        return []
    narrow = float(np.percentile(gaps, 25))
    return [bool(g >= char_height or (g >= 0.7 * char_height and g > 2 * max(narrow, 1.0)))
            for g in gaps]


def _line(chars, line) -> Line:
    gaps = [b.box[0] - a.box[2] for a, b in zip(chars, chars[1:])]
    text = chars[0].text if chars else ""
    for c, space in zip(chars[1:], spaces(gaps, line.char_height)):
        text += (" " if space else "") + c.text
    boxes = np.array([c.box for c in chars]) if chars else np.zeros((1, 4), int)
    box = (int(boxes[:, 0].min()), int(boxes[:, 1].min()),
           int(boxes[:, 2].max()), int(boxes[:, 3].max()))
    return Line(text, box, chars)


def draw_boxes(image, result: Result, path) -> None:
    """Save ``image`` with a box around each character read and its text above it: green,
    or red where the confidence is low."""
    from PIL import Image, ImageDraw

    grey = load_grey(image, max_pixels=max(MAX_PIXELS, result.size[0] * result.size[1]))
    canvas = Image.fromarray(np.round(grey * 255).astype(np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for c in result.chars:
        colour = (220, 30, 30) if c.low_confidence else (20, 170, 60)
        x0, y0, x1, y1 = c.box
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=colour)
        draw.text((x0, max(0, y0 - 11)), c.text, fill=colour)
    canvas.save(path)
