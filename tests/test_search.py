"""svertka.search: descriptors of a layer, exact cosine search, index files, retrieval quality."""

import json
import zipfile

import numpy as np
import pytest

import svertka
from svertka import datasets, zoo
from svertka.datasets.sources import DatasetNotFoundError
from svertka.errors import DataFileError
from svertka.layers import Conv2D, Dense, Flatten, Input, Rescaling
from svertka.search import (
    Index,
    describe,
    embed,
    l2_normalize,
    leave_one_out,
    precision_at_k,
    topk_exact,
)
from svertka.search import index as index_module
from svertka.utils import set_random_seed


def brute_force(q, db, k):
    """The reference: the full cosine matrix, sorted stably (ties: lowest index first)."""
    s = l2_normalize(q) @ l2_normalize(db).T
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, order, 1), order


def tied_data(rng, n=300, d=8):
    """Vectors with many exact ties: small integers, and every vector stored three times."""
    base = rng.integers(-2, 3, (n // 3, d)).astype(np.float32)
    return np.concatenate([base, base, base])[rng.permutation(n)]


@pytest.mark.parametrize("k", [1, 5, 17, 300])
@pytest.mark.parametrize("block_bytes", [64, 4096, 1 << 26])
def test_exact_search_equals_brute_force_with_ties(k, block_bytes):
    rng = np.random.default_rng(k)
    db = tied_data(rng)
    q = np.concatenate([db[:20], rng.integers(-2, 3, (20, 8)).astype(np.float32)])
    scores, ids = topk_exact(l2_normalize(q), l2_normalize(db), k, block_bytes=block_bytes)
    want_s, want_i = brute_force(q, db, k)
    np.testing.assert_array_equal(ids, want_i)
    np.testing.assert_allclose(scores, want_s, atol=1e-6)


def test_index_query_equals_brute_force_on_random_floats():
    rng = np.random.default_rng(1)
    db, q = rng.normal(size=(2000, 32)), rng.normal(size=(50, 32))
    scores, ids = Index(db).query(q, 10, backend="numpy")
    want_s, want_i = brute_force(q, db, 10)
    np.testing.assert_array_equal(ids, want_i)
    np.testing.assert_allclose(scores, want_s, atol=1e-6)
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_faiss_agrees_with_numpy(monkeypatch):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(2)
    index = Index(rng.normal(size=(3000, 24)))
    q = rng.normal(size=(40, 24))
    s_np, i_np = index.query(q, 8, backend="numpy")
    s_f, i_f = index.query(q, 8, backend="faiss")
    np.testing.assert_array_equal(i_f, i_np)
    np.testing.assert_allclose(s_f, s_np, atol=1e-5)
    monkeypatch.setattr(index_module, "FAISS_FROM", 1000)  # auto: faiss above the threshold
    index._faiss_index = None
    s_a, i_a = index.query(q, 8)
    assert index._faiss_index is not None
    np.testing.assert_array_equal(i_a, i_np)


def test_faiss_backend_without_faiss_says_what_to_install(monkeypatch):
    monkeypatch.setattr(index_module, "_faiss", lambda: None)
    with pytest.raises(ImportError, match="pip install faiss-cpu"):
        Index(np.eye(3)).query(np.eye(3), 1, backend="faiss")
    assert Index(np.eye(3)).query(np.eye(3), 1)[1].ravel().tolist() == [0, 1, 2]  # auto: numpy


def test_query_cuts_k_to_the_index_and_checks_its_arguments():
    index = Index(np.eye(3), labels=[0, 1, 2])
    scores, ids = index.query([1, 0, 0], k=10)
    assert ids.tolist() == [[0, 1, 2]] and scores[0, 0] == pytest.approx(1.0)
    empty = Index(np.zeros((0, 3)))
    assert [a.shape for a in empty.query(np.eye(3), 4)] == [(3, 0), (3, 0)]
    assert topk_exact(np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float32), 5)[1].shape \
        == (3, 3)
    with pytest.raises(ValueError, match=r"Index.query: argument 'k' must be a positive int"):
        index.query(np.eye(3), 0)
    with pytest.raises(ValueError, match=r"Index.query: queries must have the index's 3 col"):
        index.query(np.ones((1, 4)), 1)
    with pytest.raises(ValueError, match=r"Index.query: argument 'backend' must be one of"):
        index.query(np.eye(3), 1, backend="annoy")
    with pytest.raises(ValueError, match=r"Index.query: vectors must be finite"):
        index.query([[np.nan, 0, 0]], 1)


def test_add_appends_vectors_labels_and_paths():
    index = Index(np.eye(2), labels=[3, 4], paths=["a.png", "b.png"])
    index.add([[1, 1]], labels=[5], paths=["c.png"])
    assert len(index) == 3 and index.labels.tolist() == [3, 4, 5]
    assert index.paths.tolist() == ["a.png", "b.png", "c.png"]
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1, atol=1e-6)
    assert index.query([[1, 1]], 1)[1].tolist() == [[2]]
    with pytest.raises(ValueError, match="Index.add: argument 'labels' must be given exactly"):
        index.add([[1, 0]], paths=["d.png"])
    with pytest.raises(ValueError, match="Index.add: vectors must have 2 columns, received 3"):
        index.add(np.ones((1, 3)), labels=[1], paths=["d.png"])
    with pytest.raises(ValueError, match=r"Index: argument 'labels' must hold one int per"):
        Index(np.eye(2), labels=[1.5, 2.5])


