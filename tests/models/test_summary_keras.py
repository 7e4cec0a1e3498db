"""summary(show_trainable=True, layer_range=...) against Keras 3's own table for the same model:
the same rows (name, class, output shape, parameters, Y/N/-) and the same parameter totals."""

import os
import re

import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

import svertka  # noqa: E402
from svertka.models.summary import summary_text  # noqa: E402


def build(lib):
    layers = lib.layers
    model = lib.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3, name="conv"),
                            layers.BatchNormalization(name="bn"),
                            layers.MaxPooling2D(2, name="pool"), layers.Flatten(name="flat"),
                            layers.Dense(3, name="dense")])
    model.get_layer("bn").trainable = False
    return model


def keras_rows(text):
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in text.splitlines()
            if line.startswith("│")]
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def svertka_rows(text):
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("===")]
    rows = [re.split(r"\s{3,}", line.strip()) for line in lines[rules[1] + 1:rules[2]]]
    return [(r[0], r[1], r[2], r[-1]) for r in rows]  # the receptive field is svertka's own


def totals(text):
    return re.findall(r"(Total|Trainable|Non-trainable) params: ([\d,]+)", text)


@pytest.mark.parametrize("layer_range", [None, ["bn", "fl"], ["pool", "conv"]])
def test_trainable_column_and_layer_range_match_keras(layer_range):
    out = []
    build(keras).summary(show_trainable=True, layer_range=layer_range, print_fn=out.append)
    theirs = "".join(out)
    ours = summary_text(build(svertka), show_trainable=True, layer_range=layer_range)
    assert svertka_rows(ours) == keras_rows(theirs)
    assert totals(ours) == totals(theirs) == [("Total", "55"), ("Trainable", "47"),
                                              ("Non-trainable", "8")]
