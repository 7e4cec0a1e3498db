"""plot_loss draws exactly the recorded losses and writes the picture."""

import sys

import numpy as np
import pytest

from svertka.callbacks import History
from svertka.viz import plot_loss

pytest.importorskip("matplotlib")


def make_history():
    history = History()
    for epoch, (losses, logs) in enumerate(
        [
            ([2.0, 1.5, 1.2], {"loss": 1.57, "val_loss": 1.3}),
            ([1.0, 0.8, np.float32(0.7)], {"loss": 0.83, "val_loss": 0.9}),
        ]
    ):
        for batch, loss in enumerate(losses):
            history.on_train_batch_end(batch, {"loss": loss})
        history.on_epoch_end(epoch, logs)
    return history


def lines_by_label(ax):
    return {line.get_label(): line for line in ax.lines}


def test_plots_iterations_and_epochs_and_writes_png(tmp_path):
    history = make_history()
    path = tmp_path / "loss.png"
    fig = plot_loss(history, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    it_ax, ep_ax = fig.axes
    (line,) = it_ax.lines
    np.testing.assert_allclose(line.get_xdata(), np.arange(1, 7))
    np.testing.assert_allclose(line.get_ydata(), history.batch_losses)
    assert it_ax.get_xlabel() == "iteration" and ep_ax.get_xlabel() == "epoch"
    curves = lines_by_label(ep_ax)
    assert sorted(curves) == ["loss", "val_loss"]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(curves[key].get_xdata(), [1, 2])
        np.testing.assert_allclose(curves[key].get_ydata(), history.history[key])


def test_epoch_only_and_other_inputs(tmp_path):
    fig = plot_loss(make_history(), per_iteration=False)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "epoch" and len(ax.lines) == 2
    fig = plot_loss({"loss": [0.9, 0.5, 0.4], "accuracy": [0.1, 0.2, 0.3]})  # Keras's dict
    (ax,) = fig.axes
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(line.get_ydata(), [0.9, 0.5, 0.4])
    fig = plot_loss([3.0, 2.0, 1.5], tmp_path / "it.svg")  # per-iteration losses only
    (ax,) = fig.axes
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [3.0, 2.0, 1.5])
    assert (tmp_path / "it.svg").read_text().lstrip().startswith("<?xml")


def test_continued_history_keeps_its_epoch_numbers():
    history = History()
    for epoch in (3, 4):  # a run resumed at initial_epoch=3
        history.on_epoch_end(epoch, {"loss": 1.0 / epoch})
    (ax,) = plot_loss(history).axes
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [4, 5])


def test_leaves_pyplot_alone():
    plot_loss([1.0, 0.5])
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_errors():
    with pytest.raises(ValueError, match="plot_loss: argument 'history' holds no loss"):
        plot_loss(History())
    with pytest.raises(ValueError, match="holds no loss"):
        plot_loss({"accuracy": [0.5]})
    with pytest.raises(TypeError, match="plot_loss: argument 'history' must be .* received int"):
        plot_loss(3)


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"pip install svertka\[plot\].*pip install matplotlib"):
        plot_loss([1.0])
