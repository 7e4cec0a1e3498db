"""The command line reports every bad option, bad or missing input and empty split as one
line, ``svertka: error: ...``, with exit status 2, before any training; a traceback is left
only to bugs."""

import os
import zlib
from pathlib import Path

import numpy as np
import pytest

import svertka
from svertka.cli import commands, main
from svertka.datasets import DatasetNotFoundError
from svertka.utils import set_random_seed


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_error_line(err: str, *words: str) -> None:
    lines = [line for line in err.splitlines() if not line.startswith("svertka: warning:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("svertka: error: "), err
    for word in words:
        assert word in lines[0], (word, err)


@pytest.mark.parametrize(
    "argv, option",
    [
        (["train", "notes", "mnist", "--epochs", "0"], "--epochs"),
        (["train", "notes", "mnist", "--epochs", "-3"], "--epochs"),
        (["train", "notes", "mnist", "--epochs", "2.5"], "--epochs"),
        (["train", "notes", "mnist", "--batch-size", "0"], "--batch-size"),
        (["train", "notes", "mnist", "--learning-rate", "0"], "--learning-rate"),
        (["train", "notes", "mnist", "--learning-rate", "-0.1"], "--learning-rate"),
        (["train", "notes", "mnist", "--learning-rate", "nan"], "--learning-rate"),
        (["train", "notes", "mnist", "--learning-rate", "inf"], "--learning-rate"),
        (["train", "notes", "mnist", "--validation-split", "1"], "--validation-split"),
        (["train", "notes", "mnist", "--validation-split", "-0.1"], "--validation-split"),
        (["train", "notes", "mnist", "--validation-split", "nan"], "--validation-split"),
        (["train", "notes", "mnist", "--seed", "-1"], "--seed"),
        (["evaluate", "m.svk", "mnist", "--tta", "-1"], "--tta"),
        (["evaluate", "m.svk", "mnist", "--batch-size", "0"], "--batch-size"),
        (["predict", "m.svk", "a.png", "--top-k", "0"], "--top-k"),
        (["summary", "notes", "--classes", "0"], "--classes"),
        (["size", "7", "--kernel", "3", "--stride", "0"], "--stride"),
        (["size", "0", "--kernel", "3"], "input"),
        (["demo", "--epochs", "0"], "--epochs"),
        (["demo", "--batch-size", "-8"], "--batch-size"),
    ],
)
def test_bad_options_exit_2_with_one_line_before_anything_runs(tmp_path, capsys, monkeypatch,
                                                               argv, option):
    monkeypatch.chdir(tmp_path)
    for name in ("train", "evaluate", "predict", "summary", "size", "demo"):
        monkeypatch.setattr(commands, name, lambda args: pytest.fail("the command ran"))
    code, out, err = run(capsys, *argv, *(["--output", "out.svk"] if argv[0] == "train" else []))
    assert code == 2 and out == ""
    assert_one_error_line(err, option)
    assert not (tmp_path / "out.svk").exists()


def test_epochs_zero_writes_no_model(tmp_path, capsys):
    code, out, err = run(capsys, "train", "notes", "mnist", "--epochs", "0",
                         "--output", str(tmp_path / "m.svk"))
    assert code == 2 and out == ""
    assert_one_error_line(err, "train: argument '--epochs' must be a positive int, received 0")
    assert not (tmp_path / "m.svk").exists()


def _fake_load(train: int, test: int):
    def load(name, path=None, **kwargs):
        x = np.zeros((train + test, 8, 8), np.uint8)
        y = np.zeros(train + test, np.int64)
        return (x[:train], y[:train]), (x[train:], y[train:]), ["a", "b"]
    return load


def test_a_data_set_without_training_images_is_an_error_naming_it(tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.setattr(svertka.datasets, "load", _fake_load(train=0, test=5))
    code, out, err = run(capsys, "train", "notes", "letters", "--output",
                         str(tmp_path / "m.svk"))
    assert code == 2 and out == ""  # no summary, no progress bar: nothing was built
    assert_one_error_line(err, "'letters'", "empty train split", "test split holds 5")
    assert not (tmp_path / "m.svk").exists()


NOTMNIST = Path(os.environ.get("SVERTKA_DATA", "/work/shared/data")) / "notmnist"


@pytest.mark.skipif(not (NOTMNIST / "t10k-images-idx3-ubyte.gz").exists() or
                    (NOTMNIST / "train-images-idx3-ubyte.gz").exists(),
                    reason="needs the shared notMNIST, which has a test split only")
def test_train_on_the_shared_notmnist_test_only_split(tmp_path, capsys):
    code, out, err = run(capsys, "train", "notes", "notmnist", "--data-dir", str(NOTMNIST),
                         "--output", str(tmp_path / "m.svk"))
    assert code == 2 and out == ""
    assert_one_error_line(err, "'notmnist'", "empty train split", "10,000")
    assert not (tmp_path / "m.svk").exists()


def test_evaluate_on_a_data_set_without_test_images(tmp_path, capsys, monkeypatch):
    from svertka.layers import Dense, Flatten, Rescaling

    set_random_seed(0)
    model = svertka.Sequential([Rescaling(1 / 255, input_shape=(8, 8, 1)), Flatten(),
                                Dense(2, activation="softmax")])
    model.save(tmp_path / "m.svk")
    monkeypatch.setattr(svertka.datasets, "load", _fake_load(train=4, test=0))
    code, out, err = run(capsys, "evaluate", str(tmp_path / "m.svk"), "pictures")
    assert code == 2 and out == ""
    assert_one_error_line(err, "evaluate: the data set 'pictures' has an empty test split")


@pytest.mark.parametrize(
    "error, words",
    [
        (svertka.ModelFileError("m.svk: entry 'weights/0.npy' is truncated\n(read 10 of 20)"),
         ["m.svk: entry 'weights/0.npy' is truncated (read 10 of 20)"]),
        (svertka.DataFileError("t10k.gz: not a gzip file"), ["t10k.gz: not a gzip file"]),
        (DatasetNotFoundError("mnist: no files in /nowhere;\nsearched: a, b"),
         ["mnist: no files in /nowhere; searched: a, b"]),
        (FileNotFoundError("no file at missing.svk"), ["no file at missing.svk"]),
        (PermissionError(13, "Permission denied"), ["Permission denied"]),
        (MemoryError(), ["out of memory", "MemoryError"]),
        (MemoryError("Unable to allocate 4.2 GiB"), ["out of memory", "4.2 GiB"]),
        (RecursionError("maximum recursion depth exceeded"), ["nesting too deep"]),
        (OverflowError("int too large"), ["out of range", "int too large"]),
        (EOFError(), ["truncated", "EOFError"]),
        (zlib.error("Error -3 while decompressing data"), ["corrupt compressed data"]),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else "",
)
def test_every_error_family_is_one_line_and_exit_2(capsys, monkeypatch, error, words):
    def fail(args):
        raise error

    monkeypatch.setattr(commands, "summary", fail)
    code, out, err = run(capsys, "summary", "notes")
    assert code == 2 and out == ""
    assert_one_error_line(err, *words)


@pytest.mark.parametrize("bug", [AttributeError("'NoneType' object has no attribute 'shape'"),
                                 KeyError("weights"), IndexError("list index out of range"),
                                 AssertionError("invariant")])
def test_programming_errors_keep_their_traceback(monkeypatch, bug):
    def fail(args):
        raise bug

    monkeypatch.setattr(commands, "summary", fail)
    with pytest.raises(type(bug)):
        main(["summary", "notes"])


def test_svertka_debug_shows_the_traceback_of_a_reported_error(capsys, monkeypatch):
    def fail(args):
        raise svertka.ModelFileError("m.svk: damaged")

    monkeypatch.setattr(commands, "summary", fail)
    monkeypatch.setenv("SVERTKA_DEBUG", "1")
    with pytest.raises(svertka.ModelFileError):
        main(["summary", "notes"])
    assert capsys.readouterr().err == "svertka: error: m.svk: damaged\n"


def test_usage_errors_are_one_line_too(capsys):
    code, out, err = run(capsys, "train", "notes")
    assert code == 2 and out == ""
    assert_one_error_line(err, "the following arguments are required: data",
                          "svertka train --help")
    code, _, err = run(capsys, "size", "7", "--kernel", "three")
    assert code == 2
    assert_one_error_line(err, "argument --kernel: invalid int value: 'three'")
    assert run(capsys, "size", "--help")[0] == 0
