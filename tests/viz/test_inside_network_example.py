"""The quick form of examples/inside_network.py: LeNet-5's pictures from MNIST test images."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))


def test_lenet5_pictures_are_written_small(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from inside_network import lenet5_pictures

    from svertka.datasets.sources import DatasetNotFoundError

    try:
        rows = lenet5_pictures(tmp_path, steps=2)
    except DatasetNotFoundError:
        pytest.skip("mnist is not in $SVERTKA_DATA")
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == ["lenet5_filters_C1.png", "lenet5_filters_C3.png", "lenet5_gradcam.png",
                     "lenet5_maps.png", "lenet5_maximize.png"]
    assert all((tmp_path / n).stat().st_size < 150_000 for n in names)
    assert [r[0] for r in rows] == ["C1"] * 6 + ["C3"] * 8 + ["C5"] * 8
