"""Damaged data files end in one error, DataFileError, naming the file; archives are read to
their end or not at all; recorded SHA-256 are checked once per file version."""

import gzip
import hashlib
import os
import tarfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from svertka.datasets import checksums, cifar10, files, idx_dataset, mnist, read_idx, sources
from svertka.errors import DataFileError

DATA = Path(os.environ.get("SVERTKA_DATA", Path(__file__).parents[3] / "shared" / "data"))
JPEG_TAR = DATA / "cifar10-jpg" / "cifar10-yoongikim-jpg.tar.gz"


def idx_bytes(array):
    array = np.asarray(array, np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def png_tree_archive(tmp_path, per_class=40):
    """A CIFAR-10 image tree of noisy PNGs (so that it compresses poorly) as a .tar.gz."""
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    root = tmp_path / "tree"
    for split, n in (("train", per_class), ("test", 2)):
        for name in cifar10.CLASS_NAMES:
            (root / split / name).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{i}.png")
    archive = tmp_path / "cifar10-png.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="cifar10")
    return archive


def test_truncated_tar_gz_image_archive_is_an_error_and_nothing_is_cached(tmp_path):
    # the old reader gave the classes read before the cut and cached them
    archive = png_tree_archive(tmp_path)
    (x_train, y_train), _ = cifar10.load_data(archive)
    assert np.bincount(y_train.ravel()).tolist() == [40] * 10
    cut = tmp_path / "cut" / "cifar10-png.tar.gz"
    cut.parent.mkdir()
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size * 3 // 10])
    decoded_before = sorted(sources.cache_dir("cifar10").glob("decoded-*"))
    with pytest.raises(DataFileError, match=f"{cut}: the gzip stream ends .*truncated"):
        cifar10.load_data(cut)
    assert sorted(sources.cache_dir("cifar10").glob("decoded-*")) == decoded_before


def test_plain_tar_without_its_end_marker_is_an_error(tmp_path):
    archive = png_tree_archive(tmp_path, per_class=2)
    plain = tmp_path / "tree.tar"
    plain.write_bytes(gzip.decompress(archive.read_bytes()))
    end = plain.stat().st_size - tarfile.RECORDSIZE  # at least the last record is padding
    for size in (512 * 7, end // 2 // 512 * 512, end // 2 + 100):
        (tmp_path / "cut.tar").write_bytes(plain.read_bytes()[:size])
        with pytest.raises(DataFileError, match=r"cut\.tar: (the tar|not a readable tar)"):
            cifar10.load_data(tmp_path / "cut.tar")


def test_damaged_tar_header_is_an_error_not_the_end_of_the_archive(tmp_path):
    # tarfile stops quietly at a bad header after the first member; the reader must not
    archive = png_tree_archive(tmp_path, per_class=2)
    data = bytearray(gzip.decompress(archive.read_bytes()))
    with tarfile.open(archive) as tar:
        offset = tar.getmembers()[len(tar.getmembers()) // 2].offset
    data[offset + 100] ^= 0x10  # the mode field: the header's checksum no longer holds
    (tmp_path / "bad.tar").write_bytes(bytes(data))
    with pytest.raises(DataFileError, match="end-of-archive marker"):
        cifar10.load_data(tmp_path / "bad.tar")


def test_bit_flip_in_an_idx_gz_names_the_file(tmp_path, made_up_files):
    x = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 251
    for name, array in (("train-images-idx3-ubyte.gz", x), ("train-labels-idx1-ubyte.gz", [1, 2]),
                        ("t10k-images-idx3-ubyte.gz", x), ("t10k-labels-idx1-ubyte.gz", [3, 4])):
        (tmp_path / name).write_bytes(gzip.compress(idx_bytes(array), mtime=0))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    original = path.read_bytes()
    # byte 10 opens the deflate stream (gzip.decompress raised a bare zlib.error: invalid
    # block type); a flip mid-stream inflates to other bytes (its CRC-32 fails)
    for offset, what in ((10, "invalid block type"), (len(original) // 2, "incorrect data check")):
        data = bytearray(original)
        data[offset] ^= 0x01
        path.write_bytes(bytes(data))
        with pytest.raises(DataFileError, match=f"{path}: the gzip data is corrupt .*{what}") \
                as info:
            mnist.load_data(tmp_path)
        assert isinstance(info.value.__cause__, zlib.error)


def test_gzip_trailer_is_checked(tmp_path):
    path = tmp_path / "x.gz"
    data = bytearray(gzip.compress(idx_bytes([1, 2, 3])))
    data[-5] ^= 0x01  # the CRC-32 of the content
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match="incorrect data check"):
        read_idx(path)
    data[-5] ^= 0x01
    data[-2] ^= 0x01  # the length of the content
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match="incorrect length check"):
        read_idx(path)


def test_gzip_members_and_zero_padding_are_read_as_gzip_reads_them(tmp_path):
    content = idx_bytes(np.arange(600).reshape(20, 30) % 256)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(content[:100]) + gzip.compress(content[100:]) + bytes(64))
    np.testing.assert_array_equal(read_idx(path), np.frombuffer(content[12:], np.uint8)
                                  .reshape(20, 30))
    path.write_bytes(gzip.compress(content) + b"trailing garbage")
    with pytest.raises(DataFileError, match="corrupt"):
        read_idx(path)


def test_idx_header_declaring_more_than_the_cap_allocates_nothing(tmp_path, monkeypatch):
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 8, 3]) + (0xFFFFFFFF).to_bytes(4, "big") * 3)
    with pytest.raises(DataFileError, match="declares shape .* more than the cap"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 8, 1]) + (10**8).to_bytes(4, "big") + b"\x07")
    with pytest.raises(DataFileError, match="holds 1 data bytes, expected 100,000,000"):
        read_idx(path)
    monkeypatch.setattr(files, "MAX_BYTES", 10_000)  # a bomb: stops at the cap
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(10**6))))
    with pytest.raises(DataFileError, match="inflates to more than 10,000 bytes"):
        read_idx(path)