def test_leave_one_out_and_precision_at_k():
    ids = np.array([[0, 3, 1], [2, 1, 0], [0, 1, 3]])  # query 2 lacks itself: its last is cut
    assert leave_one_out(ids, 2).tolist() == [[3, 1], [2, 0], [0, 1]]
    labels = np.array([[1, 1, 0, 0], [0, 2, 2, 2]])
    assert precision_at_k(labels, [1, 2]).tolist() == [0.5, 0.75, 2 / 3, 0.625]


def small_model(seed=0):
    set_random_seed(seed)
    x = Input((8, 8, 1))
    y = Conv2D(4, 3, activation="relu", name="conv")(x)
    y = Dense(6, activation="tanh", name="fc")(Flatten(name="flat")(y))
    return svertka.Model(x, Dense(3, name="out")(y))


def test_embed_is_the_normalised_output_of_the_layer():
    model = small_model()
    x = np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32)
    fc = svertka.Model(model.input, model.get_layer("fc").output).predict(x)
    np.testing.assert_allclose(embed(model, x), fc / np.linalg.norm(fc, axis=1, keepdims=True),
                               rtol=1e-5)
    conv = svertka.Model(model.input, model.get_layer("conv").output).predict(x)  # (5,6,6,4)
    gap = conv.mean(axis=(1, 2))
    np.testing.assert_allclose(embed(model, x, layer="conv"),
                               gap / np.linalg.norm(gap, axis=1, keepdims=True), rtol=1e-5)
    flat = embed(model, x, layer=0, pool="flatten")
    assert flat.shape == (5, 6 * 6 * 4)
    np.testing.assert_allclose(flat, embed(model, x, layer="flat"), rtol=1e-6)
    # integer pixels are scaled to [0, 1] as the shipped models take them
    u8 = (x * 255).round().astype(np.uint8)
    np.testing.assert_allclose(embed(model, u8), embed(model, u8 / np.float32(255)), atol=1e-6)
    with pytest.raises(ValueError, match="argument 'layer' names no layer"):
        embed(model, x, layer="nope")
    with pytest.raises(ValueError, match=r"embed: argument 'pool' must be one of"):
        embed(model, x, pool="sum")


def test_embed_of_a_model_taking_raw_pixels_does_not_rescale_twice():
    set_random_seed(0)
    raw = svertka.Sequential([Rescaling(1 / 255, input_shape=(8, 8, 1)),
                              Flatten(), Dense(4, name="fc"), Dense(2)])
    x = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 1)).astype(np.uint8)
    fc = svertka.Model(raw.input, raw.get_layer("fc").output).predict(x.astype(np.float32))
    np.testing.assert_allclose(embed(raw, x), l2_normalize(fc), rtol=1e-5)


def test_index_remembers_its_model_and_refuses_another():
    model, other = small_model(0), small_model(1)
    x = np.random.default_rng(0).random((10, 8, 8, 1)).astype(np.float32)
    index = Index.from_images(model, x, labels=np.arange(10), source="small.svk")
    assert index.metadata["model"]["layer"] == "fc"
    assert index.metadata["model"]["source"] == "small.svk"
    assert index.query_images(model, x[3:4], 1)[1].tolist() == [[3]]
    with pytest.raises(ValueError, match=r"not the one that made the index \(small.svk"):
        index.query_images(other, x[3:4], 1)
    with pytest.raises(ValueError, match="does not record the model"):
        Index(np.eye(3)).query_images(model, x[:1], 1)
    assert describe(model)["fingerprint"] == describe(model)["fingerprint"]


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    index = Index(rng.normal(size=(7, 5)), labels=rng.integers(0, 3, 7),
                  paths=[f"d/{i}.png" for i in range(7)], metadata={"class_names": ["a", "b"]})
    path = tmp_path / "idx"  # no suffix added
    index.save(path)
    back = Index.load(path)
    np.testing.assert_array_equal(back.vectors, index.vectors)
    np.testing.assert_array_equal(back.labels, index.labels)
    assert back.paths.tolist() == index.paths.tolist() and back.metadata == index.metadata
    bare = tmp_path / "bare.npz"
    Index(np.eye(2)).save(bare)
    assert Index.load(bare).labels is None and Index.load(bare).paths is None


