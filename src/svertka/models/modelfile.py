"""Reading a svertka model or weights file as untrusted input: the zip container, its JSON
index and the headers and data of its ``.npy`` arrays, each checked before anything is
allocated for it.

A file can be damaged (a bit flip, a cut download) or hostile (a zip bomb, a header that
declares a terabyte). Whatever is wrong, the reader raises :class:`svertka.ModelFileError`
naming the file and the problem, with the low-level exception (``zipfile.BadZipFile``,
``zlib.error``, ``json.JSONDecodeError``, ...) chained as its cause; a missing file stays a
``FileNotFoundError``. What it guarantees:

- the zip: no duplicate or encrypted entries, only stored or deflated ones; no entry reaches
  past the end of the file; large entries expand at most ``RATIO``:1 and all entries together
  at most ``RATIO`` times the file's size (plus ``SMALL_ENTRY``), so a small file never
  unpacks to gigabytes; every entry is read with a byte cap and its CRC checked;
- the index: at most ``MAX_INDEX_BYTES`` of UTF-8 JSON holding at most ``MAX_INDEX_ITEMS``
  values (so the parsed objects stay small), nested at most ``MAX_DEPTH`` deep, no duplicate
  keys, no NaN or infinity, no integer beyond int64;
- an array: a ``.npy`` version 1 or 2 header of at most ``MAX_HEADER_BYTES``, dtype exactly
  little-endian float32 or float64 (no object, string, integer or structured arrays), a
  shape whose size times the item size is exactly the entry's data; finite values unless
  the caller allows otherwise.

>>> import os, tempfile, zipfile
>>> path = os.path.join(tempfile.mkdtemp(), "m.svk")
>>> with zipfile.ZipFile(path, "w") as z:
...     z.writestr("svertka.json", '{"format": "x", "format": "y"}')
>>> with ModelFile(path, "load_model") as f:
...     f.read_index()  # doctest: +ELLIPSIS
Traceback (most recent call last):
svertka.errors.ModelFileError: load_model: ...m.svk: the index ... (duplicate key 'format')
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from dataclasses import dataclass

import numpy as np

from svertka.errors import ModelFileError

INDEX = "svertka.json"
MAX_INDEX_BYTES = 8 << 20  # a 10,000-layer model's description takes about 5 MB
MAX_INDEX_ITEMS = 250_000  # values in it (22 a Conv2D layer); bounds the parsed objects to 35 MB
MAX_DEPTH = 32  # a saved model nests 8 deep
MAX_ENTRIES = 200_000
MAX_HEADER_BYTES = 10_000  # NumPy's own default cap on .npy headers
RATIO = 200  # float weights deflate by a few per cent; a zip bomb by 1,000:1
SMALL_ENTRY = 1 << 20  # entries up to this size may compress any amount (zero biases do)
FLOAT_DTYPES = (np.dtype("<f4"), np.dtype("<f8"))
_INT64 = 1 << 63


@dataclass(frozen=True)
class ArrayHeader:
    """What a ``.npy`` header declares; ``offset`` is where its data starts in the entry."""

    dtype: np.dtype
    shape: tuple
    fortran_order: bool
    offset: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class ModelFile:
    """An opened svertka file whose zip directory has been checked (see the module docstring).

    ``op`` names the caller in messages (``load_model``, ``mnist.load_weights``). Use as a
    context manager, or call ``close``.
    """

    def __init__(self, path, op: str):
        self.path, self.op = path, op
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        except FileNotFoundError as e:  # other OSErrors (permissions, ...) pass as they are
            raise FileNotFoundError(f"{op}: no file at {path}") from e
        try:
            self.nbytes = os.fstat(self._file.fileno()).st_size
            try:
                self.zip = zipfile.ZipFile(self._file)
            except Exception as e:  # BadZipFile, OSError, EOFError, struct.error, ...
                raise self.error("is not a svertka file or is damaged: not a readable zip "
                                 f"archive ({type(e).__name__}: {e})") from e
            self.entries = self._check_directory(self.zip.infolist())
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> ModelFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def error(self, what: str) -> ModelFileError:
        """The error to raise: the caller, the file, and what is wrong with it."""
        return ModelFileError(f"{self.op}: {self.path}: {what}")

    # -- the zip directory ---------------------------------------------------------------
    def _check_directory(self, infos) -> dict[str, zipfile.ZipInfo]:
        if len(infos) > MAX_ENTRIES:
            raise self.error(f"holds {len(infos):,} entries; at most {MAX_ENTRIES:,} allowed")
        entries: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if name in entries:
                raise self.error(f"holds the entry {name!r} twice: which one is meant is "
                                 f"ambiguous")
            if info.flag_bits & 0x1:
                raise self.error(f"entry {name!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.error(f"entry {name!r} uses compression method "
                                 f"{info.compress_type}; only stored and deflated are read")
            if info.header_offset + info.compress_size > self.nbytes:
                raise self.error(f"entry {name!r} claims {info.compress_size:,} bytes at offset "
                                 f"{info.header_offset:,}, past the end of the "
                                 f"{self.nbytes:,}-byte file")
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise self.error(f"stored entry {name!r} declares {info.file_size:,} bytes but "
                                 f"occupies {info.compress_size:,}")
            if info.file_size > SMALL_ENTRY and info.file_size > RATIO * info.compress_size:
                raise self.error(f"entry {name!r} would expand from {info.compress_size:,} to "
                                 f"{info.file_size:,} bytes, more than {RATIO}:1 (a zip bomb?)")
            total += info.file_size
            entries[name] = info
        if total > RATIO * self.nbytes + SMALL_ENTRY:
            raise self.error(f"its entries would expand to {total:,} bytes, more than {RATIO} "
                             f"times the file's {self.nbytes:,} bytes (a zip bomb?)")
        return entries

    def read_entry(self, name: str, limit: int | None = None) -> bytes:
        """The bytes of entry ``name``, at most ``limit`` of them (all, checking the CRC, when
        ``limit`` is None or the entry is no longer): never more than the directory says."""
        info = self.entries.get(name)
        if info is None:
            raise self.error(f"has no entry {name!r}")
        want = info.file_size if limit is None else min(limit, info.file_size)
        try:
            with self.zip.open(info) as f:
                data = f.read(want if want < info.file_size else info.file_size + 1)
        except Exception as e:  # BadZipFile (CRC), zlib.error, EOFError, OSError, ...
            raise self.error(f"entry {name!r} is damaged ({type(e).__name__}: {e})") from e
        if len(data) != want:
            raise self.error(f"entry {name!r} holds {len(data):,} bytes where its directory "
                             f"entry says {info.file_size:,}")
        return data

    def check_only(self, names, index: str = INDEX) -> None:
        """Raise if the zip holds an entry other than ``index`` and ``names``."""
        extra = set(self.entries) - set(names) - {index}
        if extra:
            raise self.error(f"holds entries its index does not name: {sorted(extra)[:5]}")

    # -- the index -----------------------------------------------------------------------
    def read_index(self, name: str = INDEX) -> dict:
        """The JSON object of entry ``name``, parsed and checked for size, depth and plain
        values (``BackupAndRestore`` reads its own state entry so)."""
        info = self.entries.get(name)
        if info is None:
            raise self.error(f"is not a svertka file: it has no {name}")
        if info.file_size > MAX_INDEX_BYTES:
            raise self.error(f"its index {name} takes {info.file_size:,} bytes; at most "
                             f"{MAX_INDEX_BYTES:,} allowed")
        raw = self.read_entry(name)
        items = raw.count(b",") + raw.count(b"[") + raw.count(b"{")  # at least the values - 1
        if items > MAX_INDEX_ITEMS:
            raise self.error(f"its index {name} holds about {items:,} values; at most "
                             f"{MAX_INDEX_ITEMS:,} allowed")
        try:
            index = json.loads(raw.decode("utf-8"), parse_constant=_no_constant,
                               object_pairs_hook=_unique_keys)
        except RecursionError as e:
            raise self.error(f"the index {name} is nested too deeply") from e
        except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
            raise self.error(f"the index {name} is not valid JSON ({e})") from e
        problem = plain_json_problem(index)
        if problem:
            raise self.error(f"the index {name} {problem}")
        if not isinstance(index, dict):
            raise self.error(f"the index {name} is a {type(index).__name__}, not an object")
        return index

    # -- arrays --------------------------------------------------------------------------
    def array_header(self, name: str) -> ArrayHeader:
        """The checked header of ``.npy`` entry ``name`` (its data is not read)."""
        info = self.entries.get(name)
        if info is None:
            raise self.error(f"has no entry {name!r}")
        head = io.BytesIO(self.read_entry(name, limit=MAX_HEADER_BYTES + 16))
        try:
            version = np.lib.format.read_magic(head)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(head, MAX_HEADER_BYTES)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(head, MAX_HEADER_BYTES)
            else:
                raise ValueError(f".npy format version {version} is not read")
        except Exception as e:  # ValueError, SyntaxError from the header's literal, ...
            raise self.error(f"array {name!r} has a damaged .npy header ({e})") from e
        shape, fortran_order, dtype = header
        if dtype not in FLOAT_DTYPES or dtype.names is not None:
            raise self.error(f"array {name!r} has dtype {dtype.str!r}; weights must be "
                             f"little-endian float32 or float64")
        if (len(shape) > 32 or not all(type(d) is int and d >= 0 for d in shape)
                or type(fortran_order) is not bool):
            raise self.error(f"array {name!r} has a damaged .npy header (shape {shape!r}, "
                             f"fortran_order {fortran_order!r})")
        result = ArrayHeader(dtype, tuple(shape), fortran_order, head.tell())
        data_bytes = info.file_size - result.offset
        if result.size * dtype.itemsize != data_bytes:
            raise self.error(f"array {name!r} declares shape {result.shape} of {dtype.name} "
                             f"({result.size * dtype.itemsize:,} bytes), but the entry holds "
                             f"{data_bytes:,} bytes of data")
        return result

    def read_array(self, name: str, header: ArrayHeader, allow_nonfinite: bool = False,
                   label: str | None = None) -> np.ndarray:
        """The array of entry ``name`` (whose checked header is ``header``), read-only."""
        data = self.read_entry(name)
        if header.size == 0:
            array = np.empty(header.shape, header.dtype)
        else:
            array = np.frombuffer(data, header.dtype, header.size, header.offset)
            array = array.reshape(header.shape, order="F" if header.fortran_order else "C")
        if not allow_nonfinite and not _all_finite(array):
            raise self.error(f"array {name!r}{f' ({label})' if label else ''} holds NaN or "
                             f"infinite values; pass allow_nonfinite=True to load them")
        return array


def _all_finite(array: np.ndarray, chunk: int = 1 << 20) -> bool:
    """``np.isfinite(array).all()`` in chunks, so the check's temporary stays small."""
    flat = array.reshape(-1, order="A")
    return all(np.isfinite(flat[i:i + chunk]).all() for i in range(0, flat.size, chunk))


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _unique_keys(pairs: list) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def plain_json_problem(value) -> str | None:
    """What makes ``value`` (parsed JSON) unfit to read on, or None: nesting deeper than
    ``MAX_DEPTH``, a non-finite float, an integer outside int64."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"is nested more than {MAX_DEPTH} levels deep"
        if isinstance(v, dict):
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v)
        elif isinstance(v, float) and not math.isfinite(v):
            return f"holds the number {v!r}"
        elif isinstance(v, int) and not -_INT64 <= v < _INT64:
            return "holds an integer outside the 64-bit range"
    return None
