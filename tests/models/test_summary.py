import re

import svertka
from svertka.layers import Conv2D, Input, MaxPooling2D
from svertka.layers.base import reset_names
from svertka.zoo import notes_cnn


def notes_model():
    reset_names()
    return notes_cnn()  # the SPEC §7 model, written out in svertka.zoo


SPEC_7 = [
    ("conv2d (Conv2D)", "(None, 28, 28, 32)", "320"),
    ("max_pooling2d (MaxPooling2D)", "(None, 14, 14, 32)", "0"),
    ("conv2d_1 (Conv2D)", "(None, 14, 14, 64)", "18,496"),
    ("max_pooling2d_1 (MaxPooling2D)", "(None, 7, 7, 64)", "0"),
    ("flatten (Flatten)", "(None, 3136)", "0"),
    ("dense (Dense)", "(None, 128)", "401,536"),
    ("dense_1 (Dense)", "(None, 10)", "1,290"),
]


def summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines[0].splitlines()


def test_notes_model_summary_matches_spec_7():
    lines = summary_lines(notes_model())
    rows = [re.match(r"^(\S+ \(\w+\))\s+(\(.*?\))\s+([\d,]+)", line) for line in lines]
    table = [m.groups() for m in rows if m]
    assert table == SPEC_7
    assert "Total params: 421,642" in lines
    assert "Trainable params: 421,642" in lines
    assert "Non-trainable params: 0" in lines
    assert lines[0] == 'Model: "sequential"'


def test_receptive_fields_of_the_notes_model():
    lines = summary_lines(notes_model())
    fields = {line.split()[0]: line.split("   ")[-1].strip() for line in lines
              if line.startswith(("conv2d", "max_pooling2d", "flatten"))}
    # 3x3 conv: 3; 2x2/2 pool: 4 (jump 2); 3x3 conv at jump 2: 8; pool: 10 (jump 4)
    assert fields == {"conv2d": "3x3 (jump 1)", "max_pooling2d": "4x4 (jump 2)",
                      "conv2d_1": "8x8 (jump 2)", "max_pooling2d_1": "10x10 (jump 4)",
                      "flatten": "whole input"}


def test_stacked_3x3_convolutions_see_3_5_7_and_dilation_grows_it():
    reset_names()
    x = Input((32, 32, 1))
    y = Conv2D(1, 3)(x)
    y = Conv2D(1, 3)(y)
    y = Conv2D(1, 3)(y)
    y = Conv2D(1, 3, dilation_rate=2)(y)
    lines = summary_lines(svertka.Model(x, y))
    fields = [line.split("   ")[-1].strip() for line in lines if line.startswith("conv2d")]
    assert fields == ["3x3 (jump 1)", "5x5 (jump 1)", "7x7 (jump 1)", "11x11 (jump 1)"]


def test_summary_says_which_windows_drop_pixels():
    reset_names()
    model = svertka.Sequential([Conv2D(1, 3, strides=3, input_shape=(7, 7, 1)),
                                MaxPooling2D(2)])
    text = "\n".join(summary_lines(model))
    assert "Windows that do not tile their input" in text
    # N=7, F=3, stride 3: one row and one column are never seen -> 7 + 7 - 1 = 13 pixels
    assert "conv2d: the 3x3 window with stride 3x3 does not tile its 7x7" in text
    assert "13 pixels per channel dropped" in text
    # 2x2 output pooled by 2x2/2 tiles exactly: no line for it
    assert "max_pooling2d:" not in text


def test_non_trainable_params_are_counted_apart():
    from svertka.layers import BatchNormalization

    reset_names()
    model = svertka.Sequential([Conv2D(4, 3, input_shape=(8, 8, 2)), BatchNormalization()])
    lines = summary_lines(model)
    assert "Total params: 92" in lines  # 3*3*2*4 + 4 = 76 conv, 16 batch norm
    assert "Trainable params: 84" in lines
    assert "Non-trainable params: 8" in lines


def test_summary_of_an_unbuilt_sequential_lists_its_layers_as_keras_does():
    import svertka
    from svertka.layers import Conv2D, Dense
    from svertka.models.summary import summary_text

    text = summary_text(svertka.Sequential([Conv2D(2, 3, name="c"), Dense(2, name="d")]))
    rows = [line.split() for line in text.splitlines() if "(unbuilt)" in line]
    assert [r[:3] for r in rows] == [["c", "(Conv2D)", "?"], ["d", "(Dense)", "?"]]
    assert "Total params: 0" in text
    assert "Layer (type)" in summary_text(svertka.Sequential([]))
