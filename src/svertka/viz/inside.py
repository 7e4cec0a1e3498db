"""What a network holds and computes: its filters as pictures, and the feature maps an image
makes (SPEC §8, "how a deep network sees": edges and colours in layer 1, parts further up).

Each function returns a small result whose arrays are what its ``.plot()`` draws, so that the
numbers can be checked without looking at pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from svertka.viz import _model
from svertka.viz._figure import _figure, _grid_axes, _save

FILTER_MODES = ("auto", "rgb", "channels", "norm")


@dataclass
class Filters:
    """The kernels of one convolution, arranged for display.

    ``kernel``: the layer's weights, (KH, KW, C_in, C_out). ``images`` by ``mode``:
    ``'rgb'``: (C_out, KH, KW, 3), each filter scaled to [0, 1] over its own values (the first
    layer of a colour network, as in the notes' pictures of AlexNet's layer 1); ``'channels'``:
    (C_out, C_in, KH, KW), the raw weights, one small picture per input channel; ``'norm'``:
    (C_out, KH, KW), each tap's L2 norm over the input channels (a summary for deep layers).
    """

    layer: str
    mode: str
    kernel: np.ndarray
    images: np.ndarray

    def plot(self, path=None, max_filters: int = 64):
        """The filters as a grid (rows of input channels in ``'channels'`` mode)."""
        n = min(len(self.images), max_filters)
        if self.mode == "channels":
            cin = min(self.images.shape[1], 16)
            fig = _figure(figsize=(min(0.6 * cin + 1, 12), min(0.6 * n + 1, 14)),
                          layout="constrained")
            axes = fig.subplots(n, cin, squeeze=False)
            lim = float(np.abs(self.images).max()) or 1.0
            for o in range(n):
                for i in range(cin):
                    ax = axes[o, i]
                    ax.imshow(self.images[o, i], cmap="RdBu_r", vmin=-lim, vmax=lim)
                    ax.set_xticks([])
                    ax.set_yticks([])
                axes[o, 0].set_ylabel(str(o), rotation=0, labelpad=8, fontsize=7)
            fig.suptitle(f"{self.layer}: {n} filters x {cin} input channels")
        else:
            fig = _figure(figsize=(6, 6), layout="constrained")
            for o, ax in enumerate(_grid_axes(fig, n)):
                if self.mode == "rgb":
                    ax.imshow(self.images[o], interpolation="nearest")
                else:
                    ax.imshow(self.images[o], cmap="gray", interpolation="nearest")
            what = "colour" if self.mode == "rgb" else "norm over input channels"
            fig.suptitle(f"{self.layer}: {n} filters ({what})")
        return _save(fig, path)


def filters(model, layer=None, mode: str = "auto") -> Filters:
    """The kernels of convolution ``layer`` (name, index or layer; default the first) of
    ``model`` as pictures.

    ``mode='auto'`` shows filters over 3 channels of the image itself in colour, other layers
    per input channel when there are at most 256 small pictures, else as a norm summary.

    >>> import svertka as keras
    >>> m = keras.Sequential([keras.layers.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])
    >>> f = filters(m)
    >>> f.mode, f.images.shape
    ('rgb', (4, 3, 3, 3))
    """
    where = "viz.filters"
    if mode not in FILTER_MODES:
        raise ValueError(f"{where}: argument 'mode' must be one of {FILTER_MODES}, received "
                         f"{mode!r}")
    convs = _model.conv_layers(model)
    if layer is None:
        if not convs:
            raise ValueError(f"{where}: model {model.name!r} has no convolution layer")
        layer = convs[0]
    la = _model.layer_of(model, layer, where)
    if not any(la is c for c in convs):
        raise ValueError(f"{where}: argument 'layer' must be a convolution (a layer with a "
                         f"4-D kernel), received {la.name!r} ({type(la).__name__})")
    w = np.asarray(la.kernel.numpy(), dtype=np.float64)  # (KH, KW, C_in, C_out)
    cin, cout = w.shape[2], w.shape[3]
    if mode == "auto":
        if cin == 3 and la is convs[0]:
            mode = "rgb"
        else:
            mode = "channels" if cin * cout <= 256 else "norm"
    if mode == "rgb":
        if cin != 3:
            raise ValueError(f"{where}: argument 'mode'='rgb' needs a kernel over 3 input "
                             f"channels, received layer {la.name!r} with {cin}")
        per = w.transpose(3, 0, 1, 2)  # (C_out, KH, KW, 3)
        low = per.min(axis=(1, 2, 3), keepdims=True)
        span = per.max(axis=(1, 2, 3), keepdims=True) - low
        images = np.where(span > 0, (per - low) / np.where(span > 0, span, 1), 0.5)
    elif mode == "channels":
        images = w.transpose(3, 2, 0, 1)  # (C_out, C_in, KH, KW)
    else:
        images = np.sqrt((w ** 2).sum(axis=2)).transpose(2, 0, 1)  # (C_out, KH, KW)
    return Filters(la.name, mode, w, images)


@dataclass
class FeatureMaps:
    """The activations of one image: ``maps[layer name]`` is that layer's output, (H, W, C);
    ``image`` is the input, (H, W, C)."""

    image: np.ndarray
    maps: dict = field(default_factory=dict)

    def plot(self, path=None, max_channels: int = 16):
        """One row per layer: the input, then up to ``max_channels`` channels."""
        rows = len(self.maps)
        cols = max_channels + 1
        fig = _figure(figsize=(0.9 * cols, 1.0 * rows + 0.4), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False)
        for r, (name, fmap) in enumerate(self.maps.items()):
            axes[r, 0].imshow(_model.to_display(self.image),
                              cmap="gray" if self.image.shape[-1] == 1 else None)
            axes[r, 0].set_ylabel(name, fontsize=7)
            for c in range(1, cols):
                if c - 1 < fmap.shape[-1]:
                    axes[r, c].imshow(fmap[..., c - 1], cmap="viridis", interpolation="nearest")
                else:
                    axes[r, c].axis("off")
            for ax in axes[r]:
                ax.set_xticks([])
                ax.set_yticks([])
        return _save(fig, path)


def feature_maps(model, image, layers=None) -> FeatureMaps:
    """Every channel's activation of ``layers`` (names, indices or layers; default every layer
    whose output is an image) for one ``image`` (H, W, C), in the pixel units the model takes.

    >>> import numpy as np, svertka as keras
    >>> m = keras.Sequential([keras.layers.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, name="c")])
    >>> feature_maps(m, np.zeros((6, 6, 1))).maps["c"].shape
    (4, 4, 2)
    """
    where = "viz.feature_maps"
    x = _model.one_image(model, image, where)
    if layers is None:
        chosen = _model.spatial_layers(model)
    else:
        chosen = [_model.layer_of(model, la, where)
                  for la in (layers if isinstance(layers, (list, tuple)) else [layers])]
    if not chosen:
        raise ValueError(f"{where}: model {model.name!r} has no layer whose output is an image")
    outs = _model.run(_model.cut(model, *chosen), x)
    maps = {}
    for la, y in zip(chosen, outs):
        y = y[0]
        maps[la.name] = y if y.ndim == 3 else y.reshape(1, 1, -1)
    return FeatureMaps(x[0], maps)
