import pytest

from svertka.analysis import explain_size


@pytest.mark.parametrize("stride, output, dropped", [(1, 5, 0), (2, 3, 0), (3, 2, 1)])
def test_notes_n7_f3(stride, output, dropped):
    report = explain_size(7, 3, stride=stride)
    assert (report.output, report.dropped, report.tiles) == (output, dropped, dropped == 0)


def test_stride_3_reports_the_fraction_and_the_dropped_pixel():
    text = explain_size(7, 3, stride=3).text()
    assert "= 2.33 -> 2" in text
    assert "the last 1 pixel is never seen" in text


def test_same_padding_keeps_the_size_and_dilation_is_explained():
    assert explain_size(28, 3, padding="same").output == 28
    report = explain_size(10, 3, dilation=2)
    assert report.output == 6 and "spans 5 pixels" in report.text()


def test_pooling_formula():
    assert explain_size(4, 2, stride=2).output == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"size": 0, "kernel": 3}, "argument 'size'"),
    ({"size": 5, "kernel": 3, "stride": 0}, "argument 'stride'"),
    ({"size": 5, "kernel": 3, "padding": -1}, "argument 'padding'"),
    ({"size": 2, "kernel": 3}, "the kernel spans 3 pixels"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        explain_size(**kwargs)
