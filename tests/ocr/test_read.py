"""Reading whole images with the shipped classifiers: lines, touching digits, polarity,
spaces, confidences, and what odd pages give."""

import json

import numpy as np
import pytest

pytest.importorskip("skimage")
pytest.importorskip("PIL")

from svertka import ocr  # noqa: E402


def compose(glyphs, gaps, height=40):
    """Dark-on-light line of MNIST glyphs (cropped to their ink columns, scaled to ``height``)
    separated by ``gaps`` pixels (negative: overlapping ink, combined as ink is)."""
    from PIL import Image

    parts = []
    for g in glyphs:
        cols = np.flatnonzero(g.max(axis=0) > 30)
        g = g[:, cols[0]:cols[-1] + 1]
        w = max(1, round(g.shape[1] * height / 28))
        parts.append(np.asarray(Image.fromarray(g).resize((w, height), Image.BILINEAR)))
    width = sum(p.shape[1] for p in parts) + sum(gaps) + 40
    ink = np.zeros((height + 40, width), np.uint8)
    x = 20
    for p, gap in zip(parts, [*gaps, 0]):
        region = ink[20:20 + height, x:x + p.shape[1]]
        np.maximum(region, p, out=region)
        x += p.shape[1] + gap
    return 255 - ink


@pytest.fixture(scope="module")
def digits(mnist_test):
    return mnist_test


def test_lines_of_separated_digits_are_read_exactly(digits):
    x, y = digits
    rng = np.random.default_rng(0)
    right = 0
    for _ in range(10):
        idx = rng.choice(len(y), 7, replace=False)
        page = compose(x[idx], rng.integers(4, 12, 6).tolist())
        result = ocr.read(page)
        right += result.text == "".join(str(v) for v in y[idx])
        assert len(result.lines) == 1 and result.dark_ink
    assert right >= 9


def test_touching_digits_are_split_by_the_classifier(digits):
    from svertka.ocr.synth import char_accuracy

    x, y = digits
    rng = np.random.default_rng(1)
    truth, read = [], []
    for _ in range(8):
        idx = rng.choice(len(y), 6, replace=False)
        gaps = [-2, 5, -1, 6, -2]  # three touching pairs in each line
        truth.append("".join(str(v) for v in y[idx]))
        read.append(ocr.read(compose(x[idx], gaps)).text)
    # touching pairs as one character would lose 3 of 6 characters in every line
    assert char_accuracy(truth, read) >= 0.9
    assert sum(t == r for t, r in zip(truth, read)) >= 5


def test_two_lines_light_on_dark_with_a_space_and_json(digits):
    x, y = digits
    line1 = compose(x[:4], [8, 60, 8])  # a wide gap: a space
    line2 = compose(x[4:9], [8, 8, 8, 8])
    width = max(line1.shape[1], line2.shape[1])
    page = np.full((line1.shape[0] + line2.shape[0], width), 255, np.uint8)
    page[:line1.shape[0], :line1.shape[1]] = line1
    page[line1.shape[0]:, :line2.shape[1]] = line2
    result = ocr.read(255 - page)  # light ink on a dark page
    assert not result.dark_ink
    assert result.text.split("\n") == [f"{y[0]}{y[1]} {y[2]}{y[3]}",
                                       "".join(str(v) for v in y[4:9])]
    d = json.loads(json.dumps(result.as_dict()))
    assert d["text"] == result.text and len(d["lines"]) == 2
    first = d["lines"][0]["chars"][0]
    assert set(first) == {"text", "box", "confidence", "low_confidence"}
    x0, y0, x1, y1 = first["box"]
    assert 15 <= x0 < x1 and 15 <= y0 < y1 <= line1.shape[0]


def test_letters_and_both_alphabets(digits):
    from svertka.ocr.data import letters_split

    try:
        _, (lx, ly) = letters_split()
    except Exception as e:  # notMNIST missing
        pytest.skip(f"notMNIST is not available here ({e})")
    rng = np.random.default_rng(2)
    idx = rng.choice(len(ly), 6, replace=False)
    truth = "".join("ABCDEFGHIJ"[v] for v in ly[idx])
    page = compose(lx[idx], [10] * 5)
    got = ocr.read(page, alphabet="letters").text
    assert sum(a == b for a, b in zip(got, truth)) >= 5 and len(got) == 6
    x, y = digits
    mixed = compose(np.concatenate([x[:3], lx[idx[:3]]]), [10] * 5)
    read = ocr.read(mixed, alphabet="both").text
    assert read[:3].isdigit() and read[3:].isalpha()


def test_low_confidence_is_marked_and_the_threshold_moves_it(digits):
    x, y = digits
    page = compose(x[:5], [8] * 4)
    sure = ocr.read(page, min_confidence=0.0)
    assert not any(c.low_confidence for c in sure.chars)
    strict = ocr.read(page, min_confidence=1.0)
    assert all(c.low_confidence == (c.confidence < 1.0) for c in strict.chars)
    with pytest.raises(ValueError, match=r"read: argument 'min_confidence' must be a finite "
                                         r"number >= 0.0 and <= 1.0, received 2"):
        ocr.read(page, min_confidence=2)
    with pytest.raises(TypeError, match=r"read: argument 'min_confidence'"):
        ocr.read(page, min_confidence="high")  # once a bare float() error
    with pytest.raises(ValueError, match=r"read: argument 'alphabet' must be one of"):
        ocr.read(page, alphabet="greek")
    with pytest.raises(ValueError, match=r"read: argument 'polarity' must be 'auto', 'dark' "
                                         r"or 'light', received 'black'"):
        ocr.read(page, polarity="black")


@pytest.mark.parametrize("page", [
    np.full((1, 1), 255, np.uint8),      # a single pixel
    np.zeros((50, 80), np.uint8),        # all black
    np.full((50, 80), 255, np.uint8),    # blank paper
    np.tile(np.linspace(0, 255, 80, dtype=np.uint8), (50, 1)),  # a gradient, no text
], ids=["one-pixel", "black", "blank", "gradient"])
def test_pages_without_text_give_no_lines(page):
    result = ocr.read(page)
    assert result.lines == [] and result.text == ""
