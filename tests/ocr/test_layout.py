"""Segmentation on constructed pages whose boxes are known: lines, touching, broken, dotted
and nested components, specks, and the choice of the best split."""

import numpy as np
import pytest

pytest.importorskip("scipy")

from svertka.ocr import layout  # noqa: E402


def bar(page, x, y, w=4, h=30):
    page[y:y + h, x:x + w] = True
    return (x, y, x + w, y + h)


def ring(page, x, y, w=18, h=30, t=3):
    page[y:y + h, x:x + w] = True
    page[y + t:y + h - t, x + t:x + w - t] = False
    return (x, y, x + w, y + h)


def atom_boxes(line):
    """(x0, x1) of each atom of a line, from its pieces."""
    spans = {}
    for p in line.pieces:
        a, b = spans.get(p.atom, (p.x0, p.x1))
        spans[p.atom] = (min(a, p.x0), max(b, p.x1))
    return [spans[k] for k in sorted(spans)]


def test_lines_are_found_top_to_bottom_with_their_characters():
    page = np.zeros((140, 200), bool)
    top = [ring(page, 10, 10), bar(page, 40, 10), ring(page, 60, 10)]
    bottom = [bar(page, 15, 90), ring(page, 30, 90), ring(page, 70, 90), bar(page, 120, 90)]
    lines = layout.find_lines(page)
    assert [(line.y0, line.y1) for line in lines] == [(10, 40), (90, 120)]
    assert atom_boxes(lines[0]) == [(b[0], b[2]) for b in top]
    assert atom_boxes(lines[1]) == [(b[0], b[2]) for b in bottom]
    assert lines[0].char_height == 30


def test_specks_are_dropped_and_a_band_of_specks_is_no_line():
    page = np.zeros((120, 120), bool)
    ring(page, 10, 10), ring(page, 40, 10), bar(page, 70, 10)
    page[5, 100] = page[60, 50] = page[61, 51] = page[100, 20] = True  # noise
    lines = layout.find_lines(page)
    assert len(lines) == 1
    assert atom_boxes(lines[0]) == [(10, 28), (40, 58), (70, 74)]


def test_a_broken_character_and_a_dotted_one_are_one_atom_each():
    page = np.zeros((60, 120), bool)
    page[10:14, 10:26] = True  # the top bar of a broken '5', apart from its body
    page[17:40, 10:26] = True
    page[10:14, 50:54] = True  # a dot above a stroke, as on an 'i'
    page[18:40, 50:54] = True
    ring(page, 80, 10)
    line = layout.find_lines(page)[0]
    assert atom_boxes(line) == [(10, 26), (50, 54), (80, 98)]


def test_nested_components_are_one_atom():
    page = np.zeros((60, 80), bool)
    ring(page, 10, 10, w=30, h=30, t=2)
    page[20:30, 20:30] = True  # a blob inside the ring, not touching it
    bar(page, 60, 10)
    line = layout.find_lines(page)[0]
    assert atom_boxes(line) == [(10, 40), (60, 64)]
    assert sorted(line.pieces[0].labels) == sorted(set(np.unique(line.labels[:, 10:40])) - {0})


def test_touching_characters_get_a_cut_where_they_touch():
    page = np.zeros((60, 100), bool)
    ring(page, 10, 10)
    ring(page, 30, 10)
    page[24:26, 28:30] = True  # a thin bridge joins the two rings: one component
    ring(page, 70, 10)
    line = layout.find_lines(page)[0]
    assert len(atom_boxes(line)) == 2
    cuts = [p.x0 for p in line.pieces if p.atom == 0][1:]
    assert any(27 <= c <= 31 for c in cuts), cuts
    # the two rings, each whole, are among the candidates, as is the pair together
    spans = {(x0, x1) for _, _, _, x0, x1, _ in layout.candidates(line)}
    assert (10, 48) in spans
    assert any(abs(x0 - 10) <= 0 and abs(x1 - 29) <= 2 for x0, x1 in spans)
    assert any(abs(x0 - 29) <= 2 and x1 == 48 for x0, x1 in spans)


def test_cut_columns_lie_at_the_least_ink_and_never_at_the_edges():
    profile = np.array([5, 6, 6, 5, 4, 1, 4, 5, 6, 6, 5, 5, 6, 6, 5, 4, 0, 4, 5, 6, 6, 5])
    cuts = layout.cut_columns(profile, char_width=7.0)
    assert 16 in cuts and 5 in cuts
    assert all(2 <= c <= len(profile) - 2 for c in cuts)
    assert layout.cut_columns(np.ones(4), char_width=7.0) == []  # too narrow to cut
    # away from the minima, a grid (every sixth of a character) covers overlapping strokes
    flat = layout.cut_columns(np.ones(30), char_width=12.0)
    assert flat == list(range(2, 29, 2))


def test_best_path_lets_the_classifier_decide_the_split():
    # pieces: [0:10) [10:20) [20:30); candidates with their log-probabilities
    runs = [(0, 1, 0, 10, np.log(0.99), 0), (1, 2, 10, 20, np.log(0.9), 0),
            (2, 3, 20, 30, -0.01, 0), (1, 3, 10, 30, np.log(0.3), 0),
            (0, 2, 0, 20, np.log(0.2), 0)]
    assert layout.best_path(3, runs, char_width=10.0) == [0, 1, 2]
    # pieces 1 and 2 are two halves of one atom: cutting it costs, and the classifier is
    # surer of the whole; a sure whole wins over two weak halves
    runs[1] = (1, 2, 10, 20, np.log(0.5), 0)
    runs[3] = (1, 3, 10, 30, np.log(0.95), 0)
    assert layout.best_path(3, runs, char_width=12.0, cuts={2}) == [0, 3]
    # bridging a gap between atoms costs too: the same reading of 1:3, as a join, loses
    runs[3] = (1, 3, 10, 30, np.log(0.95), 1)
    assert layout.best_path(3, runs, char_width=12.0, join_cost=2.0) == [0, 1, 2]
    # no way through (a gap in the candidates) reads nothing rather than a wrong split
    assert layout.best_path(3, [(0, 1, 0, 10, 0.0, 0)], char_width=10.0) == []


def test_an_empty_page_has_no_lines():
    assert layout.find_lines(np.zeros((30, 30), bool)) == []


def test_a_short_fragment_may_join_its_neighbour_across_a_wider_gap():
    page = np.zeros((70, 200), bool)
    page[10:50, 20:40] = True  # a character's body, 40 tall, 20 wide
    page[10:15, 46:52] = True  # a detached bar 5 tall, 6 px off (a 5's top stroke)
    page[10:50, 90:110] = True  # a whole character
    page[10:50, 120:140] = True  # and another 10 px off, full height: never joined
    line = layout.find_lines(page)[0]
    small = layout.small_atoms(line)
    bar = next(p.atom for p in line.pieces if p.x0 >= 46 and p.x1 <= 52)
    assert small == {bar}
    spans = [(x0, x1) for _, _, _, x0, x1, _ in layout.candidates(line)]
    assert (20, 52) in spans  # body and bar together: 6 px is within 0.35 of 40
    assert (90, 140) not in spans
