"""``svertka ocr IMAGE``: text, marks, JSON, boxes, and every odd input as one clear line."""

import json

import numpy as np
import pytest

from svertka import cli

Image = pytest.importorskip("PIL.Image")
pytest.importorskip("skimage")


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def digit_line(tmp_path_factory):
    """A PNG of the first six MNIST test digits in a row, and their text."""
    from svertka.datasets import mnist
    from svertka.datasets.sources import DatasetNotFoundError

    try:
        _, (x, y) = mnist.load_data()
    except DatasetNotFoundError:
        pytest.skip("MNIST is not available here (set SVERTKA_DATA)")
    glyphs = [g[:, np.flatnonzero(g.max(axis=0) > 30)] for g in x[:6]]  # ink columns
    page = np.full((48, 20 + sum(g.shape[1] + 6 for g in glyphs)), 255, np.uint8)
    left = 10
    for g in glyphs:
        page[10:38, left:left + g.shape[1]] = 255 - g
        left += g.shape[1] + 6
    path = tmp_path_factory.mktemp("ocr") / "digits.png"
    Image.fromarray(page).save(path)
    return path, "".join(str(v) for v in y[:6])


def test_the_text_is_printed(capsys, digit_line):
    path, truth = digit_line
    code, out, err = run(capsys, "ocr", path)
    assert code == 0 and err == ""
    assert out.splitlines()[0] == truth


def test_json_and_boxes(capsys, digit_line, tmp_path):
    path, truth = digit_line
    boxes = tmp_path / "boxes.png"
    code, out, err = run(capsys, "ocr", path, "--json", "--boxes", boxes)
    assert code == 0, err
    d = json.loads(out)
    assert d["text"] == truth and d["alphabet"] == "digits" and d["width"] > 100
    assert [c["text"] for c in d["lines"][0]["chars"]] == list(truth)
    drawn = np.asarray(Image.open(boxes).convert("RGB"))
    x0, y0, x1, y1 = d["lines"][0]["chars"][0]["box"]
    edge = drawn[y0, x0:x1]
    assert (edge[:, 1] > 150).all() and (edge[:, 0] < 100).all()  # a green top edge


def test_low_confidence_characters_are_marked_under_the_line(capsys, digit_line):
    path, truth = digit_line
    code, out, _ = run(capsys, "ocr", path, "--min-confidence", "1")
    lines = out.splitlines()
    assert code == 0 and lines[0] == truth and set(lines[1]) == {"^"}
    assert len(lines[1]) == len(truth)


@pytest.mark.parametrize("pixels, expected", [
    (np.full((1, 1), 255, np.uint8), "(no text found)"),
    (np.zeros((60, 90), np.uint8), "(no text found)"),
    (np.tile(np.linspace(0, 255, 90).astype(np.uint8), (60, 1)), "(no text found)"),
], ids=["one-pixel", "all-black", "no-text"])
def test_pages_without_text_say_so(capsys, tmp_path, pixels, expected):
    path = tmp_path / "page.png"
    Image.fromarray(pixels).save(path)
    code, out, err = run(capsys, "ocr", path)
    assert (code, out.strip(), err) == (0, expected, "")


def test_bad_inputs_are_one_line_errors(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty.png").write_bytes(b"")
    Image.new("1", (9_000, 8_000), 1).save(tmp_path / "big.png")
    Image.new("1", (20_000, 20_000), 1).save(tmp_path / "huge.png")
    cases = {
        tmp_path / "notes.txt": "is not an image Pillow can read",
        tmp_path / "empty.png": "is not an image Pillow can read",
        tmp_path / "missing.png": "does not exist",
        tmp_path / "big.png": "9000x8000 = 72,000,000 pixels, more than the limit",
        tmp_path / "huge.png": "declares more pixels than Pillow will decode",
    }
    for path, message in cases.items():
        code, out, err = run(capsys, "ocr", path)
        assert code == 2 and out == "", path
        assert err.startswith("svertka: error: read: ") and message in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, _, err = run(capsys, "ocr", tmp_path / "notes.txt", "--alphabet", "greek")
    assert code == 2 and "invalid choice: 'greek'" in err
