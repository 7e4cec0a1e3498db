"""plot_model / model_to_dot: the DOT text (nodes, edges, labels) as Keras 3 draws it, and the
errors that say what to install (pydot, Graphviz's dot program)."""

import re
import sys

import pytest

import svertka
from svertka.layers import Add, Conv2D, Dense, Flatten, Input
from svertka.models import Model
from svertka.models.plot import model_to_dot, plot_model
from svertka.utils import model_to_dot as utils_model_to_dot
from svertka.utils import plot_model as utils_plot_model


def residual():
    x = Input((8, 8, 3), name="img")
    y = Conv2D(3, 3, padding="same", activation="relu", name="conv")(x)
    z = Add(name="add")([x, y])
    return Model(x, Dense(2, name="head")(Flatten(name="flat")(z)))


def graph(dot):
    """({node id: label}, {(src label title, dst label title)}) from the DOT text."""
    text = dot.to_string()
    labels = dict(re.findall(r'^(\d+) \[label=<(.*?)>, fontname', text, flags=re.M))
    titles = {k: re.search(r"<b>(.*?)</b>", v).group(1) for k, v in labels.items()}
    edges = {(titles[a], titles[b]) for a, b in re.findall(r"^(\d+) -> (\d+)", text, flags=re.M)}
    return {titles[k]: v for k, v in labels.items()}, edges


def test_utils_exports_keras_names():
    assert utils_plot_model is plot_model and utils_model_to_dot is model_to_dot


def test_functional_graph_has_an_input_box_and_one_edge_per_connection():
    pytest.importorskip("pydot")
    labels, edges = graph(model_to_dot(residual()))
    assert set(labels) == {"img", "conv", "add", "flat", "head"}
    assert edges == {("img", "conv"), ("img", "add"), ("conv", "add"), ("add", "flat"),
                     ("flat", "head")}
    assert "(InputLayer)" in labels["img"] and "(Conv2D)" in labels["conv"]
    assert "shape" not in labels["conv"]  # show_shapes=False


def test_labels_show_shapes_dtype_activation_and_trainable_as_keras():
    pytest.importorskip("pydot")
    model = residual()
    model.get_layer("conv").trainable = False
    dot = model_to_dot(model, show_shapes=True, show_dtype=True, show_layer_activations=True,
                       show_trainable=True, rankdir="LR", dpi=96)
    labels, _ = graph(dot)
    assert "Input shape: <b>[(None, 8, 8, 3), (None, 8, 8, 3)]</b>" in labels["add"]
    assert "Output shape: <b>(None, 2)</b>" in labels["head"]
    assert "Input shape" not in labels["img"]  # an InputLayer shows its output only
    assert "Output dtype: <b>float32</b>" in labels["flat"]
    assert "Activation: <b>relu</b>" in labels["conv"]
    assert "Non-trainable" in labels["conv"] and ">Trainable<" in labels["head"].replace(
        "<b>", "").replace("</b>", "")
    assert "Trainable" not in labels["flat"]  # no weights: no trainable cell
    text = dot.to_string()
    assert "rankdir=LR;" in text and "dpi=96;" in text


def test_sequential_draws_no_input_box_and_names_can_be_hidden():
    pytest.importorskip("pydot")
    model = svertka.Sequential([Dense(4, input_shape=(3,), name="hidden"),
                                Dense(2, name="out")])
    labels, edges = graph(model_to_dot(model))
    assert set(labels) == {"hidden", "out"} and edges == {("hidden", "out")}
    labels, _ = graph(model_to_dot(model, show_layer_names=False))
    assert set(labels) == {"Dense"}  # both boxes titled by their class
    with pytest.raises(ValueError, match="model_to_dot: the model .* has not yet been built"):
        model_to_dot(svertka.Sequential([Dense(2)]))
    with pytest.raises(ValueError, match="'layer_range' is no longer supported"):
        model_to_dot(model, layer_range=["a", "b"])


def test_expand_nested_draws_an_inner_model_as_a_cluster():
    pytest.importorskip("pydot")
    inner_in = Input((4,), name="inner_in")
    inner = Model(inner_in, Dense(3, name="inner_dense")(inner_in), name="block")
    x = Input((4,), name="x")
    outer = Model(x, Dense(2, name="head")(inner(x)))
    labels, edges = graph(model_to_dot(outer))
    assert edges == {("x", "block"), ("block", "head")}
    dot = model_to_dot(outer, expand_nested=True)
    assert "subgraph cluster_block" in dot.to_string()
    labels, edges = graph(dot)
    assert {("x", "inner_in"), ("inner_in", "inner_dense"), ("inner_dense", "head")} == edges


def test_plot_model_writes_dot_text_without_graphviz(tmp_path):
    pytest.importorskip("pydot")
    path = tmp_path / "model.dot"
    assert plot_model(residual(), to_file=path, show_shapes=True) is None
    text = path.read_text()
    assert text.startswith("digraph G {") and "Output shape: <b>(None, 2)</b>" in text


def test_missing_graphviz_or_pydot_says_what_to_install(tmp_path, monkeypatch):
    pydot = pytest.importorskip("pydot")
    monkeypatch.setenv("PATH", str(tmp_path))  # no 'dot' program to find
    monkeypatch.setattr(pydot.Dot, "create", lambda *a, **k: (_ for _ in ()).throw(
        FileNotFoundError("dot not found")))
    with pytest.raises(ImportError, match="plot_model: you must install Graphviz"):
        plot_model(residual(), to_file=tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()
    for name in ("pydot", "pydot_ng", "pydotplus"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"plot_model: you must install pydot \(`pip install"):
        plot_model(residual(), to_file=tmp_path / "m.dot")
    with pytest.raises(ImportError, match="model_to_dot: you must install pydot"):
        model_to_dot(residual())
