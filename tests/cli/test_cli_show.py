"""``svertka show``: each picture is written from a model file or a shipped network, and a
missing or extra argument is one line of error."""

import numpy as np
import pytest

import svertka
from svertka import cli
from svertka.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D, Rescaling

pytest.importorskip("matplotlib")
image = pytest.importorskip("PIL.Image")


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def model_file(tmp_path):
    """A small saved model that takes 0-255 pixels, as ``svertka train`` saves them."""
    svertka.random.seed(0)
    m = svertka.Sequential([Input((12, 12, 1)), Rescaling(1 / 255),
                            Conv2D(4, 3, activation="relu", name="c1"), MaxPooling2D(2),
                            Conv2D(6, 3, activation="relu", name="c2"), Flatten(),
                            Dense(2, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    path = tmp_path / "m.svk"
    m.save(path)
    return path


@pytest.fixture
def png(tmp_path):
    a = np.zeros((12, 12), np.uint8)
    a[3:8, 3:8] = 255
    path = tmp_path / "x.png"
    image.fromarray(a).save(path)
    return path


def test_filters_maps_gradcam_and_maximize_write_pictures(model_file, png, tmp_path, capsys):
    for argv in (["filters", model_file, "--layer", "c2"],
                 ["maps", model_file, png],
                 ["gradcam", model_file, png, "--layer", "c1", "--class-index", "1"],
                 ["maximize", model_file, "--layer", "1", "--channel", "3", "--steps", "4"]):
        out_file = tmp_path / f"{argv[0]}.png"
        code, out, err = run(capsys, "show", *argv, "-o", out_file)
        assert (code, err) == (0, ""), argv
        assert f"Wrote {out_file}" in out
        assert out_file.read_bytes()[:4] == b"\x89PNG"


def test_show_shipped_lenet5_filters_as_svg(tmp_path, capsys):
    out_file = tmp_path / "f.svg"
    code, _, err = run(capsys, "show", "filters", "lenet5:mnist", "-o", out_file)
    assert (code, err) == (0, "")
    assert b"<svg" in out_file.read_bytes()[:500]


def test_confusion_on_an_image_tree(model_file, tmp_path, capsys):
    for k, cls in enumerate(("dark", "light")):
        folder = tmp_path / "tree" / "test" / cls
        folder.mkdir(parents=True)
        for i in range(3):
            image.fromarray(np.full((12, 12), 40 + 170 * k, np.uint8)).save(folder / f"{i}.png")
        (tmp_path / "tree" / "train" / cls).mkdir(parents=True)
        image.fromarray(np.zeros((12, 12), np.uint8)).save(tmp_path / "tree" / "train" / cls
                                                           / "0.png")
    out_file = tmp_path / "c.png"
    code, out, err = run(capsys, "show", "confusion", model_file, tmp_path / "tree", "-o",
                         out_file)
    assert (code, err) == (0, "")
    assert "on 6 test images" in out and out_file.is_file()


@pytest.mark.parametrize("argv, message", [
    (["maps", "{model}"], "show maps: needs an IMAGE file after MODEL"),
    (["filters", "{model}", "{png}"], "show filters: takes no IMAGE"),
    (["gradcam", "{model}", "nope.png"], "argument IMAGE must be an image file.*'nope.png'"),
    (["maximize", "{model}", "--channel", "-1"], "--channel"),
    (["maximize", "{model}", "--layer", "c1", "--channel", "9"], "'channel'.*received 9"),
    (["filters", "{model}", "--layer", "nope"], "no such layer: 'nope'"),
    (["filters", "lenet9:mnist"], "show: argument MODEL must be a saved model file"),
])
def test_bad_arguments_are_one_line(model_file, png, capsys, argv, message):
    import re

    argv = [a.format(model=model_file, png=png) for a in argv]
    code, _, err = run(capsys, "show", *argv, "-o", "unused.png")
    assert code == 2
    assert err.startswith("svertka: error:") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
