"""``svertka index MODEL DATA -o idx`` and ``svertka search IDX IMAGE``: similar images."""

import numpy as np
import pytest

import svertka
from svertka import cli
from svertka.layers import Conv2D, Dense, Flatten, Rescaling
from svertka.search import Index
from svertka.utils import set_random_seed


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def tree(tmp_path):
    """Two class folders of 12x12 grey PNGs: a vertical bar or a dot, 4 each."""
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for k, cls in enumerate(("bar", "dot")):
        folder = tmp_path / "tree" / cls
        folder.mkdir(parents=True)
        for i in range(4):
            a = rng.integers(0, 30, (12, 12)).astype(np.uint8)
            if k == 0:
                a[:, 5:7] = 250
            else:
                a[5:7, 5:7] = 250
            image.fromarray(a).save(folder / f"{i}.png")
    return tmp_path / "tree"


@pytest.fixture
def model_file(tmp_path):
    set_random_seed(0)
    model = svertka.Sequential([Rescaling(1 / 255, input_shape=(12, 12, 1)),
                                Conv2D(4, 3, activation="relu"), Flatten(name="flat"),
                                Dense(8, activation="tanh", name="fc"), Dense(2)])
    model.save(tmp_path / "m.svk")
    return tmp_path / "m.svk"


def test_index_a_folder_then_find_an_image_first(tree, model_file, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    idx = tmp_path / "idx"
    code, out, err = run(capsys, "index", model_file, tree, "-o", idx)
    assert code == 0, err
    assert f"Indexed 8 images of {tree} by {model_file} (layer 'fc', 8 values each)" in out
    index = Index.load(idx)
    assert index.metadata["class_names"] == ["bar", "dot"]
    assert index.labels.tolist() == [0] * 4 + [1] * 4
    assert index.metadata["model"]["input_shape"] == [12, 12, 1]
    query = tree / "dot" / "2.png"
    code, out, err = run(capsys, "search", idx, query, "--k", "3", "-o", tmp_path / "s.png")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"Nearest 3 of 8 to {query}:"
    assert lines[1].split() == ["1", "1.0000", "dot", str(query)]
    assert len(lines) == 5 and "Contact sheet saved to" in lines[4]
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_search_refuses_a_query_embedded_by_another_model(tree, model_file, tmp_path, capsys):
    idx = tmp_path / "idx.npz"
    assert run(capsys, "index", model_file, tree, "-o", idx, "--layer", "2")[0] == 0
    assert Index.load(idx).metadata["model"]["layer"] == "flat"
    set_random_seed(1)
    other = svertka.Sequential([Rescaling(1 / 255, input_shape=(12, 12, 1)),
                                Conv2D(4, 3, activation="relu"), Flatten(name="flat"), Dense(2)])
    other.save(tmp_path / "other.svk")
    code, out, err = run(capsys, "search", idx, tree / "bar" / "0.png",
                         "--model", tmp_path / "other.svk")
    assert code == 2 and out == ""
    assert "is not the one that made the index" in err and str(model_file) in err


def test_index_a_data_set_test_split_and_search_by_name(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SVERTKA_DATA", "/work/shared/data")
    from svertka import datasets
    from svertka.datasets.sources import DatasetNotFoundError
    try:
        datasets.load("mnist")
    except DatasetNotFoundError:
        pytest.skip("mnist is not in $SVERTKA_DATA")
    idx = tmp_path / "mnist.npz"
    code, out, err = run(capsys, "index", "lenet5:mnist", "mnist", "--limit", "300", "-o", idx)
    assert code == 0, err
    index = Index.load(idx)
    assert index.paths[7] == "mnist:test/7" and index.dim == 84
    code, out, err = run(capsys, "search", idx, "mnist:test/7", "--k", "5")
    assert code == 0, err
    first = out.splitlines()[1].split()
    assert first[2] == index.metadata["class_names"][index.labels[7]] == "9"
    assert first[3] == "mnist:test/7"


@pytest.mark.parametrize("argv, message", [
    (["index", "nosuch.svk", "mnist", "-o", "x"], "argument MODEL must be a saved model file"),
    (["index", "lenet5:mnist", "no_such_folder", "-o", "x"],
     "argument DATA must be an image folder or a data set name"),
    (["index", "lenet5:mnist", "mnist", "-o", "x", "--limit", "0"], "--limit"),
    (["search", "nosuch.npz", "a.png"], "Index.load: no index file at nosuch.npz"),
])
def test_bad_command_lines_are_one_line_errors(argv, message, capsys):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_search_checks_k_and_the_image(tmp_path, capsys):
    idx = tmp_path / "i.npz"
    Index(np.eye(3)).save(idx)
    code, _, err = run(capsys, "search", idx, "a.png", "--k", "0")
    assert code == 2 and "--k" in err
    code, _, err = run(capsys, "search", idx, "a.png")
    assert code == 2 and "does not record its model" in err