def rewrite(path, out, **replace):
    """The index file at ``path`` with some members replaced (raw bytes or arrays)."""
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w") as zout:
        for name in zin.namelist():
            member = name.removesuffix(".npy")
            if member in replace:
                value = replace.pop(member)
                if value is None:
                    continue
                if isinstance(value, np.ndarray):
                    import io
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, value, allow_pickle=True)
                    value = buf.getvalue()
                zout.writestr(name, value)
            else:
                zout.writestr(name, zin.read(name))
    return out


def test_damaged_index_files_are_refused_naming_the_file(tmp_path):
    good = tmp_path / "good.npz"
    Index(np.random.default_rng(0).normal(size=(6, 4)), labels=np.arange(6),
          paths=list("abcdef")).save(good)
    header = json.loads(np.load(good)["header"].tobytes())
    cases = {
        "not a .npz": None,
        "lacks a header or vectors": {"vectors": None},
        "holds Python objects": {"paths": np.array(list("abcdef"), dtype=object)},
        r"array 'vectors' is float64 of shape \(6, 4\), expected float32": {
            "vectors": np.zeros((6, 4))},
        r"array 'labels' is .* of shape \(5,\)": {"labels": np.arange(5)},
        "does not say format": {"header": np.frombuffer(b'{"format": "x"}', np.uint8)},
        "header is not JSON": {"header": np.frombuffer(b"{nope", np.uint8)},
        "count=-1": {"header": np.frombuffer(json.dumps({**header, "count": -1}).encode(),
                                             np.uint8)},
        "NaN": {"vectors": np.full((6, 4), np.nan, np.float32)},
        "unreadable header": {"vectors": b"\x93NUMPY\x01\x00garbage"},
    }
    for i, (message, replace) in enumerate(cases.items()):
        bad = tmp_path / f"bad{i}.npz"
        if replace is None:
            bad.write_bytes(good.read_bytes()[:100])
        else:
            rewrite(good, bad, **replace)
        with pytest.raises(DataFileError, match=rf"Index.load: {bad} is not a valid .*{message}"):
            Index.load(bad)
    with pytest.raises(FileNotFoundError, match="Index.load: no index file at"):
        Index.load(tmp_path / "missing.npz")


def test_block_size_bounds_the_scores_held(monkeypatch):
    seen = []
    real = index_module._block_topk

    def spy(s, k):
        seen.append(s.nbytes)
        return real(s, k)

    monkeypatch.setattr(index_module, "_block_topk", spy)
    rng = np.random.default_rng(0)
    db, q = l2_normalize(rng.normal(size=(5000, 8))), l2_normalize(rng.normal(size=(30, 8)))
    topk_exact(q, db, 4, block_bytes=30 * 4 * 256)
    assert max(seen) <= 30 * 4 * 256 and len(seen) == 20


def mnist():
    """MNIST's (train, test) pairs, or a skip where it is not to be had (offline, no
    ``$SVERTKA_DATA``)."""
    try:
        train, test, _ = datasets.load("mnist")
    except DatasetNotFoundError:
        pytest.skip("mnist is not in $SVERTKA_DATA")
    return train, test


def mnist_test():
    return mnist()[1]


def leave_one_out_precision(model, x, y, k=5):
    index = Index.from_images(model, x, labels=y)
    _, ids = index.query(index.vectors, k + 1, backend="numpy")
    return precision_at_k(index.labels[leave_one_out(ids, k)], y)


def test_shipped_lenet5_finds_the_same_digit_on_2000_mnist_images():
    x, y = mnist_test()
    p = leave_one_out_precision(zoo.lenet5((28, 28, 1), weights="mnist"), x[:2000], y[:2000])
    assert p[4] >= 0.95 and p[0] >= p[4] - 0.02


@pytest.mark.slow
def test_notes_model_trained_5_epochs_reaches_precision_at_5_of_095():
    (x_train, y_train), (x, y) = mnist()
    set_random_seed(0)
    model = zoo.notes_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x_train[..., None] / np.float32(255), y_train, epochs=5, batch_size=128,
              verbose=0)
    assert leave_one_out_precision(model, x, y)[4] >= 0.95


def script(relative: str):
    """A script of the repository (benchmarks/, examples/) as a module, by its path."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / relative
    spec = importlib.util.spec_from_file_location(f"_svertka_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_and_the_example_run_in_their_quick_forms(capsys):
    bench, search_quality = script("benchmarks/search.py"), script("examples/search_quality.py")
    bench.main(["--sizes", "500", "--queries", "20", "--repeat", "1", "--dim", "16"])
    row = capsys.readouterr().out.splitlines()[-1].split("|")
    assert row[1].strip() == "500" and float(row[3].replace(",", "")) > 0  # queries/s
    if row[4].strip() != "-":
        assert row[6].strip() == "1.0000"  # faiss finds the same neighbours
    mnist_test()
    search_quality.main(["--limit", "200", "--sets", "mnist"])
    lines = capsys.readouterr().out.splitlines()
    mnist = next(line for line in lines if line.startswith("| MNIST |")).split("|")
    assert mnist[3].strip() == "F6 (84)" and float(mnist[6]) >= 0.9  # P@5
