"""Three classic ways to recognise a character, kept as baselines for the CNN.

- **Raster** (:class:`RasterClassifier`): compare the glyph pixel by pixel with a template of
  each class (normalised cross-correlation) and answer the best match. Simple and fast, but
  it sees pixels, not shapes: a shift, a slant or a thicker stroke lowers the match with the
  right template as much as a wrong shape would.
- **Structural** (:class:`StructuralClassifier`): describe the glyph by what a person would
  name, its loops, stroke ends, forks and where they lie, measured on its skeleton. Readable
  and independent of stroke thickness, but brittle: one gap in a stroke or one extra spur
  changes the counts completely, and many shapes share the same counts.
- **Feature-based** (:class:`FeatureClassifier`): describe the glyph by a vector of
  hand-designed measurements (gradient directions, ink per zone, projections) and let the
  nearest training glyphs vote. The strongest of the three, but only as good as what the
  features happen to measure, and it searches the whole training set for every glyph.

All three take uint8 glyphs (N, 28, 28), bright ink on black as MNIST, and share
``fit(x, y) -> self``, ``predict(x) -> labels``, ``predict_scores(x) -> (N, classes)`` and
``score(x, y) -> accuracy``. ``benchmarks/ocr_classic.py`` measures them against the CNN.
They need scikit-image and SciPy (the ``ocr`` extra).

>>> from svertka.ocr.classic import RasterClassifier
>>> x = np.zeros((2, 28, 28), np.uint8); x[0, 4:24, 12:16] = x[1, 12:16, 4:24] = 255
>>> RasterClassifier().fit(x, ["|", "-"]).predict(x[::-1]).tolist()
['-', '|']
"""

import numpy as np  # noqa: F401  (for the example above)

from svertka.ocr.classic.features import FeatureClassifier
from svertka.ocr.classic.raster import RasterClassifier
from svertka.ocr.classic.structural import StructuralClassifier

__all__ = ["FeatureClassifier", "RasterClassifier", "StructuralClassifier"]
