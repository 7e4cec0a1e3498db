import subprocess
import sys

import numpy as np
import pytest
from helpers import dark_light_tree

import svertka
from svertka import random
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
    assert code == 2 and "argument 'name' must be one of ['alexnet', 'lenet5'" in err
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
    for command in ("demo", "train", "evaluate", "predict", "summary", "size", "export",
                    "finetune", "explain", "show", "index", "search"):
        result = subprocess.run([sys.executable, "-m", "svertka", command, "--help"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and "usage: svertka " + command in result.stdout


def test_train_evaluate_predict_on_a_folder_of_images(tmp_path, capsys):
    """The whole command-line round: a folder tree in, a saved model out, then used."""
    pytest.importorskip("PIL")
    dark_light_tree(tmp_path, 12, train=24, test=8)
    model = tmp_path / "m.svk"
    code, out, err = run(capsys, "train", "notes", str(tmp_path / "data"), "--epochs", "3",
                         "--image-size", "16x16", "--augment", "flip", "--output", str(model),
                         "--batch-size", "8", "--learning-rate", "0.003")
    assert code == 0, err
    assert "(Rescaling)" in out and "(None, 16, 16, 3)" in out
    assert f"Model saved to {model}" in out and model.exists()
    code, out, err = run(capsys, "evaluate", str(model), str(tmp_path / "data"), "--tta", "2")
    assert code == 0, err
    assert "16 images" in out and "with TTA over 2 copies" in out
    accuracy = float(out.split("accuracy ")[1].split()[0])
    assert accuracy >= 0.9  # brightness tells the classes apart
    # the TTA copies are drawn from --seed, whatever state the generators were in before
    after = []
    for before in (1, 2):
        set_random_seed(before)
        code, _, err = run(capsys, "evaluate", str(model), str(tmp_path / "data"), "--tta", "3",
                           "--seed", "5")
        assert code == 0, err
        after.append(random.generator().bit_generator.state)
    assert after[0] == after[1]
    code, out, err = run(capsys, "predict", str(model),
                         str(tmp_path / "data" / "test" / "light" / "0.png"), "--top-k", "1")
    assert code == 0, err
    assert out.splitlines()[1].split()[0] == "light"


def test_train_continues_a_saved_model_at_its_own_input_size(tmp_path, capsys):
    pytest.importorskip("PIL")
    from PIL import Image

    from svertka.layers import Conv2D, Dense, Flatten, Rescaling

    set_random_seed(1)
    model = svertka.Sequential([Rescaling(1 / 255, input_shape=(8, 8, 1)), Conv2D(2, 3),
                                Flatten(), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.save(tmp_path / "m.svk")
    for label, name in enumerate(("a", "b")):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((20, 14), 40 + 150 * label, np.uint8)).save(
                tmp_path / "data" / name / f"{i}.png")
    code, out, err = run(capsys, "train", str(tmp_path / "m.svk"), str(tmp_path / "data"),
                         "--epochs", "1", "--validation-split", "0", "--output",
                         str(tmp_path / "m2.svk"))
    assert code == 0, err
    trained = svertka.load_model(tmp_path / "m2.svk")
    assert trained.class_names == ["a", "b"]
    assert type(trained.optimizer).__name__ == "Adam"  # its own optimiser, state carried on
    assert trained.optimizer.iterations == 1
    # --learning-rate: a new run of the options' optimiser and schedule on the trained weights
    code, out, err = run(capsys, "train", str(tmp_path / "m2.svk"), str(tmp_path / "data"),
                         "--epochs", "2", "--validation-split", "0", "--optimizer", "sgd",
                         "--learning-rate", "0.01", "--momentum", "0.9", "--schedule", "cosine",
                         "--output", str(tmp_path / "m3.svk"))
    assert code == 0, err
    again = svertka.load_model(tmp_path / "m3.svk")
    assert type(again.optimizer).__name__ == "SGD" and again.optimizer.iterations == 2
    assert again.optimizer.current_learning_rate == 0.0  # the cosine ran its two steps
    assert again.epochs_trained == 3


def _grey_tree(root, classes: int, count: int = 4):
    """``classes`` class folders of ``count`` 28x28 grey PNGs each, under ``root``."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in range(classes):
        (root / f"c{label}").mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 60, (28, 28)) + 15 * label
            Image.fromarray(pixels.astype(np.uint8)).save(root / f"c{label}" / f"{i}.png")
    return str(root)


def test_train_goes_on_from_shipped_weights(tmp_path, capsys):
    """``lenet5:mnist``: the shipped network with raw pixels rescaled first, trained by the
    options' optimiser; the very run that a model file of the same weights gives."""
    pytest.importorskip("PIL")
    from svertka import zoo
    from svertka.layers import Rescaling

    data = _grey_tree(tmp_path / "data", 2)
    shipped = zoo.lenet5(input_shape=(28, 28, 1), weights="mnist")
    zoo.with_input_layer(shipped, Rescaling(1 / 255)).save(tmp_path / "shipped.svk")
    trained = []
    for source in ("lenet5:mnist", str(tmp_path / "shipped.svk")):
        out_file = tmp_path / f"m{len(trained)}.svk"
        code, out, err = run(capsys, "train", source, data, "--epochs", "2", "--batch-size",
                             "4", "--optimizer", "sgd", "--learning-rate", "0.05",
                             "--augment", "flip", "--seed", "3", "--validation-split", "0",
                             "--output", str(out_file))
        assert code == 0, err
        trained.append(svertka.load_model(out_file))
    spec, file = trained
    assert type(spec.layers[0]).__name__ == "Rescaling" and spec.class_names == ["c0", "c1"]
    assert type(spec.optimizer).__name__ == "SGD" and spec.optimizer.iterations == 4
    for a, b in zip(spec.get_weights(), file.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(spec.get_weights(),
                                                          shipped.get_weights()))


@pytest.mark.parametrize("spec, classes, message", [
    ("lenet5:imagenet", 2, "train: argument MODEL must be a saved model file or a zoo network "
                           "with shipped weights (lenet5:mnist, notes:mnist, resnet20:cifar10), "
                           "received "
                           "'lenet5:imagenet'"),
    ("lenet5:mnist", 11, "train: the model lenet5:mnist takes 28x28x1 images of 10 classes, "
                         "received"),
])
def test_train_from_shipped_weights_refuses_what_does_not_fit(tmp_path, capsys, spec, classes,
                                                              message):
    pytest.importorskip("PIL")
    data = _grey_tree(tmp_path / "data", classes, 1)
    code, out, err = run(capsys, "train", spec, data, "--epochs", "1",
                         "--output", str(tmp_path / "m.svk"))
    assert code == 2 and out == "" and message in err and err.count("\n") == 1, err
    assert "11 classes; 'svertka finetune' adapts" in err or classes != 11
    assert not (tmp_path / "m.svk").exists()


def test_train_a_residual_network_with_sgd_cosine_and_a_backup(tmp_path, capsys):
    """A functional zoo model (ResNet-20) from the command line, the CIFAR recipe's options,
    and --backup: the backup is removed after a run that ends normally."""
    pytest.importorskip("PIL")
    data = dark_light_tree(tmp_path, 16)
    model = tmp_path / "r.svk"
    code, out, err = run(capsys, "train", "resnet20", data, "--epochs", "2", "--batch-size",
                         "8", "--optimizer", "sgd", "--learning-rate", "0.05", "--momentum",
                         "0.9", "--nesterov", "--weight-decay", "5e-4", "--schedule", "cosine",
                         "--warmup-epochs", "1", "--validation-split", "0", "--monitor-test",
                         "--backup", str(tmp_path / "backup"), "--output", str(model))
    assert code == 0, err
    assert "conv4_block3_add (Add)" in out and "val_accuracy" in out
    trained = svertka.load_model(model)
    assert type(trained.layers[0]).__name__ == "Rescaling"
    opt = trained.optimizer
    assert (opt.momentum, opt.nesterov, opt.weight_decay) == (0.9, True, 5e-4)
    rate = opt.learning_rate  # warm-up over the first epoch's 4 steps, then cosine to 0
    assert rate(2) == pytest.approx(0.025) and rate(4) == pytest.approx(0.05)
    assert rate(8) == pytest.approx(0.0)
    assert not (tmp_path / "backup" / "backup.zip").exists()


@pytest.mark.parametrize("argv, message", [
    (["--momentum", "0.9"], "train: --momentum is an option of --optimizer sgd"),
    (["--optimizer", "adam", "--weight-decay", "0.1"],
     "train: --weight-decay is an option of --optimizer sgd or adamw"),
    (["--schedule", "cosine", "--warmup-epochs", "3", "--epochs", "3"],
     "train: --warmup-epochs must be less than --epochs"),
    (["--monitor-test"], "train: --monitor-test replaces the validation split"),
    (["--momentum", "1.5", "--optimizer", "sgd"], "--momentum"),
])
def test_train_option_errors_are_one_line(tmp_path, capsys, argv, message):
    pytest.importorskip("PIL")
    data = dark_light_tree(tmp_path)
    code, out, err = run(capsys, "train", "notes", data, "--epochs", "1", *argv,
                         "--output", str(tmp_path / "m.svk"))
    assert code == 2 and message in err and err.count("\n") == 1


def test_summary_of_a_zoo_network_with_macs(capsys):
    code, out, _ = run(capsys, "summary", "lenet5", "--flops")
    assert code == 0 and "Total params: 61,706" in out
    assert "C5 (Conv2D)" in out and "(None, 28, 28, 6)" in out and "MACs" in out
    assert "Multiply-accumulates per image: 416,520" in out
    code, out, _ = run(capsys, "summary", "resnet20", "--classes", "100")
    assert "(None, 100)" in out


def test_export_writes_onnx_that_reproduces_the_model(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    set_random_seed(0)
    model = svertka.zoo.lenet5((28, 28, 1))
    model.save(tmp_path / "m.svk")
    code, out, _ = run(capsys, "export", str(tmp_path / "m.svk"), str(tmp_path / "m.onnx"))
    assert code == 0 and "m.onnx" in out and "(None, 10)" in out
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, model.predict(x), atol=1e-5)
    # an architecture by name, at a fixed batch size
    code, out, _ = run(capsys, "export", "resnet20", str(tmp_path / "r.onnx"),
                       "--classes", "4", "--batch-size", "2")
    assert code == 0 and "(None, 4)" in out
    session = ort.InferenceSession(str(tmp_path / "r.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [2, 32, 32, 3]


@pytest.mark.parametrize("argv, message", [
    (["export", "resnet9000", "x.onnx"], "argument 'name' must be one of"),
    (["export", "lenet5", "x.onnx", "--batch-size", "0"], "'--batch-size' must be a positive"),
    (["export", "lenet5", "x.onnx", "--opset", "7"], "opset"),
])
def test_export_errors_are_one_line(tmp_path, capsys, argv, message):
    argv = [str(tmp_path / a) if a.endswith(".onnx") else a for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.onnx").exists()