def test_labels_outside_the_classes_and_foreign_types_are_errors(tmp_path):
    images = np.zeros((2, 4, 4))
    for split in ("train", "t10k"):
        (tmp_path / f"{split}-images-idx3-ubyte").write_bytes(idx_bytes(images))
        (tmp_path / f"{split}-labels-idx1-ubyte").write_bytes(idx_bytes([1, 200]))
    with pytest.raises(DataFileError, match=r"labels-idx1-ubyte holds label 200, expected "
                                            r"labels 0-9"):
        idx_dataset(tmp_path, classes=10)
    data = bytearray(idx_bytes(images))
    data[2] = 0x09  # int8: same size, other values
    (tmp_path / "train-images-idx3-ubyte").write_bytes(bytes(data))
    with pytest.raises(DataFileError, match=r"must hold images \(N, H, W\) of uint8, received "
                                            r"shape \(2, 4, 4\) of int8"):
        idx_dataset(tmp_path)


def test_cifar_batch_cut_at_a_record_boundary_is_an_error(tmp_path):
    rng = np.random.default_rng(0)
    for name in cifar10.TRAIN_FILES + cifar10.TEST_FILES:
        records = np.concatenate([rng.integers(0, 10, (4, 1)), rng.integers(0, 256, (4, 3072))],
                                 axis=1).astype(np.uint8)
        (tmp_path / name).write_bytes(records.tobytes())
    (tmp_path / "data_batch_2.bin").write_bytes(
        (tmp_path / "data_batch_2.bin").read_bytes()[:3 * cifar10.RECORD_BYTES])
    with pytest.raises(DataFileError, match="data_batch_2.bin holds 3 records, the other "
                                            "batches 4 each"):
        cifar10.load_data(tmp_path)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_that_does_not_decode_is_a_data_file_error(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    from svertka.datasets import load_image

    path = tmp_path / "x.png"
    Image.new("RGB", (20, 10)).save(path)
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DataFileError, match=f"cannot decode the image {path}"):
        load_image(path)
    Image.new("L", (300, 200)).save(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Image, "MAX_IMAGE_PIXELS", 40_000)  # Pillow only warns up to 2x
        with pytest.raises(DataFileError, match="declares 300x200 pixels"):
            load_image(path)


