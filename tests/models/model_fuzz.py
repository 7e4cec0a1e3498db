"""Seeded mutations of saved model files, and the check of what loading one gave.

The test suite (``tests/models/test_modelfile_fuzz.py``) and ``benchmarks/fuzz_models.py``
share this: ``mutate(original, rng)`` damages a valid file one way, as a cut download, a bad
disk or an attacker would, and ``outcome(...)`` loads it and judges the result. A load must
end in a correct model (its weights equal to what an independent, plain reading of the
file's arrays gives) or in :class:`svertka.ModelFileError`; anything else is a bug.

Families of mutation (``FAMILIES``): ``bits`` (bit flips, truncation, zeroed or repeated
spans), ``json`` (wrong types, huge or negative ints, deep nesting, unknown classes, removed
or added keys, NaN, duplicate keys, bad UTF-8), ``npy`` (dtype, shape, order, version and
length fields of an array header; NaN and infinity in the data), ``zip`` (duplicate and
extra entries, deflated instead of stored, declared sizes, compression method and
encryption flags, a zip bomb).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> bytes(flip_bits(b"\\x00" * 4, rng, 1)).count(0)
3
"""

from __future__ import annotations

import io
import json
import struct
import warnings
import zipfile

import numpy as np

from svertka.errors import ModelFileError

FAMILIES = ("bits", "json", "npy", "zip")
_DEEP = "<a list nested many levels deep>"
_VALUES = [None, True, False, 0, -1, 1, 2**31, 2**63, -(2**70), 10**9, 1.5, -0.0, 1e308, "",
           "x", "Dense", [], {}, [None], {"class_name": "Dense"}, [[[[]]]]]


def entries(data: bytes) -> list[tuple[str, bytes, int]]:
    """``(name, bytes, compress_type)`` of each entry of a valid zip."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i), i.compress_type) for i in z.infolist()]


def build(items) -> bytes:
    """A zip of ``(name, bytes, compress_type)`` entries (duplicates allowed)."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as z:
        warnings.simplefilter("ignore")  # "Duplicate name": wanted here
        for name, data, method in items:
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            z.writestr(info, data)
    return buf.getvalue()


# -- bits --------------------------------------------------------------------------------
def flip_bits(data: bytes, rng, count: int) -> bytearray:
    out = bytearray(data)
    for _ in range(count):
        i = int(rng.integers(len(out)))
        out[i] ^= 1 << int(rng.integers(8))
    return out


def mutate_bits(data: bytes, rng) -> bytes:
    n, kind = len(data), int(rng.integers(4))
    if kind == 0:
        return bytes(flip_bits(data, rng, int(rng.integers(1, 9))))
    if kind == 1:
        return data[: int(rng.integers(n))]
    i, j = sorted(int(v) for v in rng.integers(0, n, 2))
    if kind == 2:
        return data[:i] + bytes(j - i) + data[j:]
    return data[:j] + data[i:j] + data[j:]


# -- json --------------------------------------------------------------------------------
def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _set(root, path, value):
    if not path:
        return value
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return root


def _mutate_index(index, rng):
    paths = list(_paths(index))
    path = paths[int(rng.integers(len(paths)))]
    kind = int(rng.integers(8))
    if kind == 0 and path:
        parent = index
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
        return index
    if kind == 1:
        return _set(index, path, _DEEP)  # replaced in the text: json cannot write it
    if kind == 2:
        names = [p for p in paths if p and p[-1] == "class_name"]
        if names:
            return _set(index, names[int(rng.integers(len(names)))], "Lambda")
    if kind == 3:
        ints = [p for p in paths if p and _get(index, p).__class__ is int]
        if ints:
            return _set(index, ints[int(rng.integers(len(ints)))],
                        int(rng.choice([0, -1, 2**40, 10**9, 2**64, -(2**63)])))
    if kind == 4:
        dicts = [p for p in paths if isinstance(_get(index, p), dict)]
        _get(index, dicts[int(rng.integers(len(dicts)))])["extra"] = 1
        return index
    return _set(index, path, _VALUES[int(rng.integers(len(_VALUES)))])


def _get(root, path):
    for key in path:
        root = root[key]
    return root


def mutate_json(data: bytes, rng) -> bytes:
    items = entries(data)
    k = next(i for i, e in enumerate(items) if e[0] == "svertka.json")
    text = items[k][1].decode()
    kind = int(rng.integers(6))
    if kind == 0:  # raw text: numbers JSON does not allow, duplicate keys, bad bytes, a cut
        raw = text.encode()
        choice = int(rng.integers(4))
        if choice == 0:
            raw = raw.replace(b'"units": ', b'"units": NaN, "u0": ', 1).replace(
                b'"filters": ', b'"filters": 1e999, "f0": ', 1)
        elif choice == 1:
            raw = raw.replace(b'"format":', b'"format": "svertka-model", "format":', 1)
        elif choice == 2:
            i = int(rng.integers(len(raw)))
            raw = raw[:i] + b"\xff\xfe" + raw[i:]
        else:
            raw = raw[: int(rng.integers(len(raw)))]
    else:
        raw = json.dumps(_mutate_index(json.loads(text), rng)).encode()
        depth = int(rng.choice([40, 5000]))
        raw = raw.replace(json.dumps(_DEEP).encode(), b"[" * depth + b"1" + b"]" * depth)
    items[k] = ("svertka.json", raw, items[k][2])
    return build(items)


