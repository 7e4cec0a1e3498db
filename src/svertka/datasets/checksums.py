"""SHA-256 of data files, checked against the values a data set records, once per file version.

The hash is of a file's *content*. For a single-file ``.gz`` that is the decompressed bytes:
mirrors re-compress the same content with different gzip headers, and a user may keep the
file uncompressed (``train-images-idx3-ubyte``); MNIST's and Fashion-MNIST's publishers give
these hashes. For anything else (a ``.tar.gz`` archive) it is the bytes as stored.

Hashing MNIST's 47 MB of images takes a fraction of a second, too long to repeat at every
load, so each digest is remembered in a small JSON file (``<cache>/sha256.json``), keyed by the
file's resolved path and valid while its size and modification time (in ns) stay the same: a
file rewritten or replaced is hashed again (unless rewritten with the same size within the
file system's timestamp granularity, a few ms, of its last hashing). A record that cannot be
read or written only costs a rehash.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from svertka.datasets.files import Content
from svertka.errors import DataFileError
from svertka.models.atomic import atomic_write


class ChecksumError(DataFileError):
    """A data file's SHA-256 differs from the recorded one (a download is then not kept)."""


def single_gz(name: str) -> bool:
    """Whether ``name`` is a single-file ``.gz`` (hashed decompressed), not a ``.tar.gz``."""
    return name.endswith(".gz") and not name.endswith(".tar.gz")


def content_sha256(path: str | os.PathLike, name: str | None = None) -> str:
    """SHA-256 of a file's content; of the decompressed bytes for a single-file ``.gz``.

    ``name`` (default: the file's own) decides which, so a download can be checked under its
    temporary name, and a file kept uncompressed under the ``.gz`` name it stands for. A
    damaged gzip is a :class:`DataFileError`.
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        with Content(path) if single_gz(name or path.name) else open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError as e:
        raise DataFileError(f"{path}: cannot read the file ({e})") from e
    return digest.hexdigest()


def _key(path: Path) -> tuple[str, list[int]]:
    st = path.stat()
    return str(path.resolve()), [st.st_size, st.st_mtime_ns]


def _load(record: Path) -> dict:
    try:
        entries = json.loads(record.read_text(encoding="utf-8"))
        return entries if isinstance(entries, dict) else {}
    except (OSError, ValueError):
        return {}


def _store(record: Path, entries: dict) -> None:
    text = json.dumps(entries, indent=0, sort_keys=True).encode()
    try:
        atomic_write(record, lambda f: f.write(text))
    except OSError:
        pass


def remembered_sha256(path: str | os.PathLike, name: str, record: Path) -> str:
    """:func:`content_sha256` of ``path`` (under ``name``'s rule), from ``record`` while the
    file's size and mtime are those it was hashed at, computed and remembered otherwise."""
    path = Path(path)
    where, stamp = _key(path)
    key = f"{where}\0{single_gz(name)}"
    entries = _load(record)
    entry = entries.get(key)
    if isinstance(entry, list) and len(entry) == 3 and entry[:2] == stamp:
        return entry[2]
    digest = content_sha256(path, name)
    entries[key] = [*stamp, digest]
    _store(record, entries)
    return digest


def remember(path: str | os.PathLike, name: str, digest: str, record: Path) -> None:
    """Note ``digest`` for ``path`` as it is now (a download just checked)."""
    path = Path(path)
    where, stamp = _key(path)
    entries = _load(record)
    entries[f"{where}\0{single_gz(name)}"] = [*stamp, digest]
    _store(record, entries)


def verify(path: str | os.PathLike, name: str, expected: str, record: Path) -> None:
    """Raise :class:`ChecksumError` naming ``path``, the expected and the actual SHA-256 when
    the content of ``path`` (published as ``name``) is not the recorded one."""
    actual = remembered_sha256(path, name, record)
    if actual != expected.lower():
        raise ChecksumError(f"{path}: SHA-256 mismatch for {name}, expected {expected}, "
                            f"received {actual}: the file is damaged or not the published one "
                            "(delete or replace it)")


__all__ = ["ChecksumError", "content_sha256", "remember", "remembered_sha256", "single_gz",
           "verify"]
