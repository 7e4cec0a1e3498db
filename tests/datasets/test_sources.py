import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pooch
import pytest

from svertka.datasets import checksums, mnist, sources
from svertka.datasets.sources import (
    ChecksumError,
    DatasetNotFoundError,
    DataSource,
    RemoteFile,
    cached_arrays,
    content_sha256,
    download_file,
    locate,
)

DATA = Path(os.environ.get("SVERTKA_DATA", Path(__file__).parents[3] / "shared" / "data"))
needs_mnist = pytest.mark.skipif(not (DATA / "mnist").exists(), reason="real MNIST not present")

PAYLOAD = b"the content that matters" * 100
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _toy(mirror_url=None, sha=SHA):
    return DataSource(name="toy", folders=("toy", "toy-alt"), files=(RemoteFile("a.bin.gz", sha),),
                      mirrors=(f"{mirror_url}/toy/",) if mirror_url else ())


def _put(directory, name="a.bin.gz", payload=PAYLOAD):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(gzip.compress(payload))
    return directory


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_explicit_directory_wins_and_is_the_only_place_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("SVERTKA_DATA", str(tmp_path / "data"))
    _put(tmp_path / "data" / "toy")
    explicit = _put(tmp_path / "mine")
    assert locate(_toy(), explicit) == explicit
    with pytest.raises(DatasetNotFoundError, match=r"empty lacks a\.bin\.gz"):
        locate(_toy(), tmp_path / "empty")


def test_order_is_svertka_data_then_cache_then_download(tmp_path, monkeypatch, http_mirror):
    http_mirror.files["/toy/a.bin.gz"] = gzip.compress(PAYLOAD)
    cache = sources.cache_dir("toy")
    monkeypatch.setenv("SVERTKA_DATA", str(tmp_path / "data"))
    assert locate(_toy(http_mirror.url)) == cache  # nothing anywhere: downloaded
    assert http_mirror.requests == ["/toy/a.bin.gz"]
    assert locate(_toy(http_mirror.url)) == cache  # now cached: no second request
    assert len(http_mirror.requests) == 1
    _put(tmp_path / "data" / "toy-alt")  # the second folder name of SVERTKA_DATA
    assert locate(_toy(http_mirror.url)) == tmp_path / "data" / "toy-alt"
    _put(tmp_path / "data" / "toy")
    assert locate(_toy(http_mirror.url)) == tmp_path / "data" / "toy"


def test_svertka_cache_sets_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SVERTKA_CACHE", str(tmp_path / "c"))
    assert sources.cache_dir("mnist") == tmp_path / "c" / "mnist"
    monkeypatch.delenv("SVERTKA_CACHE")
    assert sources.cache_dir("mnist") == Path.home() / ".cache" / "svertka" / "mnist"


def test_uncompressed_copies_are_found_too(tmp_path):
    (tmp_path / "a.bin").write_bytes(PAYLOAD)
    assert locate(_toy(), tmp_path) == tmp_path
    assert sources.find_file(tmp_path, "a.bin.gz") == tmp_path / "a.bin"


def test_checksum_is_of_the_decompressed_bytes(tmp_path, http_mirror):
    # two gzip wrappers of one content (different header mtime) must both be accepted
    for mtime, name in ((0, "/x.gz"), (1234567, "/y.gz")):
        http_mirror.files[name] = gzip.compress(PAYLOAD, mtime=mtime)
    assert http_mirror.files["/x.gz"] != http_mirror.files["/y.gz"]
    for name in ("x.gz", "y.gz"):
        path = download_file(f"{http_mirror.url}/{name}", tmp_path / name, SHA, progress=False)
        assert gzip.decompress(path.read_bytes()) == PAYLOAD
    assert content_sha256(tmp_path / "x.gz") == SHA


def test_checksum_mismatch_is_an_error_and_leaves_nothing(http_mirror):
    http_mirror.files["/toy/a.bin.gz"] = gzip.compress(PAYLOAD + b"tampered")
    with pytest.raises(ChecksumError, match="SHA-256 mismatch.*not kept"):
        locate(_toy(http_mirror.url))
    assert _leftovers(sources.cache_dir("toy")) == []


def test_truncated_transfer_is_an_error_and_leaves_nothing(http_mirror):
    http_mirror.files["/toy/a.bin.gz"] = gzip.compress(PAYLOAD)
    http_mirror.truncate["/toy/a.bin.gz"] = 20
    with pytest.raises(DatasetNotFoundError, match="Download failed"):
        locate(_toy(http_mirror.url))
    assert _leftovers(sources.cache_dir("toy")) == []


