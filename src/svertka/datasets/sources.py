"""Where a data set's files come from, tried in this order:

1. an explicit directory (``path=`` of a loader): only there, never a silent fallback elsewhere;
2. ``$SVERTKA_DATA/<folder>``: a folder with one subfolder per data set (``mnist/``,
   ``fashion-mnist/``, ``notmnist/``, ``cifar10/`` ...);
3. the cache, ``$SVERTKA_CACHE/<name>`` or ``~/.cache/svertka/<name>``;
4. a download into the cache through ``pooch`` (its HTTP downloader, a tqdm progress bar, a
   temporary file moved into place only when complete), kept only when its SHA-256 matches.
   ``$SVERTKA_MIRROR`` names a base URL tried first, as ``$SVERTKA_MIRROR/<folder>/<file>``:
   the same layout as ``$SVERTKA_DATA``, so a web server over such a folder is a mirror.

The SHA-256 recorded for a file is of its content (see :mod:`.checksums`): for a single-file
``.gz`` the *decompressed* bytes, because mirrors re-compress the same content with different
gzip headers; an archive (``.tar.gz``) is hashed as stored. ``pooch``'s own ``known_hash`` is
over the raw file, so svertka hands pooch ``known_hash=None`` and a downloader that, once
pooch's ``HTTPDownloader`` has written the temporary file, checks that file's content hash and
raises on a mismatch: pooch then deletes the temporary file instead of moving it into place, so
the cache never holds a partial or wrong file. A local file found in any of the places above
whose name has a recorded SHA-256 is checked too, once per size and modification time, and a
mismatch is a :class:`ChecksumError` (a :class:`~svertka.errors.DataFileError`).

Offline with nothing found, :class:`DatasetNotFoundError` (a ``FileNotFoundError``) lists the
files to put, and the folders to put them in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svertka.datasets import checksums
from svertka.datasets.checksums import ChecksumError, content_sha256
from svertka.models.atomic import atomic_write

_USER_AGENT = "svertka-datasets/0.1"


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are in none of the places searched, and could not be downloaded."""


class DownloadError(OSError):
    """No mirror could deliver a data set's files (offline, HTTP error, truncated transfer)."""


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


def hash_record() -> Path:
    """Where the SHA-256 of local data files are remembered (see :mod:`.checksums`)."""
    return cache_dir() / "sha256.json"


def verify_files(directory: str | os.PathLike, source: DataSource) -> None:
    """Check every file of ``source`` in ``directory`` that has a recorded SHA-256.

    A single-file ``.gz`` is checked whether it is stored compressed or not (its hash is of the
    content); an archive only under its own name. A mismatch is a :class:`ChecksumError`
    naming the file, the expected and the actual hash.
    """
    for remote in source.files:
        path = find_file(directory, remote.name) if remote.sha256 else None
        if path is not None and (checksums.single_gz(remote.name) or path.name == remote.name):
            checksums.verify(path, remote.name, remote.sha256, hash_record())


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
            verify_files(directory, source)
            return directory
        missing = [n for n in source.file_names if not find_file(directory, n)]
        raise DatasetNotFoundError(
            f"{source.name}: {directory} lacks {', '.join(missing)} (each file gzip-compressed "
            f"or not); put {', '.join(source.file_names)} there, or leave path=None to search "
            "$SVERTKA_DATA, the cache and the download mirrors")
    searched = [*data_dirs(source), cache_dir(source.folders[0])]
    for directory in searched:
        if _complete(directory, source.file_names):
            verify_files(directory, source)
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
            except (OSError, ValueError) as e:  # requests' errors are OSErrors
                errors.append(f"{base}{remote.name}: {e}")
                break
        if _complete(target, source.file_names):
            return target
    if checksum_failed:
        raise ChecksumError(f"{source.name}: no mirror gave the expected files:\n"
                            + "\n".join(errors))
    raise DownloadError("\n".join(errors) or "no mirror is known")


