import dataclasses
import hashlib
import os
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from svertka.datasets import DatasetNotFoundError, cifar10, sources
from svertka.errors import DataFileError

DATA = Path(os.environ.get("SVERTKA_DATA", Path(__file__).parents[3] / "shared" / "data"))
JPEG_TAR = DATA / "cifar10-jpg" / "cifar10-yoongikim-jpg.tar.gz"


def batch(n, seed):
    """n records as CIFAR-10 writes them, and the (x, y) they must read back as."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, n, dtype=np.uint8)
    chw = x.transpose(0, 3, 1, 2).reshape(n, 3072)  # the file stores channel planes
    return np.concatenate([y[:, None], chw], axis=1).tobytes(), x, y


def write_batches(directory, n=3):
    directory.mkdir(parents=True, exist_ok=True)
    xs, ys = {}, {}
    for i, name in enumerate(cifar10.TRAIN_FILES + cifar10.TEST_FILES):
        data, xs[name], ys[name] = batch(n, i)
        (directory / name).write_bytes(data)
    train = [np.concatenate([d[n] for n in cifar10.TRAIN_FILES]) for d in (xs, ys)]
    test = [xs["test_batch.bin"], ys["test_batch.bin"]]
    return train, test


def check(loaded, expected):
    for got, want in zip([*loaded[0], *loaded[1]], [*expected[0], *expected[1]]):
        if want.ndim == 1:  # labels: (N, 1), as Keras gives them
            assert got.shape == (len(want), 1)
            got = got[:, 0]
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.uint8


def test_binary_batches_read_channel_planes_into_nhwc(tmp_path):
    expected = write_batches(tmp_path)
    loaded = cifar10.load_data(tmp_path)
    check(loaded, expected)
    assert loaded[0][0].shape == (15, 32, 32, 3) and loaded[1][0].shape == (3, 32, 32, 3)


def test_record_layout_by_hand():
    record = bytes([7]) + bytes([1] * 1024 + [2] * 1024 + [3] * 1024)
    x, y = cifar10.read_binary(record)
    assert y.tolist() == [7] and x.shape == (1, 32, 32, 3)
    assert (x[0] == [1, 2, 3]).all()  # red plane, then green, then blue


def test_truncated_or_foreign_batches_are_errors(tmp_path):
    data, _, _ = batch(2, 0)
    with pytest.raises(ValueError, match="not a whole number of 3073-byte records"):
        cifar10.read_binary(data[:-1], "cut.bin")
    with pytest.raises(ValueError, match="3073-byte records"):
        cifar10.read_binary(b"")
    with pytest.raises(ValueError, match="label 42"):
        cifar10.read_binary(bytes([42]) + bytes(3072))
    write_batches(tmp_path)
    (tmp_path / "data_batch_3.bin").write_bytes(data[:5000])
    with pytest.raises(ValueError, match="data_batch_3.bin holds 5000 bytes"):
        cifar10.load_data(tmp_path)


def test_batches_subfolder_under_svertka_data_is_found(tmp_path, monkeypatch):
    expected = write_batches(tmp_path / "cifar10" / "cifar-10-batches-bin")
    monkeypatch.setenv("SVERTKA_DATA", str(tmp_path))
    check(cifar10.load_data(), expected)


def binary_archive(tmp_path):
    expected = write_batches(tmp_path / "src" / "cifar-10-batches-bin")
    archive = tmp_path / cifar10.ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    return archive, expected


def with_hash_of(monkeypatch, archive):
    """Record ``archive``'s SHA-256 as the official archive's (ours holds made-up batches)."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    source = dataclasses.replace(cifar10.SOURCE,
                                 files=(sources.RemoteFile(cifar10.ARCHIVE, digest),))
    monkeypatch.setattr(cifar10, "SOURCE", source)


def test_official_archive_is_read_in_place(tmp_path, monkeypatch):
    archive, expected = binary_archive(tmp_path)
    with_hash_of(monkeypatch, archive)
    check(cifar10.load_data(archive), expected)
    check(cifar10.load_data(tmp_path), expected)  # the folder holding it


def test_official_archive_with_another_sha256_is_an_error(tmp_path):
    archive, _ = binary_archive(tmp_path)  # SOURCE keeps the real SHA-256
    with pytest.raises(DataFileError, match=r"cifar-10-binary\.tar\.gz: SHA-256 mismatch.*"
                                            r"expected c4a38c50.*received [0-9a-f]{64}"):
        cifar10.load_data(archive)
    assert not list(sources.cache_dir("cifar10").glob("decoded-*"))


def test_download_checks_unpacks_and_then_reads_from_the_cache(tmp_path, monkeypatch,
                                                               http_mirror):
    archive, expected = binary_archive(tmp_path)
    body = archive.read_bytes()
    http_mirror.files[f"/cifar10/{cifar10.ARCHIVE}"] = body
    monkeypatch.delenv("SVERTKA_DATA", raising=False)
    monkeypatch.setenv("SVERTKA_MIRROR", http_mirror.url)
    source = dataclasses.replace(
        cifar10.SOURCE, files=(sources.RemoteFile(cifar10.ARCHIVE,
                                                  hashlib.sha256(body).hexdigest()),))
    monkeypatch.setattr(cifar10, "SOURCE", source)
    check(cifar10.load_data(), expected)
    cache = sources.cache_dir("cifar10")
    assert sorted(p.name for p in cache.iterdir()) == sorted(cifar10.TRAIN_FILES
                                                             + cifar10.TEST_FILES)
    check(cifar10.load_data(), expected)
    assert len(http_mirror.requests) == 1


