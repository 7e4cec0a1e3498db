"""Training curves: the notes' ``plotLoss``, the loss against iterations and epochs.

``plot_loss`` takes what ``fit`` returns (a ``History``), a Keras-style dict of per-epoch
lists, or a plain sequence of per-iteration losses. Iterations and epochs are counted from 1
on the x axes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from svertka.viz._figure import _figure


def _curves(history) -> tuple[list[float], list[int], dict[str, list[float]]]:
    """(per-iteration losses, epoch numbers from 1, {'loss': [...], 'val_loss': [...]})."""
    if hasattr(history, "history"):
        batch_losses = list(getattr(history, "batch_losses", []))
        logs = history.history
        epochs = [e + 1 for e in getattr(history, "epoch", [])]
    elif isinstance(history, Mapping):
        batch_losses, logs, epochs = [], history, []
    else:
        try:
            batch_losses, logs, epochs = [float(v) for v in history], {}, []
        except TypeError:
            raise TypeError(
                f"plot_loss: argument 'history' must be a History, a dict of per-epoch lists "
                f"or a sequence of losses, received {type(history).__name__}"
            ) from None
    per_epoch = {k: [float(v) for v in logs[k]] for k in ("loss", "val_loss") if logs.get(k)}
    n = max((len(v) for v in per_epoch.values()), default=0)
    if len(epochs) != n:
        epochs = list(range(1, n + 1))
    return [float(v) for v in batch_losses], epochs, per_epoch


def plot_loss(history, path=None, per_iteration: bool = True):
    """Plot the training loss: per iteration (left) and per epoch with ``val_loss`` (right).

    ``history``: the ``History`` that ``fit`` returns (its ``batch_losses`` give the loss of
    every iteration, ``history['loss']`` / ``['val_loss']`` the epoch means), a dict such as
    Keras's ``history.history``, or a sequence of per-iteration losses. ``per_iteration=False``
    draws only the epoch curves. The figure is saved to ``path`` when given (format from the
    extension) and returned either way. It is drawn on matplotlib's Agg canvas outside pyplot, so
    it works headless and ``plt.show()`` does not display it (Jupyter does, as a cell's value).

    >>> fig = plot_loss([2.3, 1.7, 1.2, 0.9])
    >>> fig.axes[0].lines[0].get_ydata().tolist()
    [2.3, 1.7, 1.2, 0.9]
    """
    batch_losses, epochs, per_epoch = _curves(history)
    panels = []
    if per_iteration and batch_losses:
        panels.append("iteration")
    if per_epoch:
        panels.append("epoch")
    if not panels:
        raise ValueError(
            "plot_loss: argument 'history' holds no loss to plot (no per-iteration losses "
            "and no 'loss' or 'val_loss' per epoch)"
        )
    fig = _figure(figsize=(5.5 * len(panels), 4), layout="constrained")
    for ax, panel in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        if panel == "iteration":
            ax.plot(range(1, len(batch_losses) + 1), batch_losses, lw=1, label="loss")
            ax.set_xlabel("iteration")
            ax.set_title("loss per iteration")
        else:
            for key, values in per_epoch.items():
                ax.plot(epochs[: len(values)], values, marker="o", label=key)
            ax.set_xlabel("epoch")
            ax.set_title("loss per epoch")
            ax.legend()
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
    if path is not None:
        fig.savefig(os.fspath(path))
    return fig
