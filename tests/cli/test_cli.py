import subprocess
import sys

import numpy as np
import pytest

import svertka
from svertka.cli import main
from svertka.utils import set_random_seed


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_size_reports_the_notes_numbers(capsys):
    code, out, _ = run(capsys, "size", "7", "--kernel", "3", "--stride", "3")
    assert code == 0
    assert "2.33 -> 2" in out and "the last 1 pixel is never seen" in out
    _, out, _ = run(capsys, "size", "7", "--kernel", "3", "--stride", "2")
    assert "= 3\n" in out + "\n" and "never seen" not in out
    _, out, _ = run(capsys, "size", "28", "--kernel", "3", "--padding", "same")
    assert "= 28" in out


def test_summary_of_the_notes_architecture(capsys):
    code, out, _ = run(capsys, "summary", "notes")
    assert code == 0 and "Total params: 421,642" in out
    _, out, _ = run(capsys, "summary", "notes", "--input-shape", "32,32,3")
    assert "(None, 8, 8, 64)" in out


def test_errors_are_one_clear_line(capsys):
    code, out, err = run(capsys, "size", "2", "--kernel", "3")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0
    assert err.startswith("svertka: error: explain_size: the kernel spans 3 pixels")
    code, _, err = run(capsys, "summary", "resnet9000")
    assert code == 2 and "argument 'name' must be one of ['notes']" in err
    code, _, err = run(capsys, "evaluate", "missing.svk", "mnist")
    assert code == 2 and "no file at missing.svk" in err


def test_predict_prints_top_k_classes_of_image_files(tmp_path, capsys):
    pytest.importorskip("PIL")
    from PIL import Image

    from svertka.layers import Conv2D, Dense, Flatten, Rescaling

    set_random_seed(0)
    model = svertka.Sequential([Rescaling(1 / 255, input_shape=(8, 8, 1)), Conv2D(2, 3),
                                Flatten(), Dense(3, activation="softmax")])
    model.class_names = ["cat", "dog", "owl"]
    model.save(tmp_path / "m.svk")
    image = (np.random.default_rng(0).random((12, 10)) * 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "a.png")
    code, out, _ = run(capsys, "predict", str(tmp_path / "m.svk"), str(tmp_path / "a.png"),
                       "--top-k", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith("a.png") and len(lines) == 3
    labels = [line.split()[0] for line in lines[1:]]
    assert set(labels) <= {"cat", "dog", "owl"}
    probs = [float(line.split()[1]) for line in lines[1:]]
    assert probs == sorted(probs, reverse=True)


def test_help_works_for_every_command():
    for command in ("demo", "train", "evaluate", "predict", "summary", "size"):
        result = subprocess.run([sys.executable, "-m", "svertka", command, "--help"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and "usage: svertka " + command in result.stdout
