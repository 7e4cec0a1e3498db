"""Which input a network responds to: activation maximisation (what a filter "wants to see"),
saliency (Simonyan et al. 2014) and Grad-CAM (Selvaraju et al. 2017), by svertka's autograd:
gradients of an activation or a class score with respect to the input or a layer's output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svertka.viz import _model
from svertka.viz._figure import _figure, _save

# standard deviations of the random start, as fractions of the pixel range: the first whose
# image gives the channel a positive activation is used (a channel silent on a flat grey
# image has no gradient to climb)
START_SPREADS = (0.02, 0.05, 0.1, 0.2, 0.4)


def _blur(x: np.ndarray) -> np.ndarray:
    """A [1, 2, 1] / 4 blur along H and W of (1, H, W, C), edges repeated."""
    for axis in (1, 2):
        p = np.pad(x, [(1, 1) if a == axis else (0, 0) for a in range(4)], mode="edge")
        lo = np.take(p, range(0, x.shape[axis]), axis=axis)
        mid = np.take(p, range(1, x.shape[axis] + 1), axis=axis)
        hi = np.take(p, range(2, x.shape[axis] + 2), axis=axis)
        x = (lo + 2 * mid + hi) / 4
    return x


def _objective(y, channel, position=None):
    """The mean activation of ``channel`` (over positions for an image output), or its
    activation at ``position`` (row, column): one neuron."""
    if y.ndim == 4 and position is not None:
        return y[:, position[0], position[1], channel].sum()
    if y.ndim == 4:
        return y[:, :, :, channel].mean()
    return y[:, channel].mean()


@dataclass
class Maximized:
    """The input found by gradient ascent: ``image`` (H, W, C, in the model's pixel units),
    ``start`` (the random image it began from), the mean activation of the channel for each
    (``start_activation``, ``activation``) and after each step (``history``)."""

    layer: str
    channel: int
    image: np.ndarray
    start: np.ndarray
    start_activation: float
    activation: float
    history: np.ndarray
    value_range: tuple

    def plot(self, path=None):
        """The random start and the image that excites the channel, side by side."""
        fig = _figure(figsize=(6, 3.2), layout="constrained")
        grey = self.image.shape[-1] == 1
        for ax, img, title in zip(fig.subplots(1, 2), (self.start, self.image),
                                  (f"start: {self.start_activation:.3g}",
                                   f"maximised: {self.activation:.3g}")):
            ax.imshow(_model.to_display(img), cmap="gray" if grey else None)
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"{self.layer}, channel {self.channel}")
        return _save(fig, path)


def maximize(model, layer, channel: int, steps: int = 128, step_size: float = 0.05,
             jitter: int = 2, blur_every: int = 4, seed: int = 0,
             value_range=None, position=None) -> Maximized:
    """The input that most excites ``channel`` of ``layer`` (its mean over positions):
    gradient ascent on the image, regularised as in Olah et al., "Feature Visualization"
    (Distill 2017). The start is grey with faint noise (``START_SPREADS``); each step sees the
    image shifted by up to ``jitter`` pixels (so the picture cannot rely on exact pixel
    positions), and every ``blur_every`` steps it is blurred a little (so it keeps few high
    frequencies). Each step moves by ``step_size`` of the pixel range, along the gradient
    divided by its mean magnitude, and keeps pixels inside ``value_range`` (default: 0-255 for
    a model that rescales its input itself, else 0-1). The best image met is returned.

    ``position``: None maximises the channel's mean over all positions (a texture for deep
    layers); ``(row, column)`` or ``'center'`` one neuron, which shows a first layer's
    preferred pattern inside its receptive field (the channel mean of a first layer is often
    maximised by a flat image). A neuron's image is not jittered: a shift would move the
    image under it.

    >>> import svertka as keras
    >>> m = keras.Sequential([keras.layers.Input((8, 8, 1)),
    ...                       keras.layers.Conv2D(2, 3, activation="relu", name="c")])
    >>> r = maximize(m, "c", 1, steps=20)
    >>> r.activation > r.start_activation
    True
    """
    from svertka.autograd import Tensor, no_grad

    where = "viz.maximize"
    la = _model.layer_of(model, layer, where)
    sub = _model.cut(model, la)
    channels = sub.output_shape[-1]
    if not isinstance(channel, (int, np.integer)) or not 0 <= channel < channels:
        raise ValueError(f"{where}: argument 'channel' must be an int in [0, {channels}) for "
                         f"layer {la.name!r}, received {channel!r}")
    for name, value, low in (("steps", steps, 1), ("jitter", jitter, 0),
                             ("blur_every", blur_every, 0)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{where}: argument {name!r} must be an int >= {low}, received "
                             f"{value!r}")
    shape_out = sub.output_shape
    if position is not None:
        if len(shape_out) != 4:
            raise ValueError(f"{where}: argument 'position' needs a layer whose output is an "
                             f"image, received {la.name!r} with output shape {shape_out}")
        if isinstance(position, str) and position == "center":
            position = (shape_out[1] // 2, shape_out[2] // 2)
        position, jitter = tuple(int(p) for p in position), 0
        if len(position) != 2 or not all(0 <= p < n for p, n in zip(position, shape_out[1:3])):
            raise ValueError(f"{where}: argument 'position' must be 'center' or a (row, column) "
                             f"inside the {shape_out[1]}x{shape_out[2]} output of {la.name!r}, "
                             f"received {position}")
    low, high = value_range if value_range is not None else _model.pixel_range(model)
    span = high - low
    rng = np.random.default_rng(seed)
    shape = (1, *model.input_shape[1:])
    noise = rng.standard_normal(shape)

    def activation(img):
        with no_grad():
            return float(_objective(sub(img, training=False), channel, position).item())

    for spread in START_SPREADS:  # the faintest noise that the channel responds to at all
        start = (low + span * (0.5 + spread * noise)).clip(low, high).astype(np.float32)
        if activation(start) > 0:
            break
    x, best, best_value = start, start, -np.inf
    history = []
    for step in range(steps):
        dy, dx = rng.integers(-jitter, jitter + 1, size=2) if jitter else (0, 0)
        t = Tensor(np.roll(x, (dy, dx), axis=(1, 2)), requires_grad=True)
        value = _objective(sub(t, training=False), channel, position)
        value.backward()
        g = np.roll(np.asarray(t.grad), (-dy, -dx), axis=(1, 2))
        history.append(float(value.item()))
        if history[-1] > best_value:
            best, best_value = x, history[-1]
        x = x + step_size * span * g / (np.abs(g).mean() + 1e-12)
        if blur_every and (step + 1) % blur_every == 0:
            x = _blur(x)
        x = x.clip(low, high).astype(np.float32)
    if activation(x) < activation(best):  # the last steps' blur or clipping lost ground
        x = best
    return Maximized(la.name, int(channel), x[0], start[0], activation(start), activation(x),
                     np.array(history), (low, high))


def _target_class(scores: np.ndarray, class_index, where: str) -> int:
    n = scores.shape[-1]
    if class_index is None:
        return int(np.argmax(scores[0]))
    if not isinstance(class_index, (int, np.integer)) or not 0 <= class_index < n:
        raise ValueError(f"{where}: argument 'class_index' must be an int in [0, {n}), received "
                         f"{class_index!r}")
    return int(class_index)


@dataclass
class Attribution:
    """A heat map over the input: ``heatmap`` (H, W), in [0, 1], for class ``class_index``;
    ``image`` the input (H, W, C). For Grad-CAM, ``cam`` is the map at the layer's own
    resolution before upsampling, and ``layer`` names that layer."""

    method: str
    image: np.ndarray
    heatmap: np.ndarray
    class_index: int
    score: float
    layer: str | None = None
    cam: np.ndarray | None = None

    def plot(self, path=None, alpha: float = 0.5):
        """The image, and the heat map laid over it."""
        fig = _figure(figsize=(6, 3.2), layout="constrained")
        grey = self.image.shape[-1] == 1
        ax1, ax2 = fig.subplots(1, 2)
        for ax in (ax1, ax2):
            ax.imshow(_model.to_display(self.image), cmap="gray" if grey else None)
            ax.set_xticks([])
            ax.set_yticks([])
        ax2.imshow(self.heatmap, cmap="jet", alpha=alpha, vmin=0, vmax=1)
        ax1.set_title("input", fontsize=9)
        where = f" at {self.layer}" if self.layer else ""
        ax2.set_title(f"{self.method}{where}, class {self.class_index}", fontsize=9)
        return _save(fig, path)


def _normalised(m: np.ndarray) -> np.ndarray:
    top = m.max()
    return m / top if top > 0 else np.zeros_like(m)


def saliency(model, image, class_index: int | None = None) -> Attribution:
    """Simonyan et al.'s saliency map: how much each pixel moves the class score, the largest
    absolute gradient over its channels, scaled to [0, 1]. The class defaults to the predicted
    one; the score is the logit where the model ends in a softmax Dense.

    >>> import numpy as np, svertka as keras
    >>> m = keras.Sequential([keras.layers.Input((4, 4, 1)), keras.layers.Flatten(),
    ...                       keras.layers.Dense(2, activation="softmax")])
    >>> saliency(m, np.ones((4, 4, 1))).heatmap.shape
    (4, 4)
    """
    from svertka.autograd import Tensor
    from svertka.models.model import Model

    where = "viz.saliency"
    x = _model.one_image(model, image, where)
    features, head = _model.score_model(model)
    sub = Model(inputs=model.input, outputs=features)
    t = Tensor(x, requires_grad=True)
    scores = head(sub(t, training=False))
    c = _target_class(scores.numpy(), class_index, where)
    scores[:, c].sum().backward()
    g = np.abs(np.asarray(t.grad)[0]).max(axis=-1)  # (H, W)
    return Attribution("saliency", x[0], _normalised(g), c, float(scores.numpy()[0, c]))


def _upsample(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (h, w) to ``size``, pixel centres aligned (as cv2.resize does)."""
    h, w = cam.shape
    out_h, out_w = size

    def coords(n_in, n_out):
        c = ((np.arange(n_out) + 0.5) * n_in / n_out - 0.5).clip(0, n_in - 1)
        lo = np.floor(c).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, c - lo

    y0, y1, fy = coords(h, out_h)
    x0, x1, fx = coords(w, out_w)
    top = cam[y0][:, x0] * (1 - fx) + cam[y0][:, x1] * fx
    bottom = cam[y1][:, x0] * (1 - fx) + cam[y1][:, x1] * fx
    return top * (1 - fy[:, None]) + bottom * fy[:, None]


