"""The page generator of the OCR benchmark: truth that matches the ink, the difficulty knobs
doing what they say, test-split glyphs only, and the scores."""

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from svertka.ocr import synth
from svertka.ocr.synth import Settings, char_accuracy, line_accuracy, make_line, make_page

DATA = Path(os.environ.get("SVERTKA_DATA", Path(__file__).parents[3] / "shared" / "data"))
DIGITS = "0123456789"

# clean black-on-white lines at a fixed size, so that grey level = 255 * (1 - ink coverage)
CLEAN = dataclasses.replace(Settings.preset("easy"), height=(20, 20), size_jitter=0.0,
                            noise=(0.0, 0.0), ink=(0, 0), paper=(255, 255), jitter=0.0)


def bars(widths=None, n=3):
    """Digit d: ``n`` upright bars of width ``widths[d]`` and height 20 in a 24x24 frame, at
    different grey levels (so the generator's choice among them varies the image)."""
    widths = widths or {d: 6 for d in DIGITS}
    out = {}
    for d in DIGITS:
        g = np.zeros((n, 24, 24), np.uint8)
        for k in range(n):
            g[k, 2:22, 2:2 + widths[d]] = 255 - 40 * k
        out[d] = g
    return out


def rings(n=2):
    """Every digit: a ring 18 px across (curved outlines, so contact is found row by row)."""
    yy, xx = np.mgrid[:24, :24]
    r = np.hypot(yy - 11.5, xx - 11.5)
    ring = ((r > 5) & (r < 9)).astype(np.uint8) * 255
    return {d: np.repeat(ring[None], n, 0) for d in DIGITS}


def test_same_seed_same_page_other_seed_other_page():
    a = make_page("digits", np.random.default_rng(3), "default", lines=3, glyphs=rings())
    b = make_page("digits", np.random.default_rng(3), "default", lines=3, glyphs=rings())
    c = make_page("digits", np.random.default_rng(4), "default", lines=3, glyphs=rings())
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]
    assert a[1] != c[1]
    # an int seed is the same as a Generator made from it
    line = make_line("digits", 5, "hard", glyphs=bars())
    again = make_line("digits", np.random.default_rng(5), "hard", glyphs=bars())
    np.testing.assert_array_equal(line[0], again[0])
    assert line[1:] == again[1:]


def test_boxes_enclose_the_ink_of_each_glyph_tightly():
    for seed in range(5):
        img, text, boxes = make_line("digits", np.random.default_rng(seed), CLEAN,
                                     glyphs=rings())
        assert len(boxes) == len(text) and 5 <= len(text) <= 10  # easy: no spaces
        inside = np.zeros(img.shape, bool)
        for x0, y0, x1, y1 in boxes:
            inside[y0:y1, x0:x1] = True
            ink = img[y0:y1, x0:x1] < 226  # coverage above the generator's ink threshold
            # tight: ink on each of the four edges of the box
            assert ink[0].any() and ink[-1].any() and ink[:, 0].any() and ink[:, -1].any()
        assert not (img[~inside] < 200).any()  # no ink outside the boxes
        # easy lines are well spaced: one component per glyph, each in its own box, in order
        labels, count = ndimage.label(img < 128)
        assert count == len(text)
        xs = [x0 for x0, *_ in boxes]
        assert xs == sorted(xs)
        for x0, y0, x1, y1 in boxes:
            assert len(np.unique(labels[y0:y1, x0:x1][img[y0:y1, x0:x1] < 128])) == 1


def test_truth_matches_the_glyph_drawn_for_each_character():
    widths = {d: 2 + 2 * int(d) for d in DIGITS}  # tells the digits apart by box width
    for seed in range(3):
        img, texts, line_boxes, char_boxes = make_page("digits", np.random.default_rng(seed),
                                                       CLEAN, lines=4, glyphs=bars(widths))
        for text, lbox, boxes in zip(texts, line_boxes, char_boxes):
            assert [x1 - x0 for x0, _, x1, _ in boxes] == [widths[c] for c in text]
            assert all(y1 - y0 == 20 for _, y0, _, y1 in boxes)
            lx0, ly0, lx1, ly1 = lbox
            assert all(lx0 <= x0 and ly0 <= y0 and x1 <= lx1 and y1 <= ly1
                       for x0, y0, x1, y1 in boxes)
        # lines are stacked top to bottom without overlapping
        assert all(a[3] < b[1] for a, b in zip(line_boxes, line_boxes[1:]))


def test_forced_touching_makes_strokes_meet():
    touching = dataclasses.replace(CLEAN, touching=1.0, length=(6, 6))
    for seed in range(4):
        img, text, boxes = make_line("digits", np.random.default_rng(seed), touching,
                                     glyphs=rings())
        _, count = ndimage.label(img < 128)
        assert len(text) == 6 and count == 1  # every neighbour touches its neighbour
        # touching is not overlapping: the boxes overlap by a few pixels at most
        assert all(0 <= a[2] - b[0] <= 3 for a, b in zip(boxes, boxes[1:]))
    _, count = ndimage.label(make_line("digits", 0, dataclasses.replace(CLEAN, length=(6, 6)),
                                       glyphs=rings())[0] < 128)
    assert count == 6


def test_overlapping_pairs_overlap_their_boxes():
    over = dataclasses.replace(CLEAN, overlapping=1.0, overlap=(0.3, 0.3), length=(5, 5))
    img, text, boxes = make_line("digits", 0, over, glyphs=rings())
    assert all(b[0] < a[2] - 4 for a, b in zip(boxes, boxes[1:]))
    assert ndimage.label(img < 128)[1] == 1


