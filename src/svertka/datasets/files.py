"""Reading data files whole or not at all: gzip checked to its trailer, tar to its end marker.

Python's own readers are lenient where a data loader must not be. ``tarfile`` stops without
an error at the first header it cannot parse once past the first member, and its stream mode
never reads the gzip trailer, so a truncated ``.tar.gz`` gives part of its members as if that
were all; ``gzip`` raises a bare ``zlib.error`` or ``EOFError`` that names no file. Here:

- :class:`Content` streams a file's content, inflating it when it starts with the gzip magic
  (whatever its name says). ``zlib`` checks each gzip member's CRC-32 and length trailer; input
  that ends inside a member is an error, zero padding after the last member is allowed (as
  ``gzip`` allows it), anything else there must be another member.
- :func:`read_tar` returns the wanted members of a ``.tar``/``.tar.gz``/``.tgz`` only after the
  whole archive was read: after the last member come only zero bytes, at least one 512-byte
  block of them (the end-of-archive marker that tarfile, GNU tar and bsdtar write), and the
  gzip trailer checks out.
- Nothing is inflated beyond :data:`MAX_BYTES`, so a decompression bomb stops there, and no
  buffer is sized from a number a file declares: memory grows only with data actually read.

Every failure is a :class:`~svertka.errors.DataFileError` naming the file and what is wrong,
the low-level exception (``zlib.error``, ``tarfile.ReadError``, ``EOFError``, ``OSError``)
chained as its cause.
"""

from __future__ import annotations

import os
import struct
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from svertka.errors import DataFileError

MAX_BYTES = 4 << 30
"""The most bytes one data file or archive may hold once inflated (4 GiB; EMNIST's largest
file holds 0.55 GB). Raise it for larger sets: ``svertka.datasets.files.MAX_BYTES = ...``."""

GZIP_MAGIC = b"\x1f\x8b"
_IN = 1 << 18  # compressed bytes read at a time
_OUT = 1 << 20  # most inflated bytes produced by one zlib call
_GZIP = 16 + zlib.MAX_WBITS  # zlib handles the gzip header and checks the trailer


def _inflate(f, path: Path, limit: int) -> Iterator[bytes]:
    """Inflated chunks of the gzip stream in ``f``, every member checked to its trailer."""
    d, in_member, total = zlib.decompressobj(_GZIP), True, 0
    try:
        while data := f.read(_IN):
            while True:
                if not in_member:  # between members: zero padding, or the next member
                    data = data.lstrip(b"\0")
                    if not data:
                        break
                    d, in_member = zlib.decompressobj(_GZIP), True
                out = d.decompress(data, _OUT)
                total += len(out)
                if total > limit:
                    raise DataFileError(
                        f"{path}: inflates to more than {limit:,} bytes (the cap "
                        "svertka.datasets.files.MAX_BYTES): a decompression bomb or not a data "
                        "file")
                if out:
                    yield out
                if d.eof:
                    data, in_member = d.unused_data, False
                    continue
                data = d.unconsumed_tail
                if not data and len(out) < _OUT:  # a full output may leave more to come
                    break
    except zlib.error as e:
        raise DataFileError(f"{path}: the gzip data is corrupt ({e})") from e
    except OSError as e:
        raise DataFileError(f"{path}: cannot read the file ({e})") from e
    if in_member:
        raise DataFileError(f"{path}: the gzip stream ends before its end-of-stream trailer: "
                            f"the file is truncated (after {total:,} inflated bytes)")


def _raw(f, path: Path, limit: int) -> Iterator[bytes]:
    size = os.fstat(f.fileno()).st_size
    if size > limit:
        raise DataFileError(f"{path}: holds {size:,} bytes, more than the cap "
                            f"svertka.datasets.files.MAX_BYTES ({limit:,})")
    try:
        while data := f.read(_OUT):
            yield data
    except OSError as e:
        raise DataFileError(f"{path}: cannot read the file ({e})") from e


