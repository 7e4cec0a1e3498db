"""Damaged and hostile model files, one test per way the issue found them to fail: each is
refused with ``ModelFileError`` naming the file, quickly and in little memory, or (NaN
weights on request) loaded exactly."""

import io
import json
import struct
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
from model_fuzz import build, entries

import svertka
from svertka import ModelFileError
from svertka.layers import BatchNormalization, Conv2D, Dense, Flatten
from svertka.models import load_model
from svertka.models.saving import load_weights


def small_model():
    state = svertka.random.generator().bit_generator.state
    svertka.random.seed(0)
    model = svertka.Sequential([Conv2D(2, 3, input_shape=(5, 5, 1)), BatchNormalization(),
                                Flatten(), Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    svertka.random.generator().bit_generator.state = state
    return model


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.svk"
    small_model().save(path)
    return path


def rewrite(path, edit_index=None, edit_entries=None):
    """A copy of ``path`` with its index (a dict) and/or entry list edited in place."""
    items = entries(path.read_bytes())
    if edit_index is not None:
        k = next(i for i, e in enumerate(items) if e[0] == "svertka.json")
        index = json.loads(items[k][1])
        edit_index(index)
        items[k] = ("svertka.json", json.dumps(index).encode(), items[k][2])
    if edit_entries is not None:
        items = edit_entries(items) or items
    out = path.with_name("edited" + path.suffix)
    out.write_bytes(build(items))
    return out


def npy(header: dict, body: bytes) -> bytes:
    text = repr(header)
    text += " " * ((-len(text) - 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + body


def replace_array(items, name, data, method=None):
    return [(n, data, m if method is None else method) if n == name else (n, d, m)
            for n, d, m in items]


def test_a_small_file_declaring_a_huge_model_is_refused_at_once(saved):
    def huge(index):
        index["model"]["config"]["layers"][-1]["config"]["units"] = 10**9

    path = rewrite(saved, huge)
    assert path.stat().st_size < 10_000
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=r"edited\.svk.*budget"):
        load_model(path)
    assert time.perf_counter() - start < 1.0  # was 14 s and 4.2 GB


def test_a_zip_bomb_is_refused_before_it_expands(saved):
    size = 1 << 24  # 64 MB of float32 zeros, deflated to 64 kB

    def edit(items):
        return replace_array(items, "weights/0.npy", npy(
            {"descr": "<f4", "fortran_order": False, "shape": (size,)}, bytes(size * 4)),
            zipfile.ZIP_DEFLATED)

    path = rewrite(saved, edit_entries=edit)
    assert path.stat().st_size < 100_000
    with pytest.raises(ModelFileError, match="zip bomb"):
        load_model(path)


def test_the_entries_together_may_not_expand_far_beyond_the_file(saved, monkeypatch):
    from svertka.models import modelfile

    monkeypatch.setattr(modelfile, "SMALL_ENTRY", 10)
    monkeypatch.setattr(modelfile, "RATIO", 1)
    with pytest.raises(ModelFileError, match="would expand"):
        load_model(saved)


def test_duplicate_zip_entries_are_refused(saved):
    def twice(items):
        name, data, method = next(e for e in items if e[0] == "weights/0.npy")
        zeros = np.lib.format.read_array(io.BytesIO(data)) * 0
        buf = io.BytesIO()
        np.lib.format.write_array(buf, zeros)
        return [*items, (name, buf.getvalue(), method)]

    with pytest.raises(ModelFileError, match="'weights/0.npy' twice"):
        load_model(rewrite(saved, edit_entries=twice))


def test_entries_the_index_does_not_name_are_refused(saved):
    path = rewrite(saved, edit_entries=lambda items: [*items, ("extra.npy", b"x", 0)])
    with pytest.raises(ModelFileError, match="does not name"):
        load_model(path)


def nonfinite_file(saved):
    def poison(items):
        name, data, method = next(e for e in items if e[0] == "weights/0.npy")
        a = np.lib.format.read_array(io.BytesIO(data)).copy()
        a.flat[0], a.flat[1] = np.nan, np.inf
        buf = io.BytesIO()
        np.lib.format.write_array(buf, a)
        return replace_array(items, name, buf.getvalue())

    return rewrite(saved, edit_entries=poison)


def test_nonfinite_weights_are_refused_unless_allowed(saved):
    path = nonfinite_file(saved)
    with pytest.raises(ModelFileError, match="NaN or infinite.*allow_nonfinite=True"):
        load_model(path)
    kernel = load_model(path, allow_nonfinite=True).get_weights()[0]
    assert np.isnan(kernel.flat[0]) and np.isinf(kernel.flat[1])
    assert np.isfinite(kernel.flat[2:]).all()


def test_nonfinite_weights_files_are_refused_unless_allowed(tmp_path):
    model = small_model()
    weights = model.get_weights()
    weights[0].flat[0] = np.nan
    model.set_weights(weights)
    model.save_weights(tmp_path / "w.svw")
    target = small_model()
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        load_weights(target, tmp_path / "w.svw")
    load_weights(target, tmp_path / "w.svw", allow_nonfinite=True)
    assert np.isnan(target.get_weights()[0].flat[0])


@pytest.mark.parametrize("descr", ["|S4", "<i4", [("a", "<f4")], "|O", ">f4", "<f2", "<c8"])
def test_arrays_of_other_dtypes_are_refused_not_cast(saved, descr):
    def edit(items):
        kernel = np.lib.format.read_array(io.BytesIO(dict(
            (n, d) for n, d, _ in items)["weights/0.npy"]))
        body = bytes(kernel.size * np.dtype(descr if descr != "|O" else "<i8").itemsize)
        return replace_array(items, "weights/0.npy", npy(
            {"descr": descr, "fortran_order": False, "shape": kernel.shape}, body))

    with pytest.raises(ModelFileError, match="weights must be little-endian float32"):
        load_model(rewrite(saved, edit_entries=edit))


def test_an_array_header_must_match_its_data(saved):
    def edit(items):
        return replace_array(items, "weights/0.npy", npy(
            {"descr": "<f4", "fortran_order": False, "shape": (10**12,)}, bytes(72)))

    with pytest.raises(ModelFileError, match="declares shape"):
        load_model(rewrite(saved, edit_entries=edit))


@pytest.mark.parametrize("edit, message", [
    (lambda ix: ix["model"]["config"]["layers"][0].update(class_name="EvalLayer"),
     "registered layer class"),
    (lambda ix: ix["model"].update(class_name="Functional"), "'Sequential' or 'Model'"),
    (lambda ix: ix["model"]["config"]["layers"][0]["config"].update(filters=2**70),
     "64-bit range"),
    (lambda ix: ix["model"]["config"]["layers"][0]["config"].update(filters=True),
     "filters"),
    (lambda ix: ix["model"]["config"]["layers"][0].update(config=[1, 2]), "an object"),
    (lambda ix: ix["weights"][0].update(shape=[3, -3]), r"ints >= 0"),
    (lambda ix: ix.update(format_version=True), "format_version"),
    (lambda ix: ix.update(epochs_trained=-1), "epochs_trained"),
    (lambda ix: ix["compile"]["optimizer"]["config"].update(learning_rate="fast"),
     "compile settings"),
    (lambda ix: ix["compile"]["optimizer"]["config"].update(warp=9), "compile settings"),
    (lambda ix: ix["compile"].update(optimizer={"class_name": "Adam", "config": 3}),
     "compile.optimizer.config"),
])
def test_damaged_descriptions_are_refused_with_what_is_wrong(saved, edit, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(rewrite(saved, edit))


def test_deep_nesting_and_non_json_numbers_are_refused(saved):
    for raw, message in [(b"[" * 100_000 + b"]" * 100_000, "nested"),
                         (b"[" * 40 + b"]" * 40, "nested more than 32"),
                         (b'{"format": NaN}', "not valid JSON"),
                         (b'{"format": 1e999}', "inf"),
                         (b'\xff{}', "not valid JSON")]:
        path = rewrite(saved, edit_entries=lambda items, raw=raw: [
            (n, raw if n == "svertka.json" else d, m) for n, d, m in items])
        with pytest.raises(ModelFileError, match=message):
            load_model(path)


def test_loading_leaves_the_global_generator_untouched(saved):
    state = svertka.random.generator().bit_generator.state
    load_model(saved)
    assert svertka.random.generator().bit_generator.state == state


def test_loading_weights_into_another_architecture_is_a_model_file_error(tmp_path):
    small_model().save_weights(tmp_path / "w.svw")
    other = svertka.Sequential([Dense(2, input_shape=(3,))])
    with pytest.raises(ModelFileError, match="the architectures differ"):
        load_weights(other, tmp_path / "w.svw")


def test_a_missing_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.svk")


def test_a_large_all_zero_weight_round_trips(tmp_path):
    """Arrays are stored uncompressed, so a 16 MB zero kernel, which deflate would shrink
    1,000:1, is no zip bomb to the reader."""
    model = svertka.Sequential([Dense(2048, kernel_initializer="zeros", input_shape=(2048,))])
    model.save(tmp_path / "zeros.svk")
    assert (load_model(tmp_path / "zeros.svk").get_weights()[0] == 0).all()


PEAK = textwrap.dedent("""
    import json, resource, sys, zipfile
    import svertka
    from svertka import ModelFileError
    from svertka.layers import Dense
    from svertka.models import load_model
    good, bad = sys.argv[1], sys.argv[2]
    load_model(good)  # warm: imports and first-use set-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        load_model(bad)
        outcome = "loaded"
    except ModelFileError:
        outcome = "ModelFileError"
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"outcome": outcome, "growth_mb": (after - before) / 1024}))
""")


@pytest.mark.parametrize("units", [1 << 22, 10**9])  # 1.5 GB then, or far past any memory
def test_a_small_hostile_file_is_refused_in_under_100_mb(saved, units):
    def huge(index):
        index["model"]["config"]["layers"][-1]["config"]["units"] = units

    bad = rewrite(saved, huge)
    result = subprocess.run([sys.executable, "-c", PEAK, str(saved), str(bad)],
                            capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["outcome"] == "ModelFileError"
    assert report["growth_mb"] < 100
