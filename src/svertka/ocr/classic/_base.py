"""What the three classic baselines share: input checks and the ``fit``/``predict``/``score``
interface, so that the benchmark and the tests can treat them alike.

A subclass turns glyphs into whatever it compares (``_fit`` keeps what it learned from the
training glyphs, ``_scores`` gives one score per class, higher meaning more likely); labels
are arbitrary (digits, letters, strings) and mapped to class indices here.
"""

from __future__ import annotations

import numpy as np

GLYPH_SHAPE = (28, 28)


def check_glyphs(where: str, x) -> np.ndarray:
    """``x`` as a uint8 array (N, 28, 28) with N >= 1, or a clear error naming ``where``."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{where}: argument 'x' must be a NumPy array of uint8 glyphs "
                        f"(N, 28, 28), received {type(x).__name__}")
    if x.dtype != np.uint8:
        raise TypeError(f"{where}: argument 'x' must hold uint8 glyphs (0..255, bright ink on "
                        f"black as MNIST), received dtype {x.dtype}; convert floats in [0, 1] "
                        f"with (x * 255).round().astype(np.uint8)")
    if x.ndim != 3 or x.shape[1:] != GLYPH_SHAPE:
        raise ValueError(f"{where}: argument 'x' must have shape (N, 28, 28), received "
                         f"{x.shape}")
    if len(x) == 0:
        raise ValueError(f"{where}: argument 'x' must hold at least one glyph, received 0")
    return x


def check_labels(where: str, y, n: int) -> np.ndarray:
    """``y`` as a 1-D array of ``n`` labels, or a clear error naming ``where``."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{where}: argument 'y' must be a 1-D array of labels, received "
                         f"shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"{where}: 'x' holds {n} glyphs but 'y' holds {len(y)} labels; "
                         f"they must match")
    return y


class GlyphClassifier:
    """Base of the classic baselines: ``fit(x, y) -> self``, ``predict(x) -> labels``,
    ``predict_scores(x) -> (N, classes)`` and ``score(x, y) -> accuracy``.

    ``classes_`` holds the sorted distinct training labels; column ``j`` of
    ``predict_scores`` belongs to ``classes_[j]``.
    """

    classes_: np.ndarray | None = None

    def fit(self, x, y):
        name = type(self).__name__
        x = check_glyphs(f"{name}.fit", x)
        y = check_labels(f"{name}.fit", y, len(x))
        self.classes_, index = np.unique(y, return_inverse=True)
        self._fit(x, index.reshape(-1))
        return self

    def predict_scores(self, x) -> np.ndarray:
        name = type(self).__name__
        if self.classes_ is None:
            raise ValueError(f"{name}.predict: the classifier is not fitted yet; call "
                             f"fit(x, y) first")
        return self._scores(check_glyphs(f"{name}.predict", x))

    def predict(self, x) -> np.ndarray:
        return self.classes_[self.predict_scores(x).argmax(axis=1)]

    def score(self, x, y) -> float:
        """The fraction of ``x`` whose predicted label equals ``y``."""
        x = check_glyphs(f"{type(self).__name__}.score", x)
        y = check_labels(f"{type(self).__name__}.score", y, len(x))
        return float(np.mean(self.predict(x) == y))

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _scores(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError
