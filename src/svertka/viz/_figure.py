"""The one way svertka.viz makes a figure: matplotlib's Agg canvas, outside pyplot."""

from __future__ import annotations

import os


def _figure(**kwargs):
    """A matplotlib Figure drawn by the non-interactive Agg canvas.

    pyplot is left alone: no backend switch, no global figure list that grows with each call,
    and it works headless. Jupyter still displays the returned Figure.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "svertka.viz needs matplotlib to draw: pip install svertka[plot] (or pip install "
            "matplotlib)"
        ) from None
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    """Save ``fig`` to ``path`` (format from the extension) when given; return ``fig``."""
    if path is not None:
        fig.savefig(os.fspath(path))
    return fig


def _grid_axes(fig, n: int, cols: int | None = None):
    """``n`` axes in a near-square grid (extra axes removed), ticks off."""
    import math

    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    for ax in axes[:n]:
        ax.set_xticks([])
        ax.set_yticks([])
    return axes[:n]
