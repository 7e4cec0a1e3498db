import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from svertka.datasets import mnist, read_idx
from svertka.errors import DataFileError

DATA = Path(os.environ.get("SVERTKA_DATA", Path(__file__).parents[3] / "shared" / "data"))
needs_mnist = pytest.mark.skipif(not (DATA / "mnist").exists(), reason="real MNIST not present")


@needs_mnist
def test_full_mnist_loads_with_the_published_label_counts():
    (x_train, y_train), (x_test, y_test) = mnist.load_data(DATA / "mnist")
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                             5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@needs_mnist
def test_embedded_sample_is_a_prefix_of_real_mnist():
    (xs, ys), (xt, yt) = mnist.load_sample()
    (x_train, y_train), (x_test, y_test) = mnist.load_data(DATA / "mnist")
    assert xs.shape == (6000, 28, 28) and xt.shape == (1000, 28, 28)
    np.testing.assert_array_equal(xs, x_train[:6000])
    np.testing.assert_array_equal(yt, y_test[:1000])


def _write(path, payload):
    with gzip.open(path, "wb") as f:
        f.write(payload)
    return path


def test_truncated_idx_is_a_clear_error(tmp_path):
    header = bytes([0, 0, 8, 3]) + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    path = _write(tmp_path / "x.gz", header + bytes(100))
    with pytest.raises(ValueError, match="truncated or damaged"):
        read_idx(path)


def test_wrong_magic_is_a_clear_error(tmp_path):
    path = _write(tmp_path / "x.gz", b"PK\x03\x04" + bytes(20))
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(path)


def test_idx_round_trip(tmp_path):
    data = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in data.shape)
    np.testing.assert_array_equal(read_idx(_write(tmp_path / "x.gz", header + data.tobytes())),
                                  data)


def test_missing_files_name_what_to_put_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        mnist.load_data(tmp_path)


def test_compression_is_recognised_by_content_not_name(tmp_path):
    data = np.arange(6, dtype=np.uint8).reshape(2, 3)
    payload = bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + data.tobytes()
    (tmp_path / "plain.gz").write_bytes(payload)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), data)
    np.testing.assert_array_equal(read_idx(_write(tmp_path / "packed", payload)), data)


def test_cut_gzip_stream_is_a_clear_error(tmp_path):
    path = _write(tmp_path / "x.gz", bytes([0, 0, 8, 1, 0, 0, 1, 0]) + bytes(256))
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(DataFileError, match=f"{path}: the gzip stream ends .* truncated"):
        read_idx(path)


def test_mnist_is_found_under_svertka_data_without_a_path(monkeypatch):
    if not (DATA / "mnist").exists():
        pytest.skip("real MNIST not present")
    monkeypatch.setenv("SVERTKA_DATA", str(DATA))
    (x_train, _), (_, y_test) = mnist.load_data(download=False)
    assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)
