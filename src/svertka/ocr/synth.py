"""Synthetic text lines and pages to measure reading on, with their ground truth.

Lines are composed from *test-split* glyphs only (MNIST's test images for digits, the test part
of :func:`svertka.ocr.data.letters_split` for the letters A-J), so no figure measured on them
rests on a glyph a model was trained on. Each glyph is cropped to its ink, rescaled, slanted,
thickened or thinned, and set on a line with a drawn gap to its neighbour: separated, touching
(the strokes really meet), overlapping, or a word space. A page stacks several lines, then gets
paper and ink grey levels, uneven lighting, blur, noise and, sometimes, inverted polarity.
Everything is drawn from the NumPy ``Generator`` given, so a seed gives the same pages.

:class:`Settings` holds the difficulty knobs, with presets ``"easy"``, ``"default"`` and
``"hard"``; :func:`char_accuracy` and :func:`line_accuracy` score a reading against the truth.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from svertka import checks
from svertka.ocr.models import ALPHABETS

INK_THRESHOLD = 30  # grey level (of 255) above which a source glyph pixel counts as ink
SOLID = 0.5  # ink coverage at which two glyphs count as touching: the strokes visibly merge
PRESETS = ("easy", "default", "hard")


def _pair(name: str, value, low: float, high: float | None = None, integer: bool = False):
    expected = (f"a pair (low, high) of {'ints' if integer else 'numbers'} with {low} <= low "
                f"<= high{'' if high is None else f' <= {high}'}")
    ok = isinstance(value, Sequence) and len(value) == 2 and all(
        (checks.is_int(v) if integer else isinstance(v, numbers.Real)
         and not isinstance(v, (bool, np.bool_)) and math.isfinite(v)) for v in value)
    if not ok or not (low <= value[0] <= value[1]) or (high is not None and value[1] > high):
        raise ValueError(f"Settings: argument '{name}' must be {expected}, received {value!r}")
    return tuple(int(v) if integer else float(v) for v in value)


@dataclass(frozen=True)
class Settings:
    """How hard the synthetic pages are. Sizes and gaps are relative to a line's glyph size:
    the side of the square each glyph's ink is fitted in (its height for all but wide glyphs).

    ``height``: glyph size range in pixels, drawn per line; ``size_jitter``: per-glyph size
    change (fraction). ``gap``: gap between neighbours' ink boxes (fraction of the glyph size).
    Per pair of neighbours, with probability ``touching`` the strokes just meet (gap 0 or an
    overlap of a pixel or two), ``overlapping`` the ink boxes overlap by ``overlap`` (fraction of
    the narrower glyph's width), ``space`` a word space of ``space_gap`` glyph sizes separates
    them (a ``" "`` in the truth). ``slant``: largest shear angle in degrees, drawn per line (and
    varied a little per glyph). ``stroke``: probability that a line's strokes are 1 px thicker or
    thinner. ``noise``, ``blur``: ranges of gaussian noise sigma (grey levels) and blur sigma
    (pixels), drawn per image. ``gradient``: largest uneven-lighting strength, a fraction of the
    ink/paper contrast (a linear ramp mixed with a vignette). ``inverted``: probability of a
    light-on-dark image. ``ink``, ``paper``: grey level ranges. ``length``: characters per line,
    spaces aside. ``jitter``: baseline jitter per glyph (fraction of the glyph size).

    >>> Settings.preset("easy").space, Settings.preset("hard").touching
    (0.0, 0.3)
    >>> import dataclasses
    >>> dataclasses.replace(Settings(), touching=1.0, overlapping=0.0, space=0.0).touching
    1.0
    """

    height: tuple[int, int] = (28, 56)
    size_jitter: float = 0.08
    gap: tuple[float, float] = (0.12, 0.5)
    touching: float = 0.1
    overlapping: float = 0.02
    overlap: tuple[float, float] = (0.1, 0.3)
    space: float = 0.1
    space_gap: tuple[float, float] = (1.2, 2.0)
    slant: float = 10.0
    stroke: float = 0.2
    noise: tuple[float, float] = (2.0, 8.0)
    blur: tuple[float, float] = (0.0, 0.8)
    gradient: float = 0.2
    inverted: float = 0.2
    ink: tuple[int, int] = (0, 70)
    paper: tuple[int, int] = (180, 250)
    length: tuple[int, int] = (5, 10)
    jitter: float = 0.05

    def __post_init__(self):
        fix = functools.partial(object.__setattr__, self)
        fix("height", _pair("height", self.height, 8, 400, integer=True))
        fix("length", _pair("length", self.length, 1, 1000, integer=True))
        fix("ink", _pair("ink", self.ink, 0, 255, integer=True))
        fix("paper", _pair("paper", self.paper, 0, 255, integer=True))
        for name, high in (("gap", 5), ("overlap", 0.9), ("space_gap", 20), ("noise", 100),
                           ("blur", 10)):
            fix(name, _pair(name, getattr(self, name), 0, high))
        for name, high in (("size_jitter", 0.5), ("touching", 1), ("overlapping", 1),
                           ("space", 1), ("slant", 44), ("stroke", 1), ("gradient", 1),
                           ("inverted", 1), ("jitter", 0.5)):
            fix(name, checks.finite_float("Settings", name, getattr(self, name), 0.0, high))
        if self.touching + self.overlapping + self.space > 1:
            raise ValueError("Settings: 'touching' + 'overlapping' + 'space' must be <= 1 (they "
                             f"are probabilities of exclusive pair kinds), received "
                             f"{self.touching + self.overlapping + self.space}")
        if self.ink[1] >= self.paper[0]:
            raise ValueError(f"Settings: every 'ink' level must be darker than every 'paper' "
                             f"level, received ink={self.ink}, paper={self.paper}")
        if self.space > 0 and self.space_gap[0] <= self.gap[1]:
            raise ValueError(f"Settings: word spaces must be wider than ordinary gaps "
                             f"('space_gap' low > 'gap' high), received space_gap="
                             f"{self.space_gap}, gap={self.gap}")

    @classmethod
    def preset(cls, name: str) -> Settings:
        """``"easy"``: clean, well spaced, no spaces, dark on light; ``"default"``: a realistic
        scanned form (mostly separated glyphs, ~10% touching pairs, slant up to 10 degrees, mild
        noise and lighting, 20% inverted pages); ``"hard"``: many touching and overlapping pairs,
        stronger noise, blur, lighting and slant, weaker contrast."""
        if name == "easy":
            return cls(height=(32, 48), size_jitter=0.05, gap=(0.25, 0.6), touching=0.0,
                       overlapping=0.0, space=0.0, slant=0.0, stroke=0.0, noise=(0.0, 2.0),
                       blur=(0.0, 0.0), gradient=0.0, inverted=0.0, ink=(0, 30),
                       paper=(225, 255), jitter=0.02)
        if name == "default":
            return cls()
        if name == "hard":
            return cls(height=(24, 64), size_jitter=0.15, gap=(0.05, 0.4), touching=0.3,
                       overlapping=0.15, overlap=(0.1, 0.35), space=0.15, space_gap=(1.2, 2.0),
                       slant=20.0, stroke=0.4, noise=(5.0, 16.0), blur=(0.3, 1.5),
                       gradient=0.5, inverted=0.3, ink=(0, 100), paper=(160, 245), jitter=0.1)
        raise ValueError(f"Settings.preset: argument 'name' must be one of {PRESETS}, "
                         f"received {name!r}")


def glyph_set(alphabet: str) -> dict[str, np.ndarray]:
    """The test-split glyphs of ``alphabet``, as ``{character: uint8 (N, 28, 28)}``, bright ink
    on black. notMNIST glyphs whose ink covers over 80% of the frame are left out (129 of
    2,000): mostly inverted blocks (a dark 'I' cut out of a bright square), the rest ultra-bold
    letters with their holes filled in; neither reads as a letter on a page. Loaded once."""
    chars = _alphabet("glyph_set", alphabet)
    out = {}
    if any(c.isdigit() for c in chars):
        out.update(_loaded("digits"))
    if any(c.isalpha() for c in chars):
        out.update(_loaded("letters"))
    return {c: out[c] for c in chars}


@functools.cache
def _loaded(kind: str) -> dict[str, np.ndarray]:
    if kind == "digits":
        from svertka.datasets import mnist

        _, (x, y) = mnist.load_data()
    else:
        from svertka.ocr.data import letters_split

        with warnings.catch_warnings():  # notMNIST ships its t10k file alone: expected here
            warnings.simplefilter("ignore", UserWarning)
            _, (x, y) = letters_split()
        keep = (x > INK_THRESHOLD).mean(axis=(1, 2)) <= 0.8
        x, y = x[keep], y[keep]
    return {c: x[y == i] for i, c in enumerate(ALPHABETS[kind])}


def _alphabet(where: str, alphabet) -> str:
    if alphabet not in ALPHABETS:
        raise ValueError(f"{where}: argument 'alphabet' must be one of {tuple(ALPHABETS)}, "
                         f"received {alphabet!r}")
    return ALPHABETS[alphabet]


def _inputs(where: str, alphabet, rng, settings, glyphs):
    chars = _alphabet(where, alphabet)
    if checks.is_int(rng):
        rng = np.random.default_rng(rng)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{where}: argument 'rng' must be a numpy.random.Generator or an int "
                        f"seed, received {type(rng).__name__}")
    settings = Settings() if settings is None else settings
    if isinstance(settings, str):
        settings = Settings.preset(settings)
    if not isinstance(settings, Settings):
        raise TypeError(f"{where}: argument 'settings' must be a Settings, a preset name or "
                        f"None, received {type(settings).__name__}")
    if glyphs is None:
        glyphs = glyph_set(alphabet)
    if not isinstance(glyphs, Mapping):
        raise TypeError(f"{where}: argument 'glyphs' must be a mapping character -> uint8 "
                        f"(N, h, w) array, received {type(glyphs).__name__}")
    for c in chars:
        g = glyphs.get(c)
        if (not isinstance(g, np.ndarray) or g.dtype != np.uint8 or g.ndim != 3 or len(g) == 0
                or not (g > INK_THRESHOLD).any(axis=(1, 2)).all()):
            raise ValueError(f"{where}: argument 'glyphs' must map {c!r} to a non-empty uint8 "
                             f"(N, h, w) array of glyphs that each hold ink (> {INK_THRESHOLD}),"
                             f" received {None if g is None else getattr(g, 'shape', type(g))}")
    return chars, rng, settings, glyphs


def _crop(a: np.ndarray, threshold: float) -> np.ndarray | None:
    ink = a > threshold
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return None
    return a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _glyph(src: np.ndarray, size: float, slant: float, pen: int) -> np.ndarray:
    """Ink coverage in [0, 1], cropped to its ink: ``src`` fitted in a ``size`` square,
    sheared by ``slant`` degrees (top to the right when positive), ``pen`` +1/-1: 1 px bolder or
    thinner."""
    crop = _crop(src, INK_THRESHOLD)
    scale = size / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    g = np.asarray(Image.fromarray(crop).resize((w, h), Image.Resampling.BICUBIC), np.float32)
    g /= 255.0
    if slant:
        t = math.tan(math.radians(slant))
        shift = max(0.0, -t * (h - 1))
        out_w = w + math.ceil(abs(t) * (h - 1))
        # output column x holds input column x - t*(h-1-y) - shift: the top leans by t per row
        g = ndimage.affine_transform(g, [[1.0, 0.0], [t, 1.0]], offset=[0.0, -t * (h - 1) - shift],
                                     output_shape=(h, out_w), order=1)
    if pen > 0:
        g = ndimage.grey_dilation(g, size=(2, 2))
    elif pen < 0:
        thin = ndimage.grey_erosion(g, size=(2, 2))
        if (thin >= SOLID).sum() >= 0.4 * (g >= SOLID).sum():  # thin strokes would vanish
            g = thin
    g = np.clip(g, 0.0, 1.0)
    out = _crop(g, INK_THRESHOLD / 255)
    return g if out is None else out  # a faint speck shrunk below the threshold: kept whole


def _contact(a: np.ndarray, xa: int, ta: int, b: np.ndarray, tb: int) -> int | None:
    """The left edge for ``b`` (top ``tb``) at which its solid ink first meets that of ``a``
    (left ``xa``, top ``ta``) side by side in some row; None if they share no inked row."""
    best = None
    for r in range(max(ta, tb), min(ta + a.shape[0], tb + b.shape[0])):
        ra, rb = np.flatnonzero(a[r - ta] >= SOLID), np.flatnonzero(b[r - tb] >= SOLID)
        if len(ra) and len(rb):
            x = xa + ra[-1] + 1 - rb[0]
            best = x if best is None else max(best, x)
    return best


def _line(chars: str, rng, s: Settings, glyphs) -> tuple[np.ndarray, str, list, int]:
    """Ink coverage of one line cropped to its ink, its text, char boxes, and glyph size."""
    size = int(rng.integers(s.height[0], s.height[1] + 1))
    text = [chars[i] for i in rng.integers(0, len(chars), rng.integers(s.length[0],
                                                                       s.length[1] + 1))]
    slant = rng.uniform(-s.slant, s.slant)
    pen = int(rng.choice([-1, 0, 1], p=[s.stroke / 2, 1 - s.stroke, s.stroke / 2]))
    ims = []
    for c in text:
        src = glyphs[c][rng.integers(len(glyphs[c]))]
        ims.append(_glyph(src, size * rng.uniform(1 - s.size_jitter, 1 + s.size_jitter),
                          slant + rng.normal(0, s.slant / 4) if s.slant else 0.0, pen))
    jit = round(s.jitter * size)
    tops = [-g.shape[0] + int(rng.integers(-jit, jit + 1)) for g in ims]  # baseline at y = 0
    xs, out = [0], text[0]
    right = ims[0].shape[1]  # rightmost ink so far: gaps are measured from it
    kinds = [s.space, s.touching, s.overlapping, 1 - s.space - s.touching - s.overlapping]
    for i in range(1, len(ims)):
        a, b = ims[i - 1], ims[i]
        kind = rng.choice(4, p=np.clip(kinds, 0, None) / sum(np.clip(kinds, 0, None)))
        if kind == 0:
            x = right + round(rng.uniform(*s.space_gap) * size)
            out += " "
        elif kind == 3:
            x = right + max(1, round(rng.uniform(*s.gap) * size))
        else:
            x = _contact(a, xs[-1], tops[i - 1], b, tops[i])
            x = xs[-1] + a.shape[1] if x is None else x
            if kind == 1:  # touching: gap 0 or a pixel or two into the other stroke
                x -= int(rng.integers(0, max(1, round(0.03 * size)) + 1))
            else:
                x -= round(rng.uniform(*s.overlap) * min(a.shape[1], b.shape[1]))
            x = max(x, xs[-1] + 1)  # reading order stays left to right
        xs.append(int(x))
        out += text[i]
        right = max(right, x + b.shape[1])
    top = min(tops)
    cov = np.zeros((max(t + g.shape[0] for t, g in zip(tops, ims)) - top, right), np.float32)
    boxes = []
    for x, t, g in zip(xs, tops, ims):
        y = t - top
        # coverage adds like ink on paper: the darker wins, so touching strokes merge
        np.maximum(cov[y:y + g.shape[0], x:x + g.shape[1]], g,
                   out=cov[y:y + g.shape[0], x:x + g.shape[1]])
        boxes.append((x, y, x + g.shape[1], y + g.shape[0]))
    return cov, out, boxes, size


def _render(cov: np.ndarray, rng, s: Settings) -> np.ndarray:
    """Grey image of an ink coverage map: paper, ink, polarity, lighting, blur, noise."""
    paper, ink = rng.uniform(*s.paper), rng.uniform(*s.ink)
    img = paper - (paper - ink) * cov.astype(np.float64)
    if rng.random() < s.inverted:
        img = 255.0 - img
    h, w = img.shape
    if s.gradient:
        yy, xx = np.mgrid[0:h, 0:w]
        yy, xx = yy / max(h - 1, 1) - 0.5, xx / max(w - 1, 1) - 0.5
        angle = rng.uniform(0, 2 * math.pi)
        ramp = math.cos(angle) * xx + math.sin(angle) * yy
        cx, cy = rng.uniform(-0.3, 0.3, 2)
        vignette = (xx - cx) ** 2 + (yy - cy) ** 2
        mix = rng.uniform()
        field = (mix * (ramp - ramp.min()) / max(np.ptp(ramp), 1e-9)
                 + (1 - mix) * (vignette - vignette.min()) / max(np.ptp(vignette), 1e-9))
        img -= rng.uniform(0, s.gradient) * abs(paper - ink) * field  # lighting falls off
    sigma = rng.uniform(*s.blur)
    if sigma > 0:
        img = ndimage.gaussian_filter(img, sigma)
    img += rng.normal(0.0, rng.uniform(*s.noise), img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_line(alphabet: str, rng, settings: Settings | str | None = None, glyphs=None):
    """One line of text: ``(image uint8 (H, W), text, boxes)``, one ink box ``(x0, y0, x1, y1)``
    (x1, y1 exclusive) per non-space character, in reading order. ``rng``: a NumPy Generator
    (or an int seed); ``settings``: a :class:`Settings` or a preset name; ``glyphs``:
    ``{character: uint8 (N, h, w)}`` bright ink on black, by default :func:`glyph_set`.

    >>> g = {c: np.pad(np.full((1, 8, 4), 255, np.uint8), ((0, 0), (2, 2), (2, 2)))
    ...      for c in "0123456789"}
    >>> img, text, boxes = make_line("digits", np.random.default_rng(0), "easy", glyphs=g)
    >>> img.dtype, len(boxes) == len(text.replace(" ", "")), 5 <= len(text) <= 10
    (dtype('uint8'), True, True)
    """
    chars, rng, s, glyphs = _inputs("make_line", alphabet, rng, settings, glyphs)
    cov, text, boxes, size = _line(chars, rng, s, glyphs)
    m = max(2, size // 2)
    cov = np.pad(cov, m)
    boxes = [(x0 + m, y0 + m, x1 + m, y1 + m) for x0, y0, x1, y1 in boxes]
    return _render(cov, rng, s), text, boxes


def make_page(alphabet: str, rng, settings: Settings | str | None = None, lines: int = 8,
              glyphs=None):
    """A page of ``lines`` lines stacked with vertical gaps, indents and margins:
    ``(image uint8 (H, W), texts, line_boxes, char_boxes)``; ``line_boxes[i]`` encloses the
    ink of line ``i`` and ``char_boxes[i]`` lists its characters' boxes, in page pixels.

    >>> g = {c: np.pad(np.full((1, 8, 4), 255, np.uint8), ((0, 0), (2, 2), (2, 2)))
    ...      for c in "0123456789"}
    >>> img, texts, lb, cb = make_page("digits", np.random.default_rng(0), lines=3, glyphs=g)
    >>> len(texts), len(lb), [len(b) == len(t.replace(" ", "")) for b, t in zip(cb, texts)]
    (3, 3, [True, True, True])
    """
    chars, rng, s, glyphs = _inputs("make_page", alphabet, rng, settings, glyphs)
    lines = checks.positive_int("make_page", "lines", lines)
    made = [_line(chars, rng, s, glyphs) for _ in range(lines)]
    big = max(size for *_, size in made)
    margin = int(rng.integers(big // 2, big + 1))
    indents = [int(rng.integers(0, size + 1)) for *_, size in made]
    gaps = [round(rng.uniform(0.3, 1.0) * size) for *_, size in made]
    width = max(c.shape[1] + i for (c, *_), i in zip(made, indents)) + 2 * margin
    height = sum(c.shape[0] for c, *_ in made) + sum(gaps[1:]) + 2 * margin
    page = np.zeros((height, width), np.float32)
    texts, line_boxes, char_boxes, y = [], [], [], margin
    for (cov, text, boxes, _), x, gap in zip(made, indents, gaps):
        y += gap if texts else 0
        x += margin
        page[y:y + cov.shape[0], x:x + cov.shape[1]] = cov
        texts.append(text)
        line_boxes.append((x, y, x + cov.shape[1], y + cov.shape[0]))
        char_boxes.append([(x + a, y + b, x + c, y + d) for a, b, c, d in boxes])
        y += cov.shape[0]
    return _render(page, rng, s), texts, line_boxes, char_boxes


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) between two strings.

    >>> levenshtein("kitten", "sitting"), levenshtein("", "abc")
    (3, 3)
    """
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _lines(where: str, arg: str, value) -> list[str]:
    if isinstance(value, str):
        value = value.split("\n")
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{where}: argument '{arg}' must be a list of strings or a string of "
                        f"lines, received {type(value).__name__}")
    return [" ".join(v.split()) for v in value]  # spaces collapsed, ends stripped