class Content:
    """A data file's content as a forward-only stream, inflated when it is gzip.

    ``read(n)`` gives at most n bytes (fewer only at the end); ``pos`` counts the bytes given,
    ``data_end`` is the stream offset just past the last non-zero byte seen so far, and
    ``drain()`` reads to the end, which is when a gzip trailer is checked.

    >>> import gzip, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.gz"
    >>> _ = path.write_bytes(gzip.compress(b"abc"))
    >>> with Content(path) as f:
    ...     f.read(2), f.drain(), f.pos
    (bytearray(b'ab'), 1, 3)
    """

    def __init__(self, path: str | os.PathLike, limit: int | None = None):
        self.path = Path(path)
        limit = MAX_BYTES if limit is None else limit
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as e:
            raise DataFileError(f"{self.path}: cannot read the file ({e})") from e
        try:
            self.compressed = self._file.read(2) == GZIP_MAGIC
            self._file.seek(0)
        except OSError as e:
            self._file.close()
            raise DataFileError(f"{self.path}: cannot read the file ({e})") from e
        make = _inflate if self.compressed else _raw
        self._chunks = make(self._file, self.path, limit)
        self._rest = b""
        self._pulled = self.data_end = 0

    @property
    def pos(self) -> int:
        """Bytes given so far: those pulled from the stream less those held back."""
        return self._pulled - len(self._rest)

    def _pull(self) -> bytes:
        chunk = next(self._chunks, b"")
        if stripped := len(chunk.rstrip(b"\0")):
            self.data_end = self._pulled + stripped
        self._pulled += len(chunk)
        return chunk

    def read(self, size: int = -1) -> bytearray:
        out = bytearray()
        while size < 0 or len(out) < size:
            chunk, self._rest = self._rest or self._pull(), b""
            if not chunk:
                break
            if size >= 0 and len(out) + len(chunk) > size:
                cut = size - len(out)
                chunk, self._rest = chunk[:cut], chunk[cut:]
            out += chunk
        return out

    def drain(self) -> int:
        """Read and drop the rest of the stream; the number of bytes it held."""
        count = len(self._rest)
        self._rest = b""
        while chunk := self._pull():
            count += len(chunk)
        return count

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Content:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# What tarfile and the decoding of its headers raise on a damaged archive.
_TAR_ERRORS = (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError, struct.error,
               OverflowError)


def read_tar(path: str | os.PathLike, wanted: Callable[[PurePosixPath], bool],
             limit: int | None = None) -> dict[str, bytes]:
    """The regular files of a tar archive (plain or gzip) that ``wanted(relative path)``
    selects, as relative POSIX path -> bytes; returned only once the archive was read to its
    end marker. Absolute names are skipped; a name listed twice is an error."""
    path = Path(path)
    files: dict[str, bytes] = {}
    with Content(path, limit) as content:
        try:
            with tarfile.open(fileobj=content, mode="r|") as tar:
                for member in tar:
                    rel = PurePosixPath(member.name)  # drops "./" components
                    if not member.isfile() or rel.is_absolute() or not wanted(rel):
                        continue
                    data = tar.extractfile(member).read()
                    if len(data) != member.size:
                        raise DataFileError(f"{path}: {rel} is cut short ({len(data):,} of "
                                            f"{member.size:,} bytes)")
                    if str(rel) in files:
                        raise DataFileError(f"{path}: holds {rel} twice")
                    files[str(rel)] = data
                end = tar.offset  # where tarfile stopped looking for another header
        except DataFileError:
            raise
        except _TAR_ERRORS as e:
            raise DataFileError(f"{path}: not a readable tar archive ({e})") from e
        content.drain()
        if content.pos < end + tarfile.BLOCKSIZE or content.data_end > end:
            raise DataFileError(f"{path}: the tar archive has no end-of-archive marker after "
                                f"byte {end:,} (a damaged header or a truncated file); "
                                "nothing of it was used")
    return files


__all__ = ["GZIP_MAGIC", "MAX_BYTES", "Content", "read_tar"]
