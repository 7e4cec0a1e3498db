"""A seeded fuzzer of data files, shared by ``test_fuzz_data.py`` and ``benchmarks/fuzz_data.py``.

One case: a small valid file (or folder) of one kind, damaged one way, then loaded through the
loader a user would call; its outcome is one of

- ``correct``: the load equals the undamaged data (the damage hit bytes nothing reads, such as
  a gzip header's timestamp or a tar member's padding);
- ``changed``: the load differs in at most as many images or labels as bits were flipped, all
  of them in bytes that the format itself does not protect (the pixels and labels of a raw IDX
  file or CIFAR-10 batch, a member of a plain ``.tar``): a faithful read of what the file now
  says, which no loader can tell from the original without a recorded hash;
- ``error``: :class:`~svertka.errors.DataFileError`;
- ``other``: any other exception (a bug);
- ``garbage``: a load that differs from the data otherwise, or a decoded cache written for a
  file that failed (a bug).

Kinds: ``idx_gz`` and ``idx_raw`` (an MNIST-like pair of images and labels files, one of
them damaged, read by ``read_idx_pair``), ``cifar_bin`` (the six CIFAR-10 batches, one
damaged, by ``cifar10.load_data``), ``cifar_tgz`` (those batches in a ``.tar.gz``, by
``cifar10.load_data``, with its ``.npy`` cache), ``tree_tgz`` and ``tree_tar`` (a PNG image
tree with ``train/`` and ``test/``, by ``image_dataset``). Damage: ``flip`` (1-3 random bits),
``truncate`` (at a random byte), ``header`` (the format's header fields: IDX magic, type,
ndim and dims; a tar member's size or checksum, the checksum made to hold again for a size;
a CIFAR-10 label byte; for a gzip file, the fields of what it compresses, re-compressed).
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KINDS = ("idx_gz", "idx_raw", "cifar_bin", "cifar_tgz", "tree_tgz", "tree_tar")
DAMAGES = ("flip", "truncate", "header")
OUTCOMES = ("correct", "changed", "error", "other", "garbage")
_END = 1 << 40


@dataclass
class Template:
    """One undamaged example of a kind: its files, the one damaged, what loading gives."""

    kind: str
    files: dict[str, bytes]  # relative name -> content
    load: object  # callable(directory) -> tuple of arrays
    expected: tuple
    unchecked: dict[str, list[tuple[int, int]]]  # file -> byte ranges its format leaves open


def _idx(array) -> bytes:
    array = np.asarray(array, np.uint8)
    return (bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
            + array.tobytes())


def _tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _tar_layout(data: bytes) -> tuple[list[tuple[int, int]], list[int]]:
    """The data ranges and header offsets of a plain tar's members."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    return ([(m.offset_data, m.offset_data + m.size) for m in members],
            [m.offset for m in members])


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def _cifar_records(rng, n: int) -> bytes:
    labels = rng.integers(0, 10, (n, 1))
    pixels = rng.integers(0, 256, (n, 3072))
    return np.concatenate([labels, pixels], axis=1).astype(np.uint8).tobytes()


def make_template(kind: str, rng: np.random.Generator) -> Template:
    from svertka.datasets import cifar10, image_dataset
    from svertka.datasets.idx import read_idx_pair

    if kind in ("idx_gz", "idx_raw"):
        n = int(rng.integers(2, 6))
        images, labels = _idx(rng.integers(0, 256, (n, 6, 5))), _idx(rng.integers(0, 10, n))
        pack = gzip.compress if kind == "idx_gz" else bytes
        files = {"images": pack(images), "labels": pack(labels)}
        unchecked = {} if kind == "idx_gz" else {"images": [(16, _END)], "labels": [(8, _END)]}
        return Template(kind, files, lambda d: read_idx_pair(d / "images", d / "labels", 10),
                        (), unchecked)
    if kind == "cifar_bin":
        files = {name: _cifar_records(rng, 2) for name in cifar10.TRAIN_FILES + cifar10.TEST_FILES}
        return Template(kind, files, lambda d: _flat(cifar10.load_data(d)), (),
                        {name: [(0, _END)] for name in files})
    if kind == "cifar_tgz":
        members = {f"cifar-10-batches-bin/{name}": _cifar_records(rng, 2)
                   for name in cifar10.TRAIN_FILES + cifar10.TEST_FILES}
        files = {"batches.tar.gz": gzip.compress(_tar(members))}
        return Template(kind, files, lambda d: _flat(cifar10.load_data(d / "batches.tar.gz")),
                        (), {})
    members = {}
    for split, count in (("train", 2), ("test", 1)):
        for c in ("ant", "bee", "cat"):
            for i in range(count):
                pixels = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
                members[f"tree/{split}/{c}/{i}.png"] = _png(pixels)
    tar = _tar(members)
    data_ranges, _ = _tar_layout(tar)
    name = "tree.tar.gz" if kind == "tree_tgz" else "tree.tar"
    files = {name: gzip.compress(tar) if kind == "tree_tgz" else tar}
    return Template(kind, files, lambda d: _flat(image_dataset(d / name)[:2]), (),
                    {name: data_ranges} if kind == "tree_tar" else {})


def _flat(splits) -> tuple:
    (x_train, y_train), (x_test, y_test) = splits
    return x_train, y_train, x_test, y_test


def _write(directory: Path, files: dict[str, bytes]) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)


def _octal(value: int, width: int) -> bytes:
    return f"{value:0{width - 1}o}".encode()[-(width - 1):] + b"\0"


def _fix_checksum(block: bytearray) -> None:
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}".encode() + b"\0 "