def grad_cam(model, image, layer=None, class_index: int | None = None) -> Attribution:
    """Grad-CAM (Selvaraju et al. 2017): the feature maps of ``layer`` (default: the last layer
    whose output is an image of more than one pixel: LeNet-5's C5 is 1x1, a map with nowhere
    to point) weighted by the mean gradient of the class score over each map,
    summed, ReLU'd, scaled to [0, 1] and upsampled to the image. The class defaults to the
    predicted one; the score is the logit where the model ends in a softmax Dense.

    >>> import numpy as np, svertka as keras
    >>> m = keras.Sequential([keras.layers.Input((6, 6, 1)), keras.layers.Conv2D(2, 3),
    ...                       keras.layers.Flatten(), keras.layers.Dense(2)])
    >>> r = grad_cam(m, np.ones((6, 6, 1)))
    >>> r.cam.shape, r.heatmap.shape
    ((4, 4), (6, 6))
    """
    from svertka.autograd import Tensor
    from svertka.models.model import Model

    where = "viz.grad_cam"
    x = _model.one_image(model, image, where)
    if layer is None:
        spatial = [n.layer for n in model._nodes
                   if len(n.shape) == 4 and n.shape[1] * n.shape[2] > 1]
        if not spatial:
            raise ValueError(f"{where}: model {model.name!r} has no layer whose output is an "
                             f"image of more than one pixel")
        la = spatial[-1]
    else:
        la = _model.layer_of(model, layer, where)
    node = _model.node_of(model, la)
    if len(node.shape) != 4:
        raise ValueError(f"{where}: argument 'layer' must be a layer whose output is an image "
                         f"(N, H, W, C), received {la.name!r} with output shape {node.shape}")
    features, head = _model.score_model(model)
    sub = Model(inputs=model.input, outputs=[node, features])
    maps, feats = sub(Tensor(x, requires_grad=True), training=False)
    maps.retain_grad()
    scores = head(feats)
    c = _target_class(scores.numpy(), class_index, where)
    scores[:, c].sum().backward()
    a = np.asarray(maps.numpy())[0]  # (h, w, C)
    g = np.asarray(maps.grad)[0]
    weights = g.mean(axis=(0, 1))  # (C,): alpha_k of the paper
    cam = np.maximum((a * weights).sum(axis=-1), 0)
    heat = _normalised(_upsample(cam, x.shape[1:3]))
    return Attribution("Grad-CAM", x[0], heat, c, float(scores.numpy()[0, c]), la.name,
                       _normalised(cam))
