"""Reading an index file without trusting it: no pickle, every array's shape and dtype checked
against the JSON header before the array is read, every failure a ``DataFileError`` naming
the file."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from svertka.errors import DataFileError

MAX_HEADER = 1 << 20  # bytes of JSON header read at most


def _fail(path, what: str, cause: Exception | None = None):
    raise DataFileError(f"Index.load: {os.fspath(path)} is not a valid svertka index: "
                        f"{what}") from cause


def _member_header(zf: zipfile.ZipFile, name: str, path):
    """(shape, dtype) from the .npy header of member ``name``, reading nothing else."""
    try:
        with zf.open(f"{name}.npy") as f:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                _fail(path, f"array {name!r} has .npy version {version}, expected 1.0 or 2.0")
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(f)
    except DataFileError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, SyntaxError) as e:
        _fail(path, f"array {name!r} has an unreadable header ({e})", e)
    if dtype.hasobject:
        _fail(path, f"array {name!r} holds Python objects ({dtype}); index files never do")
    return tuple(shape), dtype


def read_index(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(header, arrays) of the index file at ``path``, checked."""
    from svertka.search.index import FORMAT

    if not os.path.isfile(path):
        raise FileNotFoundError(f"Index.load: no index file at {os.fspath(path)}")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        _fail(path, "not a .npz (zip) archive", e)
    with zf:
        names = set(zf.namelist())
        if "header.npy" not in names or "vectors.npy" not in names:
            _fail(path, f"it lacks a header or vectors (members: {sorted(names)[:8]})")
        shape, dtype = _member_header(zf, "header", path)
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_HEADER:
            _fail(path, f"its header is {dtype} of shape {shape}, expected uint8 text of at "
                        f"most {MAX_HEADER} bytes")
        try:
            with zf.open("header.npy") as f:
                raw = np.lib.format.read_array(f, allow_pickle=False)
            header = json.loads(raw.tobytes().decode())
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            _fail(path, f"its header is not JSON ({e})", e)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            _fail(path, f"its header does not say format {FORMAT!r}")
        n, d = header.get("count"), header.get("dim")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (n, d)) \
                or not isinstance(header.get("metadata"), dict):
            _fail(path, f"its header has count={n!r}, dim={d!r}, expected ints >= 0 and a "
                        f"metadata dict")
        expected = {"vectors": ((n, d), "f")}
        for name, kind in (("labels", "i"), ("paths", "U")):
            if header.get(name):
                expected[name] = ((n,), kind)
        arrays = {}
        for name, (want, kind) in expected.items():
            if f"{name}.npy" not in names:
                _fail(path, f"its header promises {name!r} but the file lacks them")
            shape, dtype = _member_header(zf, name, path)
            if shape != want or dtype.kind != kind or (kind == "f" and dtype != np.float32):
                _fail(path, f"array {name!r} is {dtype} of shape {shape}, expected "
                            f"{'float32' if kind == 'f' else kind + '-kind'} of shape {want}")
            size = zf.getinfo(f"{name}.npy").file_size
            if size < int(np.prod(shape)) * dtype.itemsize:
                _fail(path, f"array {name!r} is truncated ({size} bytes for shape {shape})")
            try:
                with zf.open(f"{name}.npy") as f:
                    arrays[name] = np.lib.format.read_array(f, allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
                _fail(path, f"array {name!r} cannot be read ({e})", e)
        if not np.isfinite(arrays["vectors"]).all():
            _fail(path, "its vectors hold NaN or infinity")
        arrays["vectors"] = np.ascontiguousarray(arrays["vectors"], np.float32)
    return header, arrays
