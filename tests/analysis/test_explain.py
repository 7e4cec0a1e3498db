"""svertka.analysis's explainers: the notes' worked examples, and each explainer's working
on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from svertka.analysis import (
    explain_conv,
    explain_pad,
    explain_params,
    explain_pool,
    explain_receptive_field,
    notes_examples,
    parse_matrix,
)

# The notes' printed answers, with where they are printed (seed file: line). Where the notes
# give the data in text and the answer only in a figure, SPEC.md lists the answer.
NOTES_ANSWERS = [
    ("conv-valid-stride-1", "SPEC §2 (seed 000 figure, kernel at line 203)",
     [[4, 3, 4], [2, 4, 3], [2, 3, 4]]),
    ("size-7-kernel-3-stride-1", "seed 000 line 242", 5),
    ("size-7-kernel-3-stride-2", "seed 000 line 244", 3),
    ("size-7-kernel-3-stride-3", "seed 000 line 246", 2.33),
    ("size-5-kernel-3-padding-1-stride-2", "seed 004 lines 257-264 (a 3x3 output)", 3),
    ("same-padding-keeps-28", "seed 004 line 431 (28x28 in, 28x28 out)", 28),
    ("padding-fills", "seed 000 lines 265-271; SPEC §2 for reflect",
     ["00[ABC]00", "AA[ABC]CC", "BA[ABC]CB", "BC[ABC]AB", "CB[ABC]BA"]),
    ("pooling-max-avg-min-sum", "SPEC §3 (map at seed 004 lines 367-370)",
     [[[6, 6], [4, 4]], [[5.25, 5.25], [3, 3]], [[4, 4], [2, 2]], [[21, 21], [12, 12]]]),
    ("params-3x3-1-to-32", "seed 004 line 431", 320),
    ("params-3x3-32-to-64", "seed 004 line 433", 18496),
    ("params-notes-model", "seed 004 lines 431-441",
     [320, 0, 18496, 0, 0, 401536, 1290, 421642]),
    ("receptive-field-3x3-stack", "seed 002 lines 28-30", [3, 5, 7]),
]


@pytest.fixture(scope="module")
def report():
    return notes_examples()


@pytest.mark.parametrize("name, source, answer", NOTES_ANSWERS, ids=[a[0] for a in NOTES_ANSWERS])
def test_notes_example_reproduces_the_notes_number(report, name, source, answer):
    example = report[name]
    if isinstance(answer, list) and isinstance(answer[0], str):
        assert example.computed == answer
    else:
        np.testing.assert_allclose(np.asarray(example.computed, float), answer, atol=5e-3)
    assert example.agrees
    assert name in report.text()


def test_notes_misprinted_padding_stride_example_is_explained(report):
    """Seed 004 lines 252-262 print [[1,6,5],[7,10,9],[7,10,8]] for the one-channel input and
    kernel it shows; the sums of products give [[1,5,6],[7,8,3],[3,10,4]] (the figure's known
    erratum, vdumoulin/conv_arithmetic#17)."""
    example = report["conv-padding-1-stride-2"]
    assert example.notes == [[1, 6, 5], [7, 10, 9], [7, 10, 8]]
    assert example.computed == [[1, 5, 6], [7, 8, 3], [3, 10, 4]]
    assert not example.agrees
    assert "issue #17" in example.note and "[1,2] 9 vs 3" in example.note
    assert "y[0,1] = 0*2 + 0*0 + 0*1 + 2*1 + 3*0 + 3*0 + 1*0 + 3*1 + 0*1 = 5" in example.text()


def test_notes_examples_cover_every_kind(report):
    names = {e.name for e in report.examples}
    assert {a[0] for a in NOTES_ANSWERS} | {"conv-padding-1-stride-2"} == names
    assert "12 of 13 worked examples agree" in report.text()


def test_conv_text_on_a_hand_computed_case():
    text = explain_conv("1 2; 3 4", "1 0; 0 1").text()
    assert "y[0,0] = 1*1 + 2*0 + 3*0 + 4*1 = 5" in text
    assert text.endswith("output (svertka.ops.conv2d):\n  5")


def _naive(xp, w, s, d):
    """Cross-correlation of a padded (H, W, C) input with (KH, KW, C), written out here."""
    kh, kw, _ = w.shape
    oh = (xp.shape[0] - d * (kh - 1) - 1) // s + 1
    ow = (xp.shape[1] - d * (kw - 1) - 1) // s + 1
    return np.array([[sum(xp[i * s + d * a, j * s + d * b, c] * w[a, b, c]
                          for a in range(kh) for b in range(kw) for c in range(w.shape[2]))
                      for j in range(ow)] for i in range(oh)])


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2),
                                                      (2, "same", 1)])