# -- npy ---------------------------------------------------------------------------------
_DESCRS = ["<i4", "<f2", ">f4", ">f8", "|S4", "|O", "<c8", "<u1", "|b1", "<M8[s]", "<f4",
           "<f8", "[('a', '<f4')]", "('<f4', (2,))", "|V4"]


def _npy(header: str, body: bytes, version=(1, 0)) -> bytes:
    header = header + " " * ((-len(header) - 11) % 64) + "\n"
    if version == (1, 0):
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body
    return b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(header)) + header.encode() + body


def mutate_npy(data: bytes, rng) -> bytes:
    items = entries(data)
    arrays = [i for i, e in enumerate(items) if e[0].endswith(".npy")]
    k = arrays[int(rng.integers(len(arrays)))]
    name, raw, method = items[k]
    a = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
    shape, descr, order, body = a.shape, a.dtype.str, False, a.tobytes()
    kind = int(rng.integers(7))
    if kind == 0:
        descr = _DESCRS[int(rng.integers(len(_DESCRS)))]
        if descr[0] in "<>|" and descr[1:] in ("i4", "f2", "f4", "f8", "u1", "b1"):
            body = a.astype(np.dtype(descr)).tobytes()
    elif kind == 1:
        shape = tuple(int(v) for v in rng.choice([0, 1, 2, 3, -1, 10**6, 2**40], len(shape) or 1))
    elif kind == 2:
        order = True
    elif kind == 3:  # NaN or infinity among the values
        b = a.copy().reshape(-1)
        if b.size:
            b[int(rng.integers(b.size))] = rng.choice([np.nan, np.inf, -np.inf])
        body = b.tobytes()
    elif kind == 4:
        version = [(2, 0), (3, 0), (9, 9)][int(rng.integers(3))]
        items[k] = (name, _npy(f"{{'descr': '{descr}', 'fortran_order': False, 'shape': "
                               f"{shape}, }}", body, version), method)
        return build(items)
    elif kind == 5:  # the header's length field, or its text
        out = bytearray(raw)
        if rng.integers(2):
            out[8:10] = struct.pack("<H", int(rng.integers(65536)))
        else:
            i = int(rng.integers(10, 60))
            out[i:i + 3] = b"(((" if rng.integers(2) else b"\x00\xff'"
        items[k] = (name, bytes(out), method)
        return build(items)
    else:  # a body that does not match the header
        body = body[: int(rng.integers(len(body) + 1))] + bytes(int(rng.integers(3)) * 4)
    header = f"{{'descr': {descr if descr.startswith(('[', '(')) else repr(descr)}, " \
             f"'fortran_order': {order}, 'shape': {shape}, }}"
    items[k] = (name, _npy(header, body), method)
    return build(items)


# -- zip ---------------------------------------------------------------------------------
def _central(data: bytes) -> list[int]:
    out, i = [], data.find(b"PK\x01\x02")
    while i >= 0:
        out.append(i)
        i = data.find(b"PK\x01\x02", i + 4)
    return out


def mutate_zip(data: bytes, rng) -> bytes:
    items = entries(data)
    kind = int(rng.integers(8))
    k = int(rng.integers(len(items)))
    name, raw, method = items[k]
    if kind == 0:  # the same name twice, the second with other contents
        other = items[int(rng.integers(len(items)))][1]
        return build([*items, (name, other, method)])
    if kind == 1:
        return build([*items, (f"extra/{int(rng.integers(9))}.npy", raw, method)])
    if kind == 2:
        return build(items[:k] + items[k + 1:])
    if kind == 3:  # stored <-> deflated
        flipped = zipfile.ZIP_DEFLATED if method == zipfile.ZIP_STORED else zipfile.ZIP_STORED
        return build(items[:k] + [(name, raw, flipped)] + items[k + 1:])
    if kind == 4:  # a zip bomb: a weight entry whose header declares a huge zero array
        if not name.endswith(".npy"):
            return data
        size = int(rng.choice([1 << 18, 1 << 20, 1 << 22]))  # 1 to 16 MB of zeros
        bomb = _npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({size},), }}",
                    bytes(size * 4))
        return build(items[:k] + [(name, bomb, zipfile.ZIP_DEFLATED)] + items[k + 1:])
    out = bytearray(data)
    offsets = _central(data)
    if not offsets:
        return data
    at = offsets[int(rng.integers(len(offsets)))]
    if kind == 5:  # declared sizes
        field = int(rng.choice([20, 24]))
        out[at + field:at + field + 4] = struct.pack(
            "<I", int(rng.choice([0, 1, 2**31, 2**32 - 1, int(rng.integers(2**20))])))
    elif kind == 6:  # compression method: bzip2, lzma, an unknown one
        out[at + 10:at + 12] = struct.pack("<H", int(rng.choice([12, 14, 99, 8, 0])))
    else:  # the encryption flag
        out[at + 8] |= 1
    return bytes(out)


