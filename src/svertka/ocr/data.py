"""The glyph sets the OCR models are trained and measured on, split the same way everywhere.

MNIST has its own training and test splits. notMNIST is available here as its 10,000-glyph
``t10k`` file only, so the letters are split once, per class and by a fixed permutation, into
8,000 for training and 2,000 for testing (``letters_split``); every letter model, baseline and
benchmark uses that split, so no figure is measured on a glyph a model was fitted to.
"""

from __future__ import annotations

import numpy as np

from svertka import checks

LETTERS_TEST_PER_CLASS = 200


def letters_split(x=None, y=None, test_per_class: int = LETTERS_TEST_PER_CLASS, seed: int = 0):
    """``(x_train, y_train), (x_test, y_test)`` from notMNIST's ``t10k`` glyphs (loaded from
    ``SVERTKA_DATA`` or the cache when ``x`` and ``y`` are not given): ``test_per_class`` of each
    letter, chosen by a permutation seeded with ``seed``, form the test split.

    >>> x = np.arange(40).reshape(20, 2); y = np.repeat(np.arange(2), 10)
    >>> (xa, ya), (xb, yb) = letters_split(x, y, test_per_class=3)
    >>> len(ya), len(yb), np.bincount(yb).tolist(), sorted(set(xa[:, 0]) & set(xb[:, 0]))
    (14, 6, [3, 3], [])
    """
    if x is None or y is None:
        import warnings

        from svertka.datasets import notmnist

        with warnings.catch_warnings():  # "no train split": known, that is why we split
            warnings.simplefilter("ignore", UserWarning)
            _, (x, y) = notmnist.load_data()
    test_per_class = checks.integer("letters_split", "test_per_class", test_per_class, 1)
    y = np.asarray(y)
    order = np.random.default_rng(seed).permutation(len(y))
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        members = order[y[order] == c]
        if len(members) <= test_per_class:
            raise ValueError(f"letters_split: class {c} has {len(members)} glyphs, so "
                             f"'test_per_class'={test_per_class} leaves none for training")
        test[members[:test_per_class]] = True
    return (x[~test], y[~test]), (x[test], y[test])