def char_accuracy(truth_lines, read_lines) -> float:
    """``1 - (sum of edit distances) / (characters in the truth)``, line by line in order
    (a missing or extra line costs all its characters); spaces are collapsed and stripped first
    and count as characters. Below 0 when the reading adds more than the truth holds.

    >>> char_accuracy(["123"], ["124"])
    0.6666666666666667
    >>> char_accuracy(["12 3", "45"], ["12  3 "])
    0.6666666666666667
    """
    truth, read = _lines("char_accuracy", "truth_lines", truth_lines), _lines(
        "char_accuracy", "read_lines", read_lines)
    total = sum(len(t) for t in truth)
    if total == 0:
        raise ValueError("char_accuracy: argument 'truth_lines' must hold at least one "
                         f"character, received {truth_lines!r}")
    n = max(len(truth), len(read))
    truth, read = truth + [""] * (n - len(truth)), read + [""] * (n - len(read))
    return 1.0 - sum(levenshtein(t, r) for t, r in zip(truth, read)) / total


def line_accuracy(truth_lines, read_lines) -> float:
    """Share of lines read exactly (spaces collapsed and stripped), lines matched by order; a
    missing or extra line counts as a wrong one.

    >>> line_accuracy(["123", "45"], ["123", "46", "7"])
    0.3333333333333333
    """
    truth, read = _lines("line_accuracy", "truth_lines", truth_lines), _lines(
        "line_accuracy", "read_lines", read_lines)
    if not truth:
        raise ValueError("line_accuracy: argument 'truth_lines' must hold at least one line, "
                         "received none")
    return sum(t == r for t, r in zip(truth, read)) / max(len(truth), len(read))


__all__ = ["Settings", "char_accuracy", "glyph_set", "levenshtein", "line_accuracy",
           "make_line", "make_page"]