MUTATORS = {"bits": mutate_bits, "json": mutate_json, "npy": mutate_npy, "zip": mutate_zip}


def mutate(data: bytes, rng, family: str | None = None) -> bytes:
    """``data`` (a valid svertka file) damaged one way of ``family`` (any, by default)."""
    family = family or FAMILIES[int(rng.integers(len(FAMILIES)))]
    return MUTATORS[family](data, rng)


# -- originals ---------------------------------------------------------------------------
def originals(directory) -> dict[str, tuple]:
    """Small valid files to mutate, saved in ``directory``: ``{name: (path, load)}``, where
    ``load(path)`` loads a file of that kind and returns the model.

    ``sequential``: convolution, batch normalisation, pooling and dense layers, compiled with
    Adam and trained one step (so it holds optimiser state); ``functional``: two branches
    joined by ``Concatenate``, uncompiled; ``weights``: the sequential model's weights,
    loaded with ``load_weights`` into a model of that architecture.
    """
    from pathlib import Path

    import svertka
    from svertka.layers import (
        BatchNormalization,
        Concatenate,
        Conv2D,
        Dense,
        Flatten,
        Input,
        MaxPooling2D,
        PReLU,
    )
    from svertka.models.saving import load_model

    directory = Path(directory)
    state = svertka.random.generator().bit_generator.state
    svertka.random.seed(0)

    def sequential():
        return svertka.Sequential([
            Conv2D(3, 3, padding="same", activation="relu", input_shape=(6, 6, 1)),
            BatchNormalization(), MaxPooling2D(2), Flatten(), Dense(4, activation="softmax")])

    model = sequential()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(8, 6, 6, 1)).astype(np.float32)
    model.fit(x, np.arange(8) % 4, batch_size=8, epochs=1, verbose=0)
    model.save(directory / "sequential.svk")
    model.save_weights(directory / "weights.svw")
    inp = Input((4, 4, 2))
    a = Conv2D(2, 3, padding="same")(inp)
    b = PReLU()(Conv2D(2, 1)(inp))
    svertka.Model(inp, Dense(3)(Flatten()(Concatenate()([a, b])))).save(
        directory / "functional.svk")
    target = sequential()
    target.build((None, 6, 6, 1))
    svertka.random.generator().bit_generator.state = state

    def into_target(path):
        target.load_weights(path)
        return target

    return {"sequential": (directory / "sequential.svk", load_model),
            "functional": (directory / "functional.svk", load_model),
            "weights": (directory / "weights.svw", into_target)}


# -- judging a load ----------------------------------------------------------------------
def plain_reading(path) -> list[np.ndarray]:
    """The weight arrays of a file as a plain, trusting reader sees them: the oracle."""
    with zipfile.ZipFile(path) as z:
        index = json.loads(z.read("svertka.json"))
        return [np.lib.format.read_array(io.BytesIO(z.read(e["file"])), allow_pickle=False)
                for e in index["weights"]]


def outcome(path, load, allow_nonfinite: bool = False) -> tuple[str, str]:
    """``(kind, detail)``: ``"loaded"`` (weights checked against ``plain_reading``),
    ``"ModelFileError"``, ``"wrong"`` (loaded other weights than the file holds) or
    ``"other"`` (another exception). ``load(path)`` returns a model."""
    try:
        model = load(path)
    except ModelFileError as e:
        return "ModelFileError", str(e)[:200]
    except Exception as e:  # the bug this looks for
        return "other", f"{type(e).__name__}: {e}"[:300]
    try:
        expected = plain_reading(path)
    except Exception as e:
        return "wrong", f"loaded, but a plain reading fails ({type(e).__name__}: {e})"[:300]
    got = model.get_weights()
    if len(got) != len(expected):
        return "wrong", f"{len(got)} weights loaded, the file holds {len(expected)}"
    for i, (g, x) in enumerate(zip(got, expected)):
        if x.dtype not in (np.float32, np.float64) or g.dtype != np.float32 or (
                g.shape != x.shape or not np.array_equal(g, x.astype(np.float32),
                                                         equal_nan=True)):
            return "wrong", f"weight {i}: loaded {g.dtype}{g.shape}, file {x.dtype}{x.shape}"
        if not allow_nonfinite and not np.isfinite(g).all():
            return "wrong", f"weight {i} is not finite"
    return "loaded", ""