def test_conv_working_and_output_agree_with_a_naive_loop(stride, padding, dilation):
    rng = np.random.default_rng(0)
    x, w = rng.integers(-3, 4, (6, 5, 2)), rng.integers(-2, 3, (3, 3, 2))
    r = explain_conv(x, w, stride, padding, dilation=dilation, bias=0.5)
    np.testing.assert_allclose(r.output, _naive(r.padded, w, stride, dilation) + 0.5, atol=1e-4)
    np.testing.assert_allclose(r.sums, r.output, atol=1e-4)
    assert r.agrees and len(r.working) == r.output.size
    assert "channel 1:" in r.text() and "+ bias 0.5" in r.text()


def test_conv_mirror_alias_pads_symmetric_with_a_note():
    r = explain_conv("1 2 3; 4 5 6; 7 8 9", "1", padding=1, mode="mirror")
    assert r.mode == "symmetric" and "'symmetric'" in r.note
    # symmetric padding repeats the edge pixel: the first padded row is the first row
    np.testing.assert_array_equal(r.output, [[1, 1, 2, 3, 3], [1, 1, 2, 3, 3], [4, 4, 5, 6, 6],
                                             [7, 7, 8, 9, 9], [7, 7, 8, 9, 9]])


def test_pad_row_text_for_each_fill():
    text = explain_pad("1 2 3", 2).text().splitlines()
    assert text[1:] == ["zeros      0 0 [1 2 3] 0 0", "replicate  1 1 [1 2 3] 3 3",
                        "reflect    3 2 [1 2 3] 2 1", "symmetric  2 1 [1 2 3] 3 2",
                        "circular   2 3 [1 2 3] 1 2"]


def test_pad_matrix_and_aliases():
    r = explain_pad("1 2; 3 4", 1, ["cyclic"])
    np.testing.assert_array_equal(r.results["circular"], [[4, 3, 4, 3], [2, 1, 2, 1],
                                                          [4, 3, 4, 3], [2, 1, 2, 1]])
    assert "svertka's 'circular'" in r.text()


def test_pool_windows_and_values_by_hand():
    r = explain_pool("1 2 3; 4 5 6; 7 8 9", 2, 1)
    np.testing.assert_array_equal(r.results["max"], [[5, 6], [8, 9]])
    np.testing.assert_array_equal(r.results["avg"], [[3, 4], [6, 7]])
    np.testing.assert_array_equal(r.results["min"], [[1, 2], [4, 5]])
    np.testing.assert_array_equal(r.results["sum"], [[12, 16], [24, 28]])
    assert r.agrees
    assert "window [1,1] = [5 6; 8 9] -> max 9, avg 7, min 5, sum 28" in r.text()


def test_params_of_one_layer_and_of_a_zoo_model():
    assert explain_params(kernel=5, channels=3, filters=6).text() == (
        "conv 5x5, 3 -> 6: ((2d+1)^2 * C + 1) * T = ((2*2+1)^2 * 3 + 1) * 6 = 456")
    from svertka import zoo

    model = zoo.get("resnet20")
    assert explain_params(model).total == model.count_params()


def test_receptive_field_of_the_notes_model_by_hand():
    # conv 3x3: 3; pool 2/2: 3 + 1*1 = 4 (jump 2); conv 3x3: 4 + 2*2 = 8; pool: 8 + 1*2 = 10
    r = explain_receptive_field("notes")
    assert [s for s in r.sizes][:5] == [(3, 3), (4, 4), (8, 8), (10, 10), None]
    assert "size = 4 + (3-1)*2 = 8, jump = 2*1 = 2" in r.text()


def test_receptive_field_of_a_dilated_and_strided_stack():
    r = explain_receptive_field([(3, 2), (3, 1, 2)])
    assert r.sizes == [(3, 3), (11, 11)]  # 1 + 2*1 = 3 (jump 2); 3 + (5-1)*2 = 11


@pytest.mark.parametrize("call, message", [
    (lambda: parse_matrix("1 2; 3", "f", "x"), "rectangular"),
    (lambda: parse_matrix("1 a", "f", "x"), "must be numbers"),
    (lambda: parse_matrix("1 nan", "f", "x"), "finite"),
    (lambda: explain_conv(np.ones((3, 3, 2)), np.ones((2, 2))), "one slice per input channel"),
    (lambda: explain_conv("1 2; 3 4", "1", mode="wrap"), "argument 'mode' must be one of"),
    (lambda: explain_conv("1 2; 3 4", "1", strides=0), "strides"),
    (lambda: explain_pad("1 2", 3, "reflect"), "pad"),
    (lambda: explain_pool("1 2; 3 4", modes="median"), "max, avg, min, sum"),
    (lambda: explain_params(kernel=3), "give a model"),
    (lambda: explain_params("lenet"), "argument 'model' must be"),
    (lambda: explain_receptive_field([]), "at least one window"),
    (lambda: explain_receptive_field([(3, 0)]), "stride"),
    (lambda: explain_receptive_field([(3, 1, 1, 1)]), "each window"),
])
def test_bad_input_gives_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