def _header_damage(kind: str, data: bytes, rng) -> bytes:
    """Damage a header field of ``data`` (the target's content, uncompressed)."""
    out = bytearray(data)
    if kind.startswith("idx"):
        ndim = out[3] if len(out) > 3 else 0
        field = rng.choice(["magic", "type", "ndim", "dims"])
        if field == "magic":
            out[int(rng.integers(0, 2))] = int(rng.integers(1, 256))
        elif field == "type":
            out[2] = int(rng.choice([0x09, 0x0B, 0x0C, 0x0D, 0x0E, int(rng.integers(0, 256))]))
        elif field == "ndim":
            out[3] = int(rng.choice([0, ndim - 1, ndim + 1, int(rng.integers(0, 256))])) % 256
        else:
            at = 4 + 4 * int(rng.integers(0, max(ndim, 1)))
            old = int.from_bytes(out[at:at + 4], "big")
            new = int(rng.choice([old + 1, max(old - 1, 0), 0, 0xFFFFFFFF,
                                  int(rng.integers(0, 1 << 32))]))
            out[at:at + 4] = new.to_bytes(4, "big")
        return bytes(out)
    if kind == "cifar_bin":
        record = int(rng.integers(0, len(out) // 3073))
        out[record * 3073] = int(rng.integers(0, 256))
        return bytes(out)
    _, headers = _tar_layout(data)
    at = headers[int(rng.integers(0, len(headers)))]
    block = out[at:at + 512]
    if rng.random() < 0.5:  # a new size, the checksum made to hold again
        size = int(block[124:136].rstrip(b"\0 ") or b"0", 8)
        block[124:136] = _octal(int(rng.choice([size + 1, max(size - 1, 0), size + 512, 0,
                                                int(rng.integers(0, 1 << 20))])), 12)
        _fix_checksum(block)
    else:
        block[148 + int(rng.integers(0, 6))] = int(rng.integers(0x30, 0x38))
    out[at:at + 512] = block
    return bytes(out)


@dataclass
class Case:
    kind: str
    damage: str
    target: str
    detail: str
    files: dict[str, bytes]
    flipped: list[int]  # byte offsets of flipped bits, in the target as stored


def damage(template: Template, rng: np.random.Generator) -> Case:
    """One damaged copy of ``template``'s files."""
    files = dict(template.files)
    target = str(rng.choice(sorted(files)))
    data = files[target]
    how = str(rng.choice(DAMAGES))
    flipped: list[int] = []
    if how == "flip":
        out = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(0, len(out)))
            out[at] ^= 1 << int(rng.integers(0, 8))
            flipped.append(at)
        detail = f"bits at {sorted(flipped)}"
        data = bytes(out)
    elif how == "truncate":
        cut = int(rng.integers(0, len(data)))
        detail, data = f"cut at {cut} of {len(data)}", data[:cut]
    else:
        packed = template.kind.endswith("gz")
        plain = gzip.decompress(data) if packed else data
        damaged = _header_damage(template.kind, plain, rng)
        detail = "header field"
        if not packed and template.kind == "cifar_bin":
            flipped = [i for i in range(len(plain)) if plain[i] != damaged[i]]
        data = gzip.compress(damaged, mtime=0) if packed else damaged
    files[target] = data
    return Case(template.kind, how, target, detail, files, flipped)


def _differences(expected: tuple, got: tuple) -> int | None:
    """How many samples differ (images or labels), None when the shapes or types differ."""
    if len(expected) != len(got):
        return None
    count = 0
    for a, b in zip(expected, got):
        if a.shape != b.shape or a.dtype != b.dtype:
            return None
        if a.ndim:
            count += int(np.any((a != b).reshape(len(a), -1), axis=1).sum()) if len(a) else 0
    return count


def _unprotected(template: Template, case: Case) -> bool:
    ranges = template.unchecked.get(case.target, [])
    return bool(case.flipped) and all(any(lo <= at < hi for lo, hi in ranges)
                                      for at in case.flipped)


def run_case(template: Template, case: Case, directory: Path, decoded=None) -> tuple[str, str]:
    """Write ``case``'s files into ``directory``, load them, and classify: (outcome, note).

    ``decoded``, when given, is a callable counting the decoded caches, which must not grow
    when a load fails.
    """
    from svertka.errors import DataFileError

    _write(directory, case.files)
    before = decoded() if decoded else 0
    try:
        got = tuple(template.load(directory))
    except DataFileError as e:
        if decoded and decoded() != before:
            return "garbage", f"cached after an error: {e}"
        return "error", str(e).splitlines()[0][:200]
    except Exception as e:  # noqa: BLE001 - the point: any other type is a finding
        return "other", f"{type(e).__name__}: {e}"[:300]
    diff = _differences(template.expected, got)
    if diff == 0:
        return "correct", ""
    if diff is not None and _unprotected(template, case) and diff <= len(case.flipped):
        return "changed", f"{diff} samples"
    return "garbage", f"{diff} samples differ, shapes {[a.shape for a in got]}"


def templates(seed: int, work: Path, per_kind: int = 2) -> list[Template]:
    """``per_kind`` templates of each kind, each with the load of its undamaged files."""
    rng = np.random.default_rng(seed)
    out = []
    for kind in KINDS:
        for i in range(per_kind):
            t = make_template(kind, rng)
            directory = work / f"original-{kind}-{i}"
            _write(directory, t.files)
            t.expected = tuple(t.load(directory))
            out.append(t)
    return out


def cases(seed: int, count: int, pool: list[Template], start: int = 0):
    """Damaged cases ``start .. count - 1``, the same for the same seed: (index, template,
    case); case i depends only on the seed, i and the pool."""
    for i in range(start, count):
        rng = np.random.default_rng([seed, i])
        template = pool[i % len(pool)]
        yield i, template, damage(template, rng)
