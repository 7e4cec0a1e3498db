"""``svertka finetune MODEL DATA``: a shipped or saved network adapted to an image tree."""

import numpy as np
import pytest

import svertka
from svertka.cli import main
from svertka.layers import Conv2D, Dense, Flatten, Rescaling
from svertka.utils import set_random_seed


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def tree(tmp_path):
    """train/ and test/ folders of two classes of 20x24 colour PNGs (a bar or a dot)."""
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 3)):
        for k, cls in enumerate(("bar", "dot")):
            folder = tmp_path / "tree" / split / cls
            folder.mkdir(parents=True)
            for i in range(n):
                a = rng.integers(0, 40, (20, 24, 3)).astype(np.uint8)
                if k == 0:
                    a[:, 10:14] = 250
                else:
                    a[8:12, 10:14] = 250
                image.fromarray(a).save(folder / f"{i}.png")
    return tmp_path / "tree"


def test_finetune_lenet5_on_an_image_tree_saves_a_model_that_predicts(tree, tmp_path, capsys):
    out_file = tmp_path / "m.svk"
    code, out, err = run(capsys, "finetune", "lenet5:mnist", tree, "--epochs", "1",
                         "--output", out_file)
    assert code == 0, err
    assert "Strategy head (12 training images): trained new_head; frozen C1, C3, C5, F6" in out
    assert "Test accuracy:" in out and out_file.is_file()
    model = svertka.load_model(out_file)
    assert model.input_shape == (None, 28, 28, 1) and model.class_names == ["bar", "dot"]
    assert isinstance(model.layers[0], Rescaling)  # takes raw pixels, as svertka train's
    probs = model.predict(np.full((3, 28, 28, 1), 200, np.uint8))
    assert probs.shape == (3, 2) and np.allclose(probs.sum(-1), 1, atol=1e-5)
    code, out, _ = run(capsys, "evaluate", out_file, tree)
    assert code == 0 and "(6 images)" in out


def test_finetune_a_saved_model_keeps_its_own_rescaling(tree, tmp_path, capsys):
    set_random_seed(0)
    base = svertka.Sequential([Rescaling(1 / 255, input_shape=(16, 16, 3)), Conv2D(4, 3),
                               Flatten(), Dense(8, activation="relu"), Dense(5)])
    base.save(tmp_path / "base.svk")
    code, out, err = run(capsys, "finetune", tmp_path / "base.svk", tree, "--strategy", "all",
                         "--epochs", "1", "--output", tmp_path / "m.svk")
    assert code == 0, err
    assert "Strategy all" in out
    model = svertka.load_model(tmp_path / "m.svk")
    assert sum(isinstance(la, Rescaling) for la in model.layers) == 1
    assert model.output_shape == (None, 2)


@pytest.mark.parametrize("argv, words", [
    (["lenet5:imagenet"], "argument MODEL must be a saved model file or a zoo network"),
    (["missing.svk"], "received 'missing.svk' (no such file)"),
    (["lenet5:mnist", "--epochs", "0"], "'--epochs' must be a positive int"),
    (["lenet5:mnist", "--batch-size", "-1"], "'--batch-size'"),
    (["lenet5:mnist", "--learning-rate", "0"], "'--learning-rate'"),
    (["lenet5:mnist", "--dropout", "1"], "'--dropout'"),
    (["lenet5:mnist", "--strategy", "bottom"], "argument --strategy: invalid choice"),
    (["lenet5:mnist", "--strategy", "head", "--top-blocks", "1"],
     "'top_blocks' goes with strategy 'top'"),
    (["lenet5:mnist", "--cut", "F9"], "argument 'cut' must name a layer"),
    (["lenet5:mnist", "--classes", "1"], "labels of 'data' must lie in [0, head_classes = 1)"),
])
def test_bad_inputs_exit_2_with_one_line(tree, capsys, argv, words):
    model, *options = argv
    code, out, err = run(capsys, "finetune", model, tree, *options)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("svertka: error: "), err
    assert words in err, err


def test_a_missing_data_folder_is_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "finetune", "lenet5:mnist", tmp_path / "none")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "neither a known data set" in err