class _CheckedDownload:
    """pooch's HTTP downloader, then svertka's content check of the file it wrote.

    pooch calls this with a temporary file beside the target; it moves that file into place
    only when the call returns and deletes it when the call raises, so a file whose content
    hash differs never reaches the cache.
    """

    def __init__(self, name: str, sha256: str | None, progress: bool, timeout: float):
        import pooch

        self.name, self.sha256, self.digest = name, sha256, None
        self.http = pooch.HTTPDownloader(progressbar=progress, timeout=timeout,
                                         headers={"User-Agent": _USER_AGENT})

    def __call__(self, url: str, output_file, pooch_instance) -> None:
        self.http(url, output_file, pooch_instance)
        if self.sha256 is None:
            return
        try:
            self.digest = checksums.content_sha256(output_file, self.name)
        except ValueError as e:  # a damaged gzip
            raise ChecksumError(f"{url}: {e}; the file was not kept") from e
        if self.digest != self.sha256.lower():
            raise ChecksumError(f"{url}: SHA-256 mismatch, expected {self.sha256}, received "
                                f"{self.digest}; the file was not kept")


class _DropHashHint(logging.Filter):
    """pooch logs the hash of a file fetched with ``known_hash=None`` and suggests passing it;
    svertka has checked the content hash itself, so that hint would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("SHA256 hash of downloaded file")


def download_file(url: str, dest: str | os.PathLike, sha256: str | None = None,
                  progress: bool = True, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` with pooch, checking its content SHA-256 when one is given.

    The bytes go to a temporary file beside ``dest``, which becomes ``dest`` only once the
    transfer is complete and the checksum (see :func:`~.checksums.content_sha256`) matches;
    on any failure nothing is left. An existing ``dest`` is kept as it is (pooch's cache rule).
    """
    import pooch  # here, not at the top: it adds 30 ms to every `import svertka`

    dest = Path(dest)
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"download_file: argument 'url' must be http(s), received {url!r}")
    checked = _CheckedDownload(dest.name, sha256, progress, timeout)
    hint, logger = _DropHashHint(), pooch.get_logger()
    logger.addFilter(hint)
    try:
        pooch.retrieve(url, known_hash=None, fname=dest.name, path=dest.parent,
                       downloader=checked)
    finally:
        logger.removeFilter(hint)
    if checked.digest is not None:
        checksums.remember(dest, dest.name, checked.digest, hash_record())
    return dest


def cached_arrays(directory: Path, names: Sequence[str],
                  build: Callable[[], Sequence[np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Arrays saved as ``directory/<name>.npy``, or ``build()`` them and save them there.

    ``build()`` reads the data set in full or raises, so a cache is only ever written from a
    complete, verified read. Saving is atomic per file and without pickles; a cache that
    cannot be written (read-only disk) only costs a warning, and a damaged one is rebuilt.
    """
    paths = [directory / f"{name}.npy" for name in names]
    if all(p.is_file() for p in paths):
        try:
            return tuple(np.load(p, allow_pickle=False) for p in paths)
        except (OSError, ValueError, EOFError, MemoryError):
            pass
    arrays = tuple(build())
    try:
        for p, a in zip(paths, arrays):
            atomic_write(p, lambda f, a=a: np.save(f, a, allow_pickle=False))
    except OSError as e:
        warnings.warn(f"svertka.datasets: cannot write the cache {directory}: {e}", stacklevel=3)
    return arrays


def tree_fingerprint(path: Path) -> str:
    """A short key for a file's content, or for a folder's listing (names, sizes, times).

    A file is hashed whole every time, not looked up by size and mtime: the key names a
    decoded cache, and a file rewritten within the file system's timestamp granularity
    (a few ms) keeps its mtime.
    """
    digest = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    else:
        for p in sorted(path.rglob("*")):
            if p.is_file():
                st = p.stat()
                digest.update(f"{p.relative_to(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


__all__ = ["ChecksumError", "DataSource", "DatasetNotFoundError", "DownloadError", "RemoteFile",
           "cache_dir", "cached_arrays", "content_sha256", "data_dirs", "download_file", "fetch",
           "find_file", "hash_record", "locate", "mirrors", "not_found_message",
           "tree_fingerprint", "verify_files"]
