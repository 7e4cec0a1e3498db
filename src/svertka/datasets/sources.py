"""Where a data set's files come from, tried in this order:

1. an explicit directory (``path=`` of a loader): only there, never a silent fallback elsewhere;
2. ``$SVERTKA_DATA/<folder>``: a folder with one subfolder per data set (``mnist/``,
   ``fashion-mnist/``, ``notmnist/``, ``cifar10/`` ...);
3. the cache, ``$SVERTKA_CACHE/<name>`` or ``~/.cache/svertka/<name>``;
4. a download into the cache (HTTPS, a tqdm progress bar, written atomically: a temporary file
   then ``os.replace``), kept only when its SHA-256 matches. For a single-file ``.gz`` the
   hash is taken over the *decompressed* bytes, because mirrors re-compress the same content
   with different gzip headers; an archive (``.tar.gz``) is hashed as downloaded.
   ``$SVERTKA_MIRROR`` names a base URL tried first, as ``$SVERTKA_MIRROR/<folder>/<file>``:
   the same layout as ``$SVERTKA_DATA``, so a web server over such a folder is a mirror.

Offline with nothing found, :class:`DatasetNotFoundError` (a ``FileNotFoundError``) lists the
files to put, and the folders to put them in.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

_CHUNK = 1 << 20
_USER_AGENT = "svertka-datasets/0.1"


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are in none of the places searched, and could not be downloaded."""


class DownloadError(OSError):
    """No mirror could deliver a data set's files (offline, HTTP error, truncated transfer)."""


class ChecksumError(ValueError):
    """A downloaded file's SHA-256 differs from the recorded one; nothing was kept."""


@dataclass(frozen=True)
class RemoteFile:
    """A file as published: its name and the SHA-256 of its content (see the module note)."""

    name: str
    sha256: str | None = None


@dataclass(frozen=True)
class DataSource:
    """One data set's files and where to find them.

    ``folders`` are the subfolders of ``$SVERTKA_DATA`` tried in order; the first is also the
    cache subfolder. ``files`` must all be present in one folder. ``mirrors`` are base URLs
    (ending in ``/``) under which every file of ``files`` is published; empty when there is
    no download. ``note`` adds a line to the not-found error (e.g. where to get the files).
    """

    name: str
    folders: tuple[str, ...]
    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...] = ()
    note: str = ""

    @property
    def file_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.files)


