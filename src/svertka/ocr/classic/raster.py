"""Raster (template) recognition: compare the glyph, pixel by pixel, with a template of each
class and answer the class of the most similar template.

The comparison is the normalised cross-correlation: both images are made zero-mean and
unit-norm, so the score is the cosine of the angle between them (1 for the same picture up to
brightness and contrast, near 0 for unrelated ones). The template of a class is the mean of
its training glyphs, or, with ``templates_per_class=k``, the centres of ``k`` clusters of them
(spherical k-means), which lets a class keep several writing styles apart (a "7" with and
without its bar, an open and a closed "4") instead of blurring them into one grey mean.

Its weakness is the one the method is named for: it sees pixels, not shapes. A stroke shifted
by two pixels, slanted, or drawn thicker than the templates correlates poorly with the right
template, and nothing in the score knows that a "6" is a loop with a stem.
"""

from __future__ import annotations

import numpy as np

from svertka import checks
from svertka.ocr.classic._base import GlyphClassifier


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Each glyph as a float32 row, zero-mean and unit-norm (a blank glyph stays all zero).

    >>> r = unit_rows(np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28))
    >>> r.shape, np.allclose(r.mean(axis=1), 0), np.allclose((r * r).sum(axis=1), 1)
    ((2, 784), True, True)
    """
    r = x.reshape(len(x), -1).astype(np.float32)
    r -= r.mean(axis=1, keepdims=True)
    norm = np.sqrt((r * r).sum(axis=1, keepdims=True))
    return r / np.maximum(norm, np.float32(1e-6))


def spherical_kmeans(r: np.ndarray, k: int, iterations: int = 15,
                     seed: int = 0) -> np.ndarray:
    """``k`` unit-norm centres of the unit rows ``r`` (k-means with cosine similarity).

    Seeded with k-means++ (each new seed far from those chosen), so the result is the same
    on every run for the same ``seed``.
    """
    rng = np.random.default_rng(seed)
    k = min(k, len(r))
    centres = [r[rng.integers(len(r))]]
    for _ in range(1, k):
        far = np.clip(1 - np.max(r @ np.stack(centres).T, axis=1), 0, None)
        p = far / far.sum() if far.sum() > 0 else None
        centres.append(r[rng.choice(len(r), p=p)])
    centres = np.stack(centres)
    for _ in range(iterations):
        nearest = (r @ centres.T).argmax(axis=1)
        for j in range(k):
            members = r[nearest == j]
            if len(members):  # an emptied cluster keeps its old centre
                c = members.mean(axis=0)
                centres[j] = c / max(float(np.linalg.norm(c)), 1e-6)
    return centres


class RasterClassifier(GlyphClassifier):
    """Template matching by normalised cross-correlation.

    ``templates_per_class``: 1 keeps the class mean; more keeps that many k-means centres
    per class, and a class scores the correlation of its best template.
    ``predict_scores(x)`` gives those correlations, in [-1, 1].

    >>> x = np.zeros((4, 28, 28), np.uint8)
    >>> x[0, 4:24, 12:16] = x[1, 5:23, 13:16] = 255   # two vertical bars
    >>> x[2, 12:16, 4:24] = x[3, 13:16, 5:23] = 255   # two horizontal bars
    >>> clf = RasterClassifier().fit(x, ["|", "|", "-", "-"])
    >>> clf.predict(x[[3, 0]]).tolist(), clf.score(x, ["|", "|", "-", "-"])
    (['-', '|'], 1.0)
    """

    def __init__(self, templates_per_class: int = 1, seed: int = 0):
        self.templates_per_class = checks.positive_int(
            "RasterClassifier", "templates_per_class", templates_per_class)
        self.seed = checks.integer("RasterClassifier", "seed", seed)

    def _fit(self, x, y):
        r = unit_rows(x)
        templates, owners = [], []
        for c in range(len(self.classes_)):
            members = r[y == c]
            if self.templates_per_class == 1:
                mean = members.mean(axis=0)
                t = (mean / max(float(np.linalg.norm(mean)), 1e-6))[None]
            else:
                t = spherical_kmeans(members, self.templates_per_class, seed=self.seed + c)
            templates.append(t)
            owners += [c] * len(t)
        self.templates_ = np.concatenate(templates).astype(np.float32)
        self.owners_ = np.asarray(owners)

    def _scores(self, x):
        ncc = unit_rows(x) @ self.templates_.T
        if self.templates_per_class == 1:
            return ncc
        out = np.full((len(x), len(self.classes_)), -np.inf, np.float32)
        for c in range(len(self.classes_)):
            out[:, c] = ncc[:, self.owners_ == c].max(axis=1)
        return out
