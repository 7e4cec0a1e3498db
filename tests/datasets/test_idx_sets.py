import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from svertka.datasets import (
    DatasetNotFoundError,
    emnist,
    fashion_mnist,
    idx_dataset,
    notmnist,
    sources,
)

DATA = Path(os.environ.get("SVERTKA_DATA", Path(__file__).parents[3] / "shared" / "data"))


def _needs(folder):
    return pytest.mark.skipif(not (DATA / folder).exists(), reason=f"real {folder} not present")


def write_idx(path, array, compress=True):
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + array.tobytes()
    Path(path).write_bytes(gzip.compress(payload) if compress else payload)
    return path


def write_split(directory, prefix, split, x, y, compress=True):
    suffix = ".gz" if compress else ""
    write_idx(directory / f"{prefix}{split}-images-idx3-ubyte{suffix}", x, compress)
    write_idx(directory / f"{prefix}{split}-labels-idx1-ubyte{suffix}", y, compress)


@_needs("fashion-mnist")
def test_fashion_mnist_loads_6000_and_1000_of_each_class(monkeypatch):
    monkeypatch.setenv("SVERTKA_DATA", str(DATA))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert len(fashion_mnist.CLASS_NAMES) == 10 and fashion_mnist.CLASS_NAMES[9] == "Ankle boot"


@_needs("notmnist")
def test_notmnist_without_train_files_returns_an_empty_train_split_and_warns():
    with pytest.warns(UserWarning, match="train split is returned empty"):
        (x_train, y_train), (x_test, y_test) = notmnist.load_data(DATA / "notmnist")
    assert x_train.shape == (0, 28, 28) and y_train.shape == (0,)
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert notmnist.CLASS_NAMES == tuple("ABCDEFGHIJ")


def test_notmnist_reads_a_train_split_when_present(tmp_path, made_up_files):
    rng = np.random.default_rng(0)
    write_split(tmp_path, "", "t10k", rng.integers(0, 256, (4, 28, 28)), [0, 1, 2, 3])
    write_split(tmp_path, "", "train", rng.integers(0, 256, (6, 28, 28)), [9] * 6)
    (x_train, y_train), (x_test, y_test) = notmnist.load_data(tmp_path)
    assert x_train.shape == (6, 28, 28) and y_train.tolist() == [9] * 6
    assert y_test.tolist() == [0, 1, 2, 3]


def test_idx_dataset_reads_prefixed_uncompressed_files(tmp_path):
    x = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    write_split(tmp_path, "p-", "train", x, [1, 0], compress=False)
    write_split(tmp_path, "p-", "test", x[:1], [1], compress=False)
    (x_train, y_train), (x_test, y_test) = idx_dataset(tmp_path, "p-")
    np.testing.assert_array_equal(x_train, x)
    assert y_train.tolist() == [1, 0] and x_test.shape == (1, 3, 4)


def test_idx_dataset_with_no_files_names_them(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="p-train-images-idx3-ubyte"):
        idx_dataset(tmp_path, "p-")


def test_label_count_differing_from_image_count_is_an_error(tmp_path):
    write_split(tmp_path, "", "train", np.zeros((3, 2, 2)), [0, 1])
    with pytest.raises(ValueError, match="3 images but .* 2 labels"):
        idx_dataset(tmp_path)


def test_images_file_of_the_wrong_rank_is_an_error(tmp_path):
    write_split(tmp_path, "", "train", np.zeros((3, 2, 2)), [0, 1, 2])
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"images \(N, H, W\)"):
        idx_dataset(tmp_path)


def test_emnist_letters_are_transposed_upright_and_labelled_from_zero(tmp_path):
    upright = np.zeros((2, 28, 28), np.uint8)
    upright[:, :5, :] = 255  # a bar along the top
    stored = upright.transpose(0, 2, 1)  # EMNIST keeps images transposed
    write_split(tmp_path, "emnist-letters-", "train", stored, [1, 26])
    write_split(tmp_path, "emnist-letters-", "test", stored[:1], [3])
    (x_train, y_train), (x_test, y_test) = emnist.load_data(tmp_path, split="letters")
    np.testing.assert_array_equal(x_train, upright)
    assert [emnist.CLASS_NAMES["letters"][i] for i in y_train] == ["A", "Z"]
    assert y_test.tolist() == [2]


def test_emnist_errors_name_the_split_and_files(tmp_path):
    with pytest.raises(ValueError, match="'split' must be one of"):
        emnist.load_data(tmp_path, split="cursive")
    with pytest.raises(DatasetNotFoundError, match="emnist-digits-train-images-idx3-ubyte.gz"):
        emnist.load_data(tmp_path, split="digits")
    write_split(tmp_path, "emnist-letters-", "train", np.zeros((1, 28, 28)), [0])
    write_split(tmp_path, "emnist-letters-", "test", np.zeros((1, 28, 28)), [1])
    with pytest.raises(ValueError, match="letters labels must be 1-26"):
        emnist.load_data(tmp_path)


def test_class_name_tables_have_the_published_sizes():
    sizes = {split: len(names) for split, names in emnist.CLASS_NAMES.items()}
    assert sizes == {"letters": 26, "digits": 10, "mnist": 10, "byclass": 62, "bymerge": 47,
                     "balanced": 47}


def test_fashion_mnist_is_searched_under_both_folder_names(tmp_path, monkeypatch,
                                                           made_up_files):
    monkeypatch.setenv("SVERTKA_DATA", str(tmp_path))
    (tmp_path / "fashion_mnist").mkdir()
    write_split(tmp_path / "fashion_mnist", "", "train", np.zeros((1, 28, 28)), [0])
    write_split(tmp_path / "fashion_mnist", "", "t10k", np.zeros((2, 28, 28)), [1, 2])
    assert sources.locate(fashion_mnist.SOURCE) == tmp_path / "fashion_mnist"
    _, (_, y_test) = fashion_mnist.load_data()
    assert y_test.tolist() == [1, 2]