def cache_dir(name: str | None = None) -> Path:
    """The cache folder, ``$SVERTKA_CACHE`` or ``~/.cache/svertka``, or its ``name`` subfolder."""
    root = os.environ.get("SVERTKA_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "svertka"
    return base / name if name else base


def data_dirs(source: DataSource) -> list[Path]:
    """The folders of ``$SVERTKA_DATA`` that may hold ``source`` (none when it is unset)."""
    root = os.environ.get("SVERTKA_DATA")
    return [Path(root) / folder for folder in source.folders] if root else []


def find_file(directory: str | os.PathLike, name: str) -> Path | None:
    """``directory/name``, or the same file stored without (or with) its ``.gz`` suffix."""
    directory = Path(directory)
    stem = name[:-3] if name.endswith(".gz") else name
    for candidate in (directory / name, directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _complete(directory: Path, names: Sequence[str]) -> bool:
    return directory.is_dir() and all(find_file(directory, n) for n in names)


def not_found_message(source: DataSource, searched: Sequence[Path], reason: str = "") -> str:
    """What to put where: the file names and the folders searched."""
    files = ", ".join(source.file_names)
    where = "\n".join(f"  - {p}" for p in searched)
    env = "" if os.environ.get("SVERTKA_DATA") else (
        f"\n  - $SVERTKA_DATA/{source.folders[0]} (SVERTKA_DATA is not set)")
    lines = [f"{source.name}: data set not found. Put {files} (each file gzip-compressed or not) "
             f"into one of:\n{where}{env}\nor pass path=<that folder>."]
    if source.note:
        lines.append(source.note)
    if reason:
        lines.append(reason)
    return "\n".join(lines)


def locate(source: DataSource, path: str | os.PathLike | None = None,
           download: bool = True) -> Path:
    """The folder holding all of ``source.files``, searched and fetched in the module's order.

    >>> from svertka.datasets import mnist
    >>> locate(mnist.SOURCE, download=False)  # doctest: +SKIP
    PosixPath('/data/mnist')
    """
    if path is not None:
        directory = Path(path)
        if _complete(directory, source.file_names):
            return directory
        missing = [n for n in source.file_names if not find_file(directory, n)]
        raise DatasetNotFoundError(
            f"{source.name}: {directory} lacks {', '.join(missing)} (each file gzip-compressed "
            f"or not); put {', '.join(source.file_names)} there, or leave path=None to search "
            "$SVERTKA_DATA, the cache and the download mirrors")
    searched = [*data_dirs(source), cache_dir(source.folders[0])]
    for directory in searched:
        if _complete(directory, source.file_names):
            return directory
    if not download:
        raise DatasetNotFoundError(not_found_message(source, searched, "(download=False)"))
    if not mirrors(source):
        raise DatasetNotFoundError(not_found_message(source, searched,
                                                     "No download source is known for it."))
    try:
        return fetch(source)
    except DownloadError as e:
        raise DatasetNotFoundError(not_found_message(source, searched,
                                                     f"Download failed:\n{e}")) from e


def mirrors(source: DataSource) -> list[str]:
    """Base URLs to try for ``source``: ``$SVERTKA_MIRROR/<name>/`` first, then its own."""
    extra = os.environ.get("SVERTKA_MIRROR")
    own = list(source.mirrors)
    return [f"{extra.rstrip('/')}/{source.folders[0]}/", *own] if extra else own


def fetch(source: DataSource) -> Path:
    """Download whatever of ``source.files`` the cache lacks; the cache folder when done.

    Each mirror is tried in turn for the files still missing; a network failure moves on to
    the next mirror at once rather than waiting on every file.
    """
    target = cache_dir(source.folders[0])
    errors: list[str] = []
    checksum_failed = False
    for base in mirrors(source):
        for remote in source.files:
            if find_file(target, remote.name):
                continue
            try:
                download_file(base + remote.name, target / remote.name, remote.sha256)
            except ChecksumError as e:
                checksum_failed = True
                errors.append(str(e))
                break
            except (OSError, ValueError) as e:  # urllib's HTTPError and URLError are OSErrors
                errors.append(f"{base}{remote.name}: {e}")
                break
        if _complete(target, source.file_names):
            return target
    if checksum_failed:
        raise ChecksumError(f"{source.name}: no mirror gave the expected files:\n"
                            + "\n".join(errors))
    raise DownloadError("\n".join(errors) or "no mirror is known")


def content_sha256(path: str | os.PathLike, name: str | None = None) -> str:
    """SHA-256 of a file's content; of the decompressed bytes for a single-file ``.gz``.

    ``name`` (default: the file's own) decides which, so a download can be checked under its
    temporary name.
    """
    path = Path(path)
    name = name or path.name
    single_gz = name.endswith(".gz") and not name.endswith(".tar.gz")
    digest = hashlib.sha256()
    try:
        with (gzip.open(path, "rb") if single_gz else open(path, "rb")) as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except (EOFError, gzip.BadGzipFile) as e:
        raise ChecksumError(f"{name}: not a complete gzip file ({e})") from e
    return digest.hexdigest()


def download_file(url: str, dest: str | os.PathLike, sha256: str | None = None,
                  progress: bool = True, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` atomically, checking its SHA-256 when one is given.

    The bytes go to a temporary file beside ``dest``, which replaces ``dest`` only once the
    transfer is complete and the checksum (see :func:`content_sha256`) matches; on any failure
    the temporary file is removed, so a cache never holds a partial or wrong file.
    """
    dest = Path(dest)
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"download_file: argument 'url' must be http(s), received {url!r}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(url, out, dest.name, progress, timeout)
        if sha256 is not None:
            actual = content_sha256(tmp, dest.name)
            if actual != sha256.lower():
                raise ChecksumError(f"{url}: SHA-256 mismatch, expected {sha256}, received "
                                    f"{actual}; the file was not kept")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _stream(url: str, out, label: str, progress: bool, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    received, total = 0, None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
                      disable=not progress, file=sys.stderr, leave=False) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except http.client.HTTPException as e:  # e.g. IncompleteRead: not an OSError
        raise OSError(f"transfer broken after {received} bytes ({e!r})") from e
    if total is not None and received != total:
        raise OSError(f"connection closed after {received} of {total} bytes")


def cached_arrays(directory: Path, names: Sequence[str],
                  build: Callable[[], Sequence[np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Arrays saved as ``directory/<name>.npy``, or ``build()`` them and save them there.

    Saving is atomic per file and without pickles; a cache that cannot be written (read-only
    disk) only costs a warning, and a damaged one is rebuilt.
    """
    paths = [directory / f"{name}.npy" for name in names]
    if all(p.is_file() for p in paths):
        try:
            return tuple(np.load(p, allow_pickle=False) for p in paths)
        except (OSError, ValueError):
            pass
    arrays = tuple(build())
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for p, a in zip(paths, arrays):
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{p.name}.", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.save(f, a, allow_pickle=False)
                os.replace(tmp, p)
            finally:
                Path(tmp).unlink(missing_ok=True)
    except OSError as e:
        warnings.warn(f"svertka.datasets: cannot write the cache {directory}: {e}", stacklevel=3)
    return arrays


def tree_fingerprint(path: Path) -> str:
    """A short key for a file's content, or for a folder's listing (names, sizes, times)."""
    digest = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    else:
        for p in sorted(path.rglob("*")):
            if p.is_file():
                st = p.stat()
                digest.update(f"{p.relative_to(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


__all__ = ["ChecksumError", "DataSource", "DatasetNotFoundError", "DownloadError", "RemoteFile",
           "cache_dir", "cached_arrays", "content_sha256", "data_dirs", "download_file", "fetch",
           "find_file", "locate", "mirrors", "not_found_message", "tree_fingerprint"]
