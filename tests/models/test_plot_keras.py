"""model_to_dot against Keras 3's for the same residual model: the same boxes (labels, byte for
byte) and the same edges."""

import os
import re

import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")
pytest.importorskip("pydot")

import svertka  # noqa: E402
from svertka.models.plot import model_to_dot  # noqa: E402


def build(lib):
    layers = lib.layers
    x = layers.Input((8, 8, 3), name="img")
    y = layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")(x)
    z = layers.Add(name="add")([x, y])
    model = lib.Model(x, layers.Dense(2, name="head")(layers.Flatten(name="flat")(z)))
    model.get_layer("conv").trainable = False
    return model


def boxes_and_edges(dot):
    """Labels in drawing order, and edges as pairs of positions in that order."""
    text = dot.to_string()
    nodes = re.findall(r"^(\d+) \[label=(<.*?>), fontname", text, flags=re.M)
    order = {key: i for i, (key, _) in enumerate(nodes)}
    edges = sorted((order[a], order[b])
                   for a, b in re.findall(r"^(\d+) -> (\d+)", text, flags=re.M))
    return [label for _, label in nodes], edges


@pytest.mark.parametrize("options", [
    {},
    {"show_shapes": True, "show_dtype": True, "show_layer_activations": True,
     "show_trainable": True},
    {"show_layer_names": False, "rankdir": "LR"},
])
def test_dot_matches_keras(options):
    ours = model_to_dot(build(svertka), **options)
    theirs = keras.utils.model_to_dot(build(keras), **options)
    assert boxes_and_edges(ours) == boxes_and_edges(theirs)
    assert len(boxes_and_edges(ours)[1]) == 5
    header = re.compile(r"^(rankdir|concentrate|dpi|splines)=.*;$", re.M)
    assert header.findall(ours.to_string()) == header.findall(theirs.to_string())
