"""summary's Keras 3 arguments (show_trainable, layer_range, expand_nested) and the exact count
of the input pixels a window never reads (Keras's documented behaviour, no Keras needed)."""

import pytest

import svertka
from svertka.layers import BatchNormalization, Conv2D, Dense, Flatten, Input, MaxPooling2D
from svertka.models import Model
from svertka.models.summary import summary_text, tiling_notes, unseen_pixels


def rows(text):
    """The table's rows as lists of cells (cells are separated by 3+ spaces)."""
    import re

    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("===")]
    return [re.split(r"\s{3,}", line.strip()) for line in lines[rules[1] + 1:rules[2]]]


def three_layers():
    model = svertka.Sequential([Conv2D(2, 3, input_shape=(6, 6, 1), name="conv"),
                                BatchNormalization(name="bn"), MaxPooling2D(2, name="pool"),
                                Flatten(name="flat"), Dense(3, name="dense")])
    model.get_layer("bn").trainable = False
    return model


def test_show_trainable_adds_keras_trainable_column():
    text = summary_text(three_layers(), show_trainable=True)
    assert text.splitlines()[2].split()[-1] == "Trainable"
    assert [(r[0], r[-1]) for r in rows(text)] == [
        ("conv (Conv2D)", "Y"), ("bn (BatchNormalization)", "N"), ("pool (MaxPooling2D)", "-"),
        ("flat (Flatten)", "-"), ("dense (Dense)", "Y")]
    assert "Trainable" not in summary_text(three_layers()).splitlines()[2]


def test_footer_has_keras_three_parameter_lines():
    lines = summary_text(three_layers()).splitlines()
    # conv 3*3*1*2 + 2 = 20, batch norm 4*2 = 8 (none trainable here), dense 8*3 + 3 = 27
    assert "Total params: 55" in lines
    assert "Trainable params: 47" in lines
    assert "Non-trainable params: 8" in lines


def test_layer_range_keeps_rows_between_two_name_patterns_but_totals_the_whole_model():
    text = summary_text(three_layers(), layer_range=["bn", "fl"])  # re.match, as Keras
    assert [r[0] for r in rows(text)] == ["bn (BatchNormalization)", "pool (MaxPooling2D)",
                                          "flat (Flatten)"]
    assert "Total params: 55" in text
    reversed_ends = summary_text(three_layers(), layer_range=("pool", "conv"))
    assert [r[0] for r in rows(reversed_ends)] == ["conv (Conv2D)", "bn (BatchNormalization)",
                                                   "pool (MaxPooling2D)"]
    with pytest.raises(ValueError, match=r"summary: argument 'layer_range' \['x', 'dense'\] "
                                         r"matches no layer"):
        summary_text(three_layers(), layer_range=["x", "dense"])
    with pytest.raises(ValueError, match="argument 'layer_range' must be a list or tuple of two"):
        summary_text(three_layers(), layer_range="conv")


def test_expand_nested_lists_an_inner_models_layers_under_it():
    inner_in = Input((4,))
    inner = Model(inner_in, Dense(3, name="inner_dense")(Dense(5, name="inner_hidden")(inner_in)),
                  name="block")
    x = Input((4,))
    outer = Model(x, Dense(2, name="head")(inner(x)))
    flat = [r[0] for r in rows(summary_text(outer))]
    block = f"block ({type(inner).__name__})"
    assert flat == [block, "head (Dense)"]
    nested = rows(summary_text(outer, expand_nested=True, show_trainable=True))
    assert [r[0] for r in nested] == [block, "\u2514 inner_hidden (Dense)",
                                      "\u2514 inner_dense (Dense)", "head (Dense)"]
    assert nested[1][1:3] == ["(None, 5)", "25"]


@pytest.mark.parametrize("size, kernel, stride, dilation, pads, unseen", [
    (32, 1, 2, 1, (0, 0), list(range(1, 32, 2))),    # the 1x1 stride-2 shortcut
    (7, 3, 3, 1, (0, 0), [6]),                       # the notes' example
    (7, 3, 3, 1, (0, 1), [6]),                       # the pad is unseen too; not counted
    (8, 1, 2, 1, (1, 1), [0, 2, 4, 6]),              # padding shifts the windows
    (9, 2, 2, 2, (0, 0), [1, 3, 5, 7]),              # dilation 2: taps 0,2 / 2,4 / .. / 6,8
    (8, 3, 1, 1, (1, 1), []),                        # 'same' 3x3 stride 1 tiles
])
def test_unseen_pixels_are_the_input_positions_no_tap_reads(size, kernel, stride, dilation,
                                                            pads, unseen):
    span = dilation * (kernel - 1)
    padded = size + sum(pads)
    read = {start + tap * dilation - pads[0] for start in range(0, padded - span, stride)
            for tap in range(kernel)}
    assert unseen_pixels(size, kernel, stride, dilation, pads) == \
        [i for i in range(size) if i not in read]
    assert unseen_pixels(size, kernel, stride, dilation, pads) == unseen


def test_a_stride_larger_than_the_kernel_counts_every_skipped_pixel():
    # issue 22: a 1x1 stride-2 shortcut on 32x32 reads 16x16 pixels: 768 of 1,024 never seen
    x = Input((32, 32, 8))
    (note,) = tiling_notes(Model(x, Conv2D(16, 1, strides=2, name="shortcut")(x)))
    assert "16 row(s) and 16 column(s) are never seen, 768 pixels per channel dropped" in note


def test_padded_pixels_are_not_counted_as_dropped_input():
    x = Input((8, 8, 1))
    (note,) = tiling_notes(Model(x, Conv2D(1, 1, strides=2, padding=1, name="c")(x)))
    # reads padded positions 0, 2, 4, 6, 8: input rows 1, 3, 5, 7; 8*8 - 4*4 = 48 unread
    assert note == ("c: the 1x1 window with stride 2x2 skips pixels between windows of its "
                    "8x8 input (padded to 10x10): 4 row(s) and 4 column(s) are never seen, 48 "
                    "pixels per channel dropped")
    x = Input((7, 7, 1))
    (note,) = tiling_notes(Model(x, Conv2D(1, 3, strides=3, padding=((0, 1), (0, 1)),
                                           name="c")(x)))
    # windows cover padded 0-5 of 8: input row/column 6 unread, 7 + 7 - 1 = 13 pixels
    assert "does not tile its 7x7 input (padded to 8x8): the last 1 row(s) and 1 column(s)" \
        in note and note.endswith("13 pixels per channel dropped")
