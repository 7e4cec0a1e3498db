"""Pictures of a network and its training: loss curves (filters and feature maps to come).

matplotlib is an optional dependency (``pip install svertka[plot]``); it is imported only
when a plotting function is called, so ``import svertka.viz`` never needs it.
"""

from svertka.viz.history import plot_loss

__all__ = ["plot_loss"]