def test_a_failing_mirror_falls_through_to_the_next(http_mirror):
    http_mirror.files["/good/a.bin.gz"] = gzip.compress(PAYLOAD)
    source = DataSource("toy", ("toy",), (RemoteFile("a.bin.gz", SHA),),
                        mirrors=(f"{http_mirror.url}/missing/", f"{http_mirror.url}/good/"))
    assert locate(source) == sources.cache_dir("toy")
    assert http_mirror.requests == ["/missing/a.bin.gz", "/good/a.bin.gz"]


def test_svertka_mirror_is_tried_first(monkeypatch, http_mirror):
    http_mirror.files["/toy/a.bin.gz"] = gzip.compress(PAYLOAD)
    monkeypatch.setenv("SVERTKA_MIRROR", http_mirror.url + "/")
    assert locate(_toy()) == sources.cache_dir("toy")


def test_offline_error_says_which_files_go_where(tmp_path, monkeypatch):
    monkeypatch.setenv("SVERTKA_DATA", str(tmp_path / "data"))
    source = DataSource("toy", ("toy",), (RemoteFile("a.bin.gz", SHA), RemoteFile("b.gz")),
                        mirrors=("http://127.0.0.1:9/",))  # port 9 (discard): refused
    with pytest.raises(DatasetNotFoundError) as info:
        locate(source)
    message = str(info.value)
    assert "a.bin.gz, b.gz" in message
    assert str(tmp_path / "data" / "toy") in message and str(sources.cache_dir("toy")) in message
    assert "Download failed" in message and "127.0.0.1:9" in message
    assert isinstance(info.value, FileNotFoundError)


def test_download_false_and_no_mirror_say_so(monkeypatch):
    monkeypatch.delenv("SVERTKA_DATA", raising=False)
    with pytest.raises(DatasetNotFoundError, match=r"(?s)\$SVERTKA_DATA/toy.*download=False"):
        locate(_toy("http://127.0.0.1:9"), download=False)
    with pytest.raises(DatasetNotFoundError, match="No download source"):
        locate(_toy())


def test_only_http_urls_are_downloaded(tmp_path):
    with pytest.raises(ValueError, match="must be http"):
        download_file("file:///etc/passwd", tmp_path / "x")


def test_cached_arrays_builds_once_then_loads(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return np.arange(6, dtype=np.uint8).reshape(2, 3), np.array([1.5])

    first = cached_arrays(tmp_path / "c", ("a", "b"), build)
    second = cached_arrays(tmp_path / "c", ("a", "b"), build)
    assert len(calls) == 1
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
        assert x.dtype == y.dtype
    (tmp_path / "c" / "a.npy").write_bytes(b"garbage")  # a damaged cache is rebuilt
    np.testing.assert_array_equal(cached_arrays(tmp_path / "c", ("a", "b"), build)[0], first[0])
    assert len(calls) == 2


@needs_mnist
def test_mnist_downloads_through_a_mirror_with_the_published_checksums(monkeypatch,
                                                                       http_mirror):
    for name in mnist.FILES:
        http_mirror.files[f"/mnist/{name}.gz"] = (DATA / "mnist" / f"{name}.gz").read_bytes()
    monkeypatch.delenv("SVERTKA_DATA", raising=False)
    monkeypatch.setenv("SVERTKA_MIRROR", http_mirror.url)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)
    assert sorted(p.name for p in sources.cache_dir("mnist").iterdir()) == sorted(
        f"{n}.gz" for n in mnist.FILES)


def test_downloads_go_through_pooch_and_their_hash_is_remembered(monkeypatch, http_mirror):
    http_mirror.files["/toy/a.bin.gz"] = gzip.compress(PAYLOAD)
    fetched, hashed = [], []
    retrieve, content = pooch.retrieve, checksums.content_sha256
    monkeypatch.setattr(pooch, "retrieve", lambda url, **kw: fetched.append(url)
                        or retrieve(url, **kw))
    monkeypatch.setattr(checksums, "content_sha256", lambda path, name=None: hashed.append(path)
                        or content(path, name))
    assert locate(_toy(http_mirror.url)) == sources.cache_dir("toy")
    assert fetched == [f"{http_mirror.url}/toy/a.bin.gz"] and len(hashed) == 1  # the download
    assert locate(_toy(http_mirror.url)) == sources.cache_dir("toy")
    assert len(fetched) == 1 and len(hashed) == 1  # found in the cache, its hash remembered


def test_a_damaged_gzip_download_is_not_kept(http_mirror):
    http_mirror.files["/toy/a.bin.gz"] = gzip.compress(PAYLOAD)[:-8]  # no trailer
    with pytest.raises(ChecksumError, match="a.bin.gz.*truncated.*not kept"):
        locate(_toy(http_mirror.url))
    assert _leftovers(sources.cache_dir("toy")) == []
