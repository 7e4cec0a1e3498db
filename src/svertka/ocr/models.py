"""The shipped character classifiers: one small CNN per alphabet, and the ``Recognizer`` that
runs them on MNIST-normalised glyphs.

================  ======================  ==========================================
alphabet          classes                 trained on (``svertka.ocr.train``)
================  ======================  ==========================================
``"digits"``      0-9                     MNIST's 60,000 training digits
``"letters"``     A-J                     notMNIST, 8,000 of its glyphs (``data``)
``"both"``        0-9 then A-J            both of the above
================  ======================  ==========================================

Each is trained on glyphs passed through what a page does to them (thickness, slant, shifts,
cut-off pieces of a neighbour) and then through ``normalize_glyph``, the same normalisation the
reader applies, so what the network sees at reading time is what it was trained on. Each has
one output more than its alphabet: "not a character" (half a glyph, two glyphs together),
which the reader needs to tell a good cut of touching characters from a bad one. The
commands that trained the shipped ones are in ``examples/train_ocr.py`` (README,
"Reading text"). Their weights are ``save_weights`` files (a JSON table plus arrays).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

ALPHABETS = {"digits": "0123456789", "letters": "ABCDEFGHIJ",
             "both": "0123456789ABCDEFGHIJ"}
WEIGHTS = {name: f"ocr-{name}.weights" for name in ALPHABETS}
PAIR_WEIGHTS = {"digits": "ocr-digits-pairs.weights"}  # touching pairs read whole (pairs.py)


def check_alphabet(where: str, alphabet) -> str:
    """``alphabet`` if it names one of ``ALPHABETS``, else a ValueError naming ``where``."""
    if not isinstance(alphabet, str) or alphabet not in ALPHABETS:
        raise ValueError(f"{where}: argument 'alphabet' must be one of {sorted(ALPHABETS)}, "
                         f"received {alphabet!r}")
    return alphabet


def glyph_cnn(classes: int, field: tuple = (28, 28), name: str = "glyph_cnn"):
    """The classifier: three 3x3 convolution stages with batch norm (28 -> 14 -> 7 -> 4),
    dropout, and one dense softmax layer; 160,298 parameters for 10 classes. Input: (28, 28, 1)
    pixels in [0, 1] (``field`` another size: the pair classifier's 28x56).

    >>> glyph_cnn(10).count_params()
    160298
    """
    from svertka.layers import (
        BatchNormalization,
        Conv2D,
        Dense,
        Dropout,
        Flatten,
        MaxPooling2D,
        ReLU,
    )
    from svertka.models import Sequential

    def conv(filters, **first):
        return [Conv2D(filters, 3, padding="same", use_bias=False, **first),
                BatchNormalization(), ReLU()]

    return Sequential([
        *conv(32, input_shape=(*field, 1)), *conv(32), MaxPooling2D(2),
        *conv(64), *conv(64), MaxPooling2D(2),
        *conv(128), MaxPooling2D(2, padding="same"),
        Flatten(), Dropout(0.3), Dense(classes, activation="softmax"),
    ], name=name)


def _load(model, weights, shipped: str, what: str):
    """``model`` with the weights of the file ``weights``, or else of the package's file
    ``shipped`` (in ``svertka/ocr/weights``)."""
    if weights is not None:
        model.load_weights(weights)
        return model
    file = resources.files("svertka.ocr") / "weights" / shipped
    if not file.is_file():
        raise FileNotFoundError(f"recognizer: the {what}'s weights are not in this "
                                f"installation ({file} is missing)")
    with resources.as_file(file) as local:
        model.load_weights(local)
    return model


class Recognizer:
    """A trained ``glyph_cnn`` with its alphabet. ``classify`` takes MNIST-normalised glyphs
    (ink bright on black, ``normalize_glyph``; MNIST's own images qualify as they are).

    ``model``: a model mapping (N, 28, 28, 1) pixels in [0, 1] to len(alphabet) + 1
    probabilities, the last one for "not a character". ``pairs`` (optional): a model mapping
    (N, 28, 56, 1) pair images (``svertka.ocr.pairs.normalize_pair``) to len(alphabet) ** 2 + 1
    probabilities, the pairs in order ("00", "01", ...) and "not a pair" last.
    """

    def __init__(self, model, alphabet: str, pairs=None):
        self.alphabet = ALPHABETS[check_alphabet("Recognizer", alphabet)]
        self.model = model
        self.pairs = pairs

    def pair_probabilities(self, images) -> np.ndarray:
        """float32 (N, len(alphabet) ** 2): the probability of each pair of characters for
        uint8 pair images (N, 28, 56); a row sums to 1 less the probability of "not a pair".
        """
        x = np.asarray(images)
        n = len(self.alphabet) ** 2
        if self.pairs is None or len(x) == 0:
            return np.zeros((len(x), n), np.float32)
        x = x[..., None].astype(np.float32) / np.float32(255)
        return np.asarray(self.pairs.predict(x, batch_size=256), dtype=np.float32)[:, :n]

    def probabilities(self, glyphs) -> np.ndarray:
        """float32 (N, len(alphabet)): the probability of each character for uint8 glyphs
        (N, 28, 28); a row sums to 1 less the probability that the glyph is not a character
        at all."""
        x = np.asarray(glyphs)
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise ValueError(f"Recognizer.probabilities: argument 'glyphs' must have shape "
                             f"(N, 28, 28), received {x.shape}")
        if len(x) == 0:
            return np.zeros((0, len(self.alphabet)), np.float32)
        x = x[..., None].astype(np.float32) / np.float32(255)
        p = np.asarray(self.model.predict(x, batch_size=256), dtype=np.float32)
        return p[:, : len(self.alphabet)]

    def classify(self, glyphs):
        """``(chars, probs)``: the most probable character of each glyph, and all the
        probabilities (float32, (N, len(alphabet)))."""
        probs = self.probabilities(glyphs)
        return [self.alphabet[i] for i in probs.argmax(axis=1)], probs


_CACHE: dict = {}


def recognizer(alphabet: str = "digits", weights=None, pair_weights=None) -> Recognizer:
    """The classifier for ``alphabet`` with its shipped weights (or those of the file
    ``weights``, a ``save_weights`` file of ``glyph_cnn``), and the classifier of touching
    pairs (``svertka.ocr.pairs``) where the alphabet has one: the shipped one
    (``pair_weights=None``, also beside other glyph weights), the ``save_weights`` file
    ``pair_weights`` of ``pair_cnn``, or none (``False``). Shipped ones are loaded once.

    >>> recognizer("digits").alphabet  # doctest: +SKIP
    '0123456789'
    """
    check_alphabet("recognizer", alphabet)
    shipped = weights is None and pair_weights is None
    if shipped and alphabet in _CACHE:
        return _CACHE[alphabet]
    model = _load(glyph_cnn(len(ALPHABETS[alphabet]) + 1), weights, WEIGHTS[alphabet],
                  f"{alphabet!r} classifier")
    pairs = None
    if pair_weights is not False and (pair_weights is not None or alphabet in PAIR_WEIGHTS):
        from svertka.ocr.pairs import pair_cnn

        pairs = _load(pair_cnn(len(ALPHABETS[alphabet]) ** 2 + 1), pair_weights,
                      PAIR_WEIGHTS.get(alphabet), f"{alphabet!r} pair classifier")
    rec = Recognizer(model, alphabet, pairs)
    if shipped:
        _CACHE[alphabet] = rec
    return rec
