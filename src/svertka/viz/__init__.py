"""Pictures of a network and its training (SPEC §8, "how a deep network sees").

- ``plot_loss``: the loss per iteration and per epoch (the notes' ``plotLoss``);
- ``filters``, ``feature_maps``: the kernels of a convolution and the maps an image makes;
- ``maximize``: the input a channel responds to most (gradient ascent, Olah et al. 2017);
- ``saliency``, ``grad_cam``: which pixels decide a class (Simonyan et al. 2014, Selvaraju
  et al. 2017);
- ``confusion_matrix``, ``top_losses``: where a classifier goes wrong (fastai's pair);
- ``receptive_field``: the input window behind one position of a layer.

Each returns the arrays it draws (``filters(...).images``, ``grad_cam(...).heatmap``...) and
has ``.plot(path=None)`` giving a matplotlib Figure, saved to ``path`` when given.
matplotlib is an optional dependency (``pip install svertka[plot]``); it is imported only
when something is drawn, so ``import svertka.viz`` and the arrays never need it.
"""

from svertka.viz.attribution import grad_cam, maximize, saliency
from svertka.viz.history import plot_loss
from svertka.viz.inside import feature_maps, filters
from svertka.viz.interpret import confusion_matrix, receptive_field, top_losses

__all__ = ["confusion_matrix", "feature_maps", "filters", "grad_cam", "maximize", "plot_loss",
           "receptive_field", "saliency", "top_losses"]
