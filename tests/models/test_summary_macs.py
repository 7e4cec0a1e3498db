"""Multiply-accumulates per image against the published figures (torchvision's model table
gives GFLOPS as multiply-accumulates: ResNet-18 1.81, ResNet-50 4.09, VGG-16 15.47,
AlexNet 0.71), and the column of the table."""

import pytest

from svertka import zoo
from svertka.layers import Conv2D, Dense, Flatten, Input
from svertka.models import Model
from svertka.models.summary import multiply_accumulates, summary_text


def total(model):
    return sum(multiply_accumulates(node) for node in model._nodes)


@pytest.mark.parametrize("builder, gmacs", [
    (zoo.resnet18, 1.81), (zoo.resnet50, 4.09), (zoo.vgg16, 15.47), (zoo.alexnet, 0.71),
])
def test_published_figures(builder, gmacs):
    assert round(total(builder()) / 1e9, 2) == gmacs


def test_by_hand():
    x = Input((8, 8, 3))
    y = Conv2D(4, 3, padding="same")(x)          # 8*8 positions * 3*3*3*4
    z = Dense(5)(Flatten()(y))                   # 256 * 5
    model = Model(x, z)
    assert [multiply_accumulates(n) for n in model._nodes] == [64 * 108, 0, 1280]
    text = summary_text(model, flops=True)
    assert "MACs" in text and "6,912" in text
    assert f"Multiply-accumulates per image: {6912 + 1280:,}" in text
    assert "MACs" not in summary_text(model)


def test_lenet5_table_counts_only_connections():
    model = zoo.lenet5(c3_table=True)
    c3 = [n for n in model._nodes if n.layer.name == "C3"][0]
    assert multiply_accumulates(c3) == 10 * 10 * 25 * 60   # 60 connections in Table I


def test_transposed_convolution_counts_input_positions():
    from svertka.layers import Conv2DTranspose

    x = Input((4, 4, 8))
    model = Model(x, Conv2DTranspose(16, 3, strides=2, padding="same")(x))
    assert multiply_accumulates(model._nodes[0]) == 4 * 4 * 3 * 3 * 16 * 8


def test_a_window_narrower_than_its_stride_reports_the_gaps():
    from svertka.models.summary import tiling_notes

    x = Input((8, 8, 2))
    model = Model(x, Conv2D(4, 1, strides=2)(x))   # sees rows and columns 0, 2, 4, 6
    (note,) = tiling_notes(model)
    assert "skips pixels between windows of its 8x8 input:" in note
    assert "4 row(s) and 4 column(s) are never seen, 48 pixels per channel dropped" in note
    x = Input((7, 7, 2))
    (note,) = tiling_notes(Model(x, Conv2D(4, 3, strides=3)(x)))   # the notes' example
    assert "the last 1 row(s) and 1 column(s) are never seen, 13 pixels" in note


def test_netvlad_counts_every_position():
    from svertka.layers import NetVLAD

    x = Input((7, 7, 64))
    model = Model(x, NetVLAD(16)(x))
    assert multiply_accumulates(model._nodes[0]) == 49 * 2 * 64 * 16
