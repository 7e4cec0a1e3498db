"""Touching pairs read whole (svertka.ocr.pairs): the pair image, which runs are offered as
pairs, how the best split weighs a pair against cuts, and a page read through a pair model."""

import numpy as np
import pytest

pytest.importorskip("scipy")

from svertka.ocr import layout, models, pairs, read  # noqa: E402 - read: the function
from svertka.ocr.normalize import centre_of_mass, ink_box  # noqa: E402


def test_a_pair_is_fitted_in_20x48_keeping_its_aspect_and_centred_by_its_mass():
    wide = np.zeros((30, 120), bool)
    wide[:, :] = True  # 4 times as wide as tall: the width fills 48, the height 12
    y0, y1, x0, x1 = ink_box(pairs.normalize_pair(wide) > 127)
    assert (y1 - y0, x1 - x0) == (12, 48)
    tall = np.zeros((60, 40), bool)
    tall[:, :] = True  # taller than 20/48: the height fills 20
    out = pairs.normalize_pair(tall)
    y0, y1, x0, x1 = ink_box(out > 127)
    assert (y1 - y0, x1 - x0) == (20, 13)
    cy, cx = centre_of_mass(out)
    assert abs(cy - 13.5) <= 0.5 and abs(cx - 27.5) <= 0.5
    assert not pairs.normalize_pair(np.zeros((5, 5), bool)).any()
    with pytest.raises(ValueError, match="normalize_pair: argument 'mask'"):
        pairs.normalize_pair(np.zeros((2, 2, 2)))


def test_pairs_are_offered_only_within_one_atom_and_about_two_characters_wide():
    page = np.zeros((60, 200), bool)
    page[10:40, 10:26] = True  # a lone character, 16 wide
    page[10:40, 40:56] = True  # two touching characters: one atom 36 wide
    page[10:40, 56:76] = True
    page[10:40, 120:136] = True
    page[10:40, 140:156] = True  # two characters 4 px apart: two atoms, never a pair
    line = layout.find_lines(page)[0]
    offered = layout.pair_candidates(line)
    assert offered, "the touching pair is offered"
    for i, j, _, x0, x1, _ in offered:
        assert len({p.atom for p in line.pieces[i:j]}) == 1
        assert 0.9 * line.char_width <= x1 - x0 <= 2.4 * line.char_width
    assert (40, 76) in [(x0, x1) for _, _, _, x0, x1, _ in offered]  # the whole atom
    assert all(x0 >= 40 and x1 <= 76 for _, _, _, x0, x1, _ in offered)


def test_the_best_split_weighs_a_pair_read_whole_against_its_cuts():
    # pieces [0:10) [10:20) of one atom 20 wide (two characters of 10)
    runs = [(0, 1, 0, 10, np.log(0.6), 0), (1, 2, 10, 20, np.log(0.3), 0),
            (0, 2, 0, 20, np.log(0.7), 0)]
    assert layout.best_path(2, runs, char_width=10.0, cuts={1}) == [2]  # one wide character
    pair = (0, 2, 0, 20, np.log(0.9), 0, 2)  # the pair model is sure: two characters
    assert layout.best_path(2, [*runs, pair], char_width=10.0, cuts={1}) == [3]
    # a pair is not charged for being two characters wide; one character that wide is
    assert layout.best_path(2, [runs[2], (0, 2, 0, 20, np.log(0.7), 0, 2)],
                            char_width=10.0) == [1]


class Sure:
    """A stand-in model: the same probabilities for every input."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, np.float32)

    def predict(self, x, batch_size=None, verbose=None):
        return np.tile(self.probs, (len(x), 1))


def test_a_pair_read_whole_gives_two_characters_with_their_own_boxes():
    page = np.full((80, 120), 255, np.uint8)
    page[20:60, 30:36] = 0  # a bar touching a ring: one atom
    page[20:60, 36:60] = 0
    page[28:52, 42:54] = 255
    glyph = np.full(11, 0.02, np.float32)
    glyph[7] = 0.5  # the single-character model is unsure of every candidate
    pair = np.zeros(101, np.float32)
    pair[16] = 0.98  # "16"
    rec = models.Recognizer(Sure(glyph), "digits", pairs=Sure(pair))
    result = read(page, model=rec)
    assert result.text == "16"
    one, six = result.lines[0].chars
    assert one.confidence == six.confidence == pytest.approx(0.98)
    assert one.box[0] == 30 and six.box[2] == 60 and one.box[2] <= six.box[0] + 1
    assert one.box[1] == six.box[1] == 20
    without = read(page, model=models.Recognizer(Sure(glyph), "digits"))
    assert without.text != "16"  # no pair model: read by cuts alone


def test_pair_examples_are_labelled_pairs_and_rejects_of_the_right_shape():
    g = {c: np.pad(np.full((3, 10, 4), 255, np.uint8), ((0, 0), (9, 9), (12, 12)))
         for c in "0123456789"}
    x, y = pairs.pair_examples("digits", 60, np.random.default_rng(0), g)
    assert x.shape == (60, 28, 56) and x.dtype == np.uint8
    assert y.min() >= 0 and y.max() <= 100
    assert 0 < np.mean(y == 100) < 1  # both pairs and "not a pair"
    assert all(x[k].any() for k in range(60))


def test_a_recognizer_with_its_own_glyph_weights_keeps_the_shipped_pair_model(tmp_path):
    """recognizer(weights=...) used to load no pair model, so benchmarks/ocr.py --weights
    measured the reader without it."""
    shipped = models.recognizer("digits")
    shipped.model.save_weights(tmp_path / "glyphs.weights")
    own = models.recognizer("digits", weights=tmp_path / "glyphs.weights")
    assert own is not shipped and own.pairs is not None
    for a, b in zip(own.pairs.get_weights(), shipped.pairs.get_weights()):
        np.testing.assert_array_equal(a, b)
    shipped.pairs.save_weights(tmp_path / "pairs.weights")
    from_file = models.recognizer("digits", pair_weights=tmp_path / "pairs.weights")
    assert from_file is not shipped and from_file.pairs is not None
    assert models.recognizer("digits", pair_weights=False).pairs is None
    assert models.recognizer("digits") is shipped  # the shipped one stays cached
