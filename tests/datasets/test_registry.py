import os
from pathlib import Path

import numpy as np
import pytest

from svertka import datasets
from svertka.datasets import DatasetNotFoundError, load

DATA = Path(os.environ.get("SVERTKA_DATA", Path(__file__).parents[3] / "shared" / "data"))


@pytest.mark.skipif(not (DATA / "mnist").exists(), reason="real MNIST not present")
@pytest.mark.parametrize("name", ["mnist", "MNIST"])
def test_named_set_comes_with_its_class_names(name, monkeypatch):
    monkeypatch.setenv("SVERTKA_DATA", str(DATA))
    (x_train, y_train), (x_test, y_test), names = load(name)
    assert x_train.shape == (60000, 28, 28) and len(y_test) == 10000
    assert names == list("0123456789")


@pytest.mark.skipif(not (DATA / "fashion-mnist").exists(), reason="Fashion-MNIST not present")
@pytest.mark.parametrize("name", ["fashion_mnist", "fashion-mnist", "Fashion-MNIST"])
def test_fashion_mnist_aliases(name):
    _, (x_test, _), names = load(name, DATA / "fashion-mnist")
    assert x_test.shape == (10000, 28, 28) and names[0] == "T-shirt/top"


@pytest.mark.parametrize("name, canonical", [("cifar10", "cifar10"), ("CIFAR-10", "cifar10"),
                                             ("notMNIST", "notmnist"), ("mnist", "mnist"),
                                             ("fashion_mnist", "fashion_mnist")])
def test_names_dispatch_to_their_loader_with_path_and_download(name, canonical, monkeypatch,
                                                               tmp_path):
    calls = []
    x, y = np.zeros((1, 2, 2), np.uint8), np.zeros(1, np.uint8)

    def fake(path=None, download=True):
        calls.append((path, download))
        return (x, y), (x, y)

    table = datasets.registry._DATASETS
    monkeypatch.setitem(table, canonical, (fake, table[canonical][1]))
    *_, names = load(name, tmp_path, download=False)
    assert calls == [(tmp_path, False)] and names == list(table[canonical][1])


def test_emnist_names_pass_the_split(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="emnist-balanced-train"):
        load("emnist_balanced", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="emnist-letters-train"):
        load("emnist", tmp_path)
    assert len(datasets.class_names("emnist-byclass")) == 62


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"'imagenet' is neither a known data set \(mnist, "
                                         r"fashion_mnist, notmnist, cifar10, emnist_letters"):
        load("imagenet")
    with pytest.raises(ValueError, match="known: mnist"):
        datasets.class_names("imagenet")


def test_missing_named_set_is_a_file_not_found_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SVERTKA_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"(?s)t10k-images-idx3-ubyte\.gz.*"
                                                r"notmnist"):
        load("notmnist", download=False)


def test_a_folder_is_read_as_an_image_tree(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    for split, classes in (("train", ("a", "b")), ("test", ("a",))):
        for c in classes:
            (tmp_path / split / c).mkdir(parents=True)
            Image.new("L", (5, 7), 200).save(tmp_path / split / c / "0.png")
    (x_train, y_train), (x_test, y_test), names = load(tmp_path, image_size=(4, 4),
                                                      color_mode="grayscale")
    assert x_train.shape == (2, 4, 4, 1) and x_test.shape == (1, 4, 4, 1)
    assert y_train.tolist() == [0, 1] and names == ["a", "b"]
    (x_train, _), _, _ = load(str(tmp_path / "train"))  # no splits: all training data
    assert x_train.shape == (2, 7, 5, 3)
    with pytest.raises(ValueError, match="'path' is for named data sets"):
        load(tmp_path, path=tmp_path)
    with pytest.raises(ValueError, match="apply to image folders"):
        load("mnist", image_size=(8, 8))
