"""Character recognition end to end: the digits and letters in an image, as text.

The notes open with optical character recognition, the task CNNs were first built for
(LeNet read the digits on cheques and envelopes). ``read`` takes any image and does what such
a reader does:

1. grey levels, polarity and a local (Sauvola) threshold against uneven lighting (``image``);
2. lines by horizontal projection, characters by connected components, candidate cuts
   where characters touch and joins where one is broken (``layout``);
3. each candidate normalised exactly as MNIST's digits were, 20x20 box in a 28x28 field
   centred by its centre of mass (``normalize``);
4. a small CNN per alphabet (``models``, trained by ``train`` on glyphs made to look as
   segmentation delivers them) scores every candidate, and the reading with the highest
   probability wins (``read``).

The notes' older methods (templates, structural features, feature vectors) are in
``svertka.ocr.classic``; ``svertka.ocr.synth`` composes test pages with known text.
Needs the ``ocr`` extra (Pillow and scikit-image): ``pip install svertka[ocr]``.

>>> import svertka.ocr as ocr                       # doctest: +SKIP
>>> result = ocr.read("postcode.png")               # doctest: +SKIP
>>> result.text, [c.confidence for c in result.chars]   # doctest: +SKIP
"""

from svertka.ocr.models import ALPHABETS, Recognizer, recognizer
from svertka.ocr.normalize import normalize_glyph
from svertka.ocr.read import Char, Line, Result, draw_boxes, read

__all__ = ["ALPHABETS", "Char", "Line", "Recognizer", "Result", "draw_boxes",
           "normalize_glyph", "read", "recognizer"]