def write_mnist_like(directory, content=b"made-up"):
    directory.mkdir(parents=True, exist_ok=True)
    for name in mnist.FILES:
        (directory / f"{name}.gz").write_bytes(gzip.compress(content))


def test_local_file_with_another_sha256_is_an_error_naming_both_hashes(tmp_path):
    write_mnist_like(tmp_path)
    actual = hashlib.sha256(b"made-up").hexdigest()
    with pytest.raises(DataFileError, match=f"train-images-idx3-ubyte.gz: SHA-256 mismatch.* "
                                            f"expected ba891046.*, received {actual}"):
        mnist.load_data(tmp_path)
    assert isinstance(pytest.raises(ValueError, mnist.load_data, tmp_path).value,
                      sources.ChecksumError)


def test_sha256_is_checked_once_per_size_and_mtime(tmp_path, monkeypatch):
    write_mnist_like(tmp_path)
    digest = hashlib.sha256(b"made-up").hexdigest()
    files_ = tuple(sources.RemoteFile(f"{n}.gz", digest) for n in mnist.FILES)
    monkeypatch.setattr(mnist, "SOURCE", mnist.SOURCE.__class__(
        "mnist", ("mnist",), files_))
    hashed = []
    real = checksums.content_sha256
    monkeypatch.setattr(checksums, "content_sha256",
                        lambda path, name=None: hashed.append(Path(path).name) or real(path, name))
    assert sources.locate(mnist.SOURCE, tmp_path) == tmp_path
    assert len(hashed) == 4
    assert sources.locate(mnist.SOURCE, tmp_path) == tmp_path
    assert len(hashed) == 4  # remembered: no file hashed again
    target = tmp_path / "t10k-labels-idx1-ubyte.gz"
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    sources.locate(mnist.SOURCE, tmp_path)
    assert hashed[4:] == ["t10k-labels-idx1-ubyte.gz"]  # a new mtime: hashed again
    target.write_bytes(gzip.compress(b"made-up, then changed"))
    with pytest.raises(sources.ChecksumError, match="t10k-labels-idx1-ubyte.gz: SHA-256"):
        sources.locate(mnist.SOURCE, tmp_path)


@pytest.mark.skipif(not (DATA / "mnist").exists(), reason="real MNIST not present")
def test_shared_data_matches_the_recorded_hashes(monkeypatch):
    from svertka.datasets import fashion_mnist, notmnist

    for module in (mnist, fashion_mnist, notmnist):
        folder = DATA / module.SOURCE.folders[0]
        if folder.exists():
            sources.verify_files(folder, module.SOURCE)  # raises on a mismatch
    assert len(checksums._load(sources.hash_record())) >= 4


@pytest.mark.slow
@pytest.mark.skipif(not JPEG_TAR.exists(), reason="the CIFAR-10 JPEG archive is not present")
def test_real_cifar10_archive_cut_where_the_issue_cut_it(tmp_path):
    cut = tmp_path / JPEG_TAR.name
    with open(JPEG_TAR, "rb") as f:
        cut.write_bytes(f.read(5_747_541))  # gave 7,987 of 50,000 images, cached
    with pytest.raises(DataFileError, match=f"{cut}: the gzip stream ends .*truncated"):
        cifar10.load_data(cut)
    assert not list(sources.cache_dir("cifar10").glob("decoded-*"))