def test_download_with_a_wrong_checksum_keeps_nothing(tmp_path, monkeypatch, http_mirror):
    archive, _ = binary_archive(tmp_path)
    http_mirror.files[f"/cifar10/{cifar10.ARCHIVE}"] = archive.read_bytes()
    monkeypatch.delenv("SVERTKA_DATA", raising=False)
    monkeypatch.setenv("SVERTKA_MIRROR", http_mirror.url)  # SOURCE keeps the real SHA-256
    with pytest.raises(sources.ChecksumError, match="SHA-256 mismatch"):
        cifar10.load_data()
    assert list(sources.cache_dir("cifar10").iterdir()) == []


def png_tree(root, image_size=(32, 32)):
    Image = pytest.importorskip("PIL.Image")
    for split, n in (("train", 2), ("test", 1)):
        for c, name in enumerate(cifar10.CLASS_NAMES[:3]):
            for i in range(n):
                path = root / split / name / f"{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", image_size, (c, i, 9)).save(path)
    return root


def test_image_tree_uses_the_standard_labels_and_is_cached(tmp_path, monkeypatch):
    png_tree(tmp_path / "tree", image_size=(40, 36))  # not 32x32: resized
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(tmp_path / "tree")
    assert y_train.shape == (6, 1) and y_test.shape == (3, 1)
    y_train, y_test = y_train.ravel(), y_test.ravel()
    assert x_train.shape == (6, 32, 32, 3) and sorted(y_train.tolist()) == [0, 0, 1, 1, 2, 2]
    assert x_test.shape == (3, 32, 32, 3) and sorted(y_test.tolist()) == [0, 1, 2]
    assert [1, 0, 9] in x_train[y_train == 1][:, 5, 5].tolist()  # automobile/0.png

    def no_decoding(path):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(cifar10, "_decode", no_decoding)
    (x2, y2), _ = cifar10.load_data(tmp_path / "tree")
    np.testing.assert_array_equal(x2, x_train)
    assert len(list(sources.cache_dir("cifar10").glob("decoded-*/*.npy"))) == 4


def test_tree_with_a_class_cifar_lacks_is_an_error(tmp_path):
    png_tree(tmp_path)
    (tmp_path / "train" / "bird").rename(tmp_path / "train" / "unicorn")
    with pytest.raises(ValueError, match=r"\['unicorn'\] that are not in class_names"):
        cifar10.load_data(tmp_path)


def test_unreadable_image_in_the_tree_names_the_file(tmp_path):
    png_tree(tmp_path)
    (tmp_path / "test" / "bird" / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ValueError, match=r"test/bird/bad\.jpg"):
        cifar10.load_data(tmp_path)


def test_nothing_there_says_what_to_put_where(tmp_path, monkeypatch):
    with pytest.raises(DatasetNotFoundError, match=r"(?s)holds no CIFAR-10.*data_batch_1\.bin"
                                                   r".*train/<class>"):
        cifar10.load_data(tmp_path)
    monkeypatch.setenv("SVERTKA_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as info:
        cifar10.load_data(download=False)
    assert str(tmp_path / "cifar10-jpg") in str(info.value)
    assert str(sources.cache_dir("cifar10")) in str(info.value)


@pytest.mark.slow
@pytest.mark.skipif(not JPEG_TAR.exists(), reason="the CIFAR-10 JPEG archive is not present")
def test_real_jpeg_archive_loads_50000_and_10000_then_comes_from_the_cache(monkeypatch):
    pytest.importorskip("PIL")
    monkeypatch.setenv("SVERTKA_DATA", str(DATA))
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    first = time.perf_counter() - start
    assert x_train.shape == (50000, 32, 32, 3) and x_test.shape == (10000, 32, 32, 3)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert y_train.shape == (50000, 1)
    assert np.bincount(y_train.ravel()).tolist() == [5000] * 10
    assert np.bincount(y_test.ravel()).tolist() == [1000] * 10
    # JPEG at quality 75 keeps the published per-channel means within a unit
    np.testing.assert_allclose(x_train.mean(axis=(0, 1, 2)), [125.3, 123.0, 113.9], atol=1.0)
    start = time.perf_counter()
    (x2, y2), (xt2, yt2) = cifar10.load_data()
    second = time.perf_counter() - start
    print(f"\nCIFAR-10 JPEG archive: first load (decode 60,000 JPEGs) {first:.1f} s, "
          f"second load (.npy cache) {second:.2f} s")
    np.testing.assert_array_equal(x2, x_train)
    np.testing.assert_array_equal(yt2, y_test)
    assert second < first / 5


def test_class_names_are_the_standard_order_and_alphabetical():
    assert cifar10.CLASS_NAMES[0] == "airplane" and cifar10.CLASS_NAMES[-1] == "truck"
    assert list(cifar10.CLASS_NAMES) == sorted(cifar10.CLASS_NAMES)
