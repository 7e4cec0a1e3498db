"""``svertka train --checkpoint`` and ``svertka average``: one model from a run's last epochs
(SWA)."""

from pathlib import Path

import numpy as np
import pytest
from helpers import dark_light_tree

import svertka
from svertka.cli import main
from svertka.models import average_weights, update_batch_norm


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def checkpoints(tmp_path, capsys):
    """A 3-epoch ResNet-20 run on a small folder that saved its model after every epoch."""
    pytest.importorskip("PIL")
    data = Path(dark_light_tree(tmp_path, 16, train=12, test=4))
    code, out, err = run(capsys, "train", "resnet20", data, "--epochs", "3", "--batch-size", "8",
                         "--optimizer", "sgd", "--learning-rate", "0.05", "--momentum", "0.9",
                         "--validation-split", "0", "--checkpoint",
                         tmp_path / "run-{epoch:02d}.svk", "--output", tmp_path / "last.svk")
    assert code == 0, err
    return data, [tmp_path / f"run-{e:02d}.svk" for e in (1, 2, 3)]


def test_train_checkpoint_saves_the_model_of_every_epoch(checkpoints, tmp_path):
    _, files = checkpoints
    assert all(f.is_file() for f in files)
    last = svertka.load_model(tmp_path / "last.svk")
    for a, b in zip(svertka.load_model(files[-1]).get_weights(), last.get_weights(),
                    strict=True):
        np.testing.assert_array_equal(a, b)  # the last epoch's file is the run's result
    assert not np.array_equal(svertka.load_model(files[0]).get_weights()[0],
                              last.get_weights()[0])


def test_average_is_the_weights_mean_with_batch_norm_recomputed(checkpoints, tmp_path, capsys):
    data, files = checkpoints
    code, out, err = run(capsys, "average", files[1], files[2], data, "--augment", "flip",
                         "--batch-size", "8", "--seed", "2", "--output", tmp_path / "avg.svk")
    assert code == 0, err
    assert ("Averaged the weights of 2 models; recomputed the statistics of 19 batch-norm "
            "layers over 24 training images (flip)") in out
    assert "Test accuracy:" in out and f"Model saved to {tmp_path / 'avg.svk'}" in out
    averaged = svertka.load_model(tmp_path / "avg.svk")
    assert averaged.class_names == ["dark", "light"] and averaged.optimizer is None
    # by hand: the mean of the two, then one pass over the training images, flipped
    from svertka import augment, datasets

    expected = svertka.load_model(files[2], compile=False)
    expected.set_weights(average_weights([svertka.load_model(f) for f in files[1:]]))
    (x, _), _, _ = datasets.load(str(data), image_size=(16, 16))
    update_batch_norm(expected, x, 8, augment.get("flip"), 2)
    for a, b in zip(averaged.get_weights(), expected.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    plain_mean = average_weights([svertka.load_model(f) for f in files[1:]])
    bn = [la for la in averaged.layers if type(la).__name__ == "BatchNormalization"][0]
    assert not np.allclose(bn.moving_mean.data, plain_mean[3])  # recomputed, not averaged


@pytest.mark.parametrize("argv, words", [
    (["--batch-size", "0"], "average: argument '--batch-size' must be a positive int"),
    (["--seed", "-1"], "'--seed'"),
])
def test_average_option_errors_are_one_line(checkpoints, tmp_path, capsys, argv, words):
    data, files = checkpoints
    code, out, err = run(capsys, "average", *files, data, *argv, "--output", tmp_path / "a.svk")
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err


def test_average_refuses_models_of_other_architectures(checkpoints, tmp_path, capsys):
    data, files = checkpoints
    code, _, err = run(capsys, "train", "notes", data, "--epochs", "1", "--validation-split",
                       "0", "--image-size", "16x16", "--output", tmp_path / "notes.svk")
    assert code == 0, err
    code, out, err = run(capsys, "average", files[0], tmp_path / "notes.svk", data,
                         "--output", tmp_path / "a.svk")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "average: every model must have the weights of the first" in err
    assert not (tmp_path / "a.svk").exists()