def test_word_spaces_are_wide_gaps_in_the_truth():
    spaced = dataclasses.replace(CLEAN, space=1.0, length=(4, 4))
    img, text, boxes = make_line("digits", 0, spaced, glyphs=bars())
    assert len(text) == 7 and text[1::2] == "   "
    assert all(b[0] - a[2] >= 1.2 * 20 for a, b in zip(boxes, boxes[1:]))


def test_polarity_inverted_pages_have_bright_ink():
    for inverted, brighter in ((0.0, False), (1.0, True)):
        s = dataclasses.replace(Settings.preset("default"), inverted=inverted)
        img, _, _, char_boxes = make_page("digits", 1, s, lines=2, glyphs=bars())
        ink = np.zeros(img.shape, bool)
        for x0, y0, x1, y1 in (b for line in char_boxes for b in line):
            ink[y0 + 2:y1 - 2, x0 + 1:x1 - 1] = True  # the inside of a solid bar
        assert (img[ink].mean() > img[~ink].mean() + 60) == brighter
        assert (img[ink].mean() < img[~ink].mean() - 60) == (not brighter)


def test_hard_is_harder_than_easy():
    def touching_share(preset):
        touching, pairs = 0, 0
        for seed in range(6):
            img, text, boxes = make_line("digits", seed, preset, glyphs=rings())
            pairs += len(boxes) - 1
            touching += sum(b[0] <= a[2] for a, b in zip(boxes, boxes[1:]))
        return touching / pairs

    assert touching_share("easy") == 0
    assert touching_share("hard") > 0.2


@pytest.mark.skipif(not ((DATA / "mnist").exists() and (DATA / "notmnist").exists()),
                    reason="real MNIST and notMNIST not present")
def test_default_glyphs_are_the_test_splits(monkeypatch):
    monkeypatch.setenv("SVERTKA_DATA", str(DATA))
    from svertka.datasets import mnist
    from svertka.ocr.data import letters_split

    _, (x, y) = mnist.load_data()
    digits = synth.glyph_set("digits")
    np.testing.assert_array_equal(digits["7"], x[y == 7])
    with warnings.catch_warnings():  # notMNIST's training file is absent: expected
        warnings.simplefilter("ignore", UserWarning)
        (x_train, _), (x_test, y_test) = letters_split()
    both = synth.glyph_set("both")
    assert sorted(both) == sorted(DIGITS + "ABCDEFGHIJ")
    test_set = {g.tobytes() for g in x_test}
    train_only = {g.tobytes() for g in x_train} - test_set
    for i, c in enumerate("ABCDEFGHIJ"):
        glyphs = {g.tobytes() for g in both[c]}
        assert glyphs <= test_set and not glyphs & train_only
        # notMNIST's inverted blocks are left out: they take up to 30% of the 'I's
        assert 0.65 * (y_test == i).sum() <= len(glyphs) <= (y_test == i).sum()
    img, texts, *_ = make_page("both", 0, "default", lines=2)
    assert img.dtype == np.uint8 and len(texts) == 2


def test_scores():
    assert char_accuracy(["123"], ["124"]) == pytest.approx(2 / 3)
    assert char_accuracy("12 3\n45", " 12   3\n45") == 1.0
    assert char_accuracy(["12", "34"], ["12"]) == 0.5  # a missing line costs its characters
    assert char_accuracy(["12"], ["12", "3456"]) == -1.0  # an extra one costs its own
    assert line_accuracy(["123", "45"], ["123", "45"]) == 1.0
    assert line_accuracy(["123", "45"], ["123"]) == 0.5
    assert line_accuracy(["1 2"], ["12"]) == 0.0
    assert line_accuracy(["12", "3"], ["12", "3", "9"]) == pytest.approx(2 / 3)
    assert synth.levenshtein("abc", "abc") == 0 and synth.levenshtein("ab", "ba") == 2


@pytest.mark.parametrize("call, error, words", [
    (lambda: make_line("greek", 0, glyphs=bars()), ValueError, "'alphabet'"),
    (lambda: make_line("digits", "seed", glyphs=bars()), TypeError, "'rng'"),
    (lambda: make_line("digits", 0, 3.0, glyphs=bars()), TypeError, "'settings'"),
    (lambda: make_line("digits", 0, "medium", glyphs=bars()), ValueError, "'name'"),
    (lambda: make_line("digits", 0, glyphs={"1": bars()["1"]}), ValueError, "'glyphs'"),
    (lambda: make_line("digits", 0, glyphs={d: g.astype(float) for d, g in bars().items()}),
     ValueError, "'glyphs'"),
    (lambda: make_line("digits", 0, glyphs=[1, 2]), TypeError, "'glyphs'"),
    (lambda: make_page("digits", 0, lines=0, glyphs=bars()), ValueError, "'lines'"),
    (lambda: Settings(gap=(0.5, 0.1)), ValueError, "'gap'"),
    (lambda: Settings(height=(28.0, 56)), ValueError, "'height'"),
    (lambda: Settings(touching=1.5), ValueError, "'touching'"),
    (lambda: Settings(touching=0.6, space=0.6), ValueError, "'space'"),
    (lambda: Settings(ink=(0, 200), paper=(150, 250)), ValueError, "'paper'"),
    (lambda: Settings(gap=(0.1, 1.5)), ValueError, "'space_gap'"),
    (lambda: char_accuracy([""], ["1"]), ValueError, "'truth_lines'"),
    (lambda: line_accuracy(["1"], [1]), TypeError, "'read_lines'"),
])
def test_argument_errors_name_the_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()
