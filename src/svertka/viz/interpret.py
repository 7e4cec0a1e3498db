"""Where a classifier goes wrong, and what a unit can see: fastai's interpretation pair
(``confusion_matrix``, ``top_losses``) and ``receptive_field``, the input window behind one
position of a layer, drawn on the image (SPEC §8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svertka.models.summary import field_geometry
from svertka.viz import _model
from svertka.viz._figure import _figure, _grid_axes, _save


def _labels(y, n: int, where: str) -> np.ndarray:
    """Class indices from integer labels or one-hot rows."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)
    y = y.reshape(-1)
    if len(y) != n:
        raise ValueError(f"{where}: arguments 'x' and 'y' must hold as many samples, received "
                         f"{n} images and {len(y)} labels")
    return y.astype(np.int64)


def _names(model, classes: int, class_names) -> list[str]:
    names = class_names or getattr(model, "class_names", None) or []
    return [str(names[k]) if k < len(names) else str(k) for k in range(classes)]


@dataclass
class Confusion:
    """``matrix[i, j]``: how many images of class i were predicted as class j."""

    matrix: np.ndarray
    class_names: list

    @property
    def accuracy(self) -> float:
        total = self.matrix.sum()
        return float(np.trace(self.matrix) / total) if total else 0.0

    def most_confused(self, k: int = 5) -> list[tuple[str, str, int]]:
        """The ``k`` largest off-diagonal cells as (actual, predicted, count)."""
        off = self.matrix.copy()
        np.fill_diagonal(off, 0)
        order = np.argsort(-off, axis=None, kind="stable")[:k]
        return [(self.class_names[i], self.class_names[j], int(off[i, j]))
                for i, j in zip(*np.unravel_index(order, off.shape)) if off[i, j] > 0]

    def plot(self, path=None):
        """The matrix as a heat map with its counts."""
        n = len(self.matrix)
        size = min(3 + 0.45 * n, 12)
        fig = _figure(figsize=(size, size), layout="constrained")
        ax = fig.subplots()
        ax.imshow(self.matrix, cmap="Blues")
        if n <= 20:
            top = self.matrix.max() or 1
            for i in range(n):
                for j in range(n):
                    ax.text(j, i, str(self.matrix[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if self.matrix[i, j] > top / 2 else "black")
        ax.set_xticks(range(n), self.class_names, rotation=90, fontsize=7)
        ax.set_yticks(range(n), self.class_names, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("actual")
        ax.set_title(f"accuracy {self.accuracy:.4f}")
        return _save(fig, path)


def confusion_matrix(model, x, y, batch_size: int = 128, class_names=None) -> Confusion:
    """Count actual against predicted (arg max) classes of ``model`` over images ``x`` with
    labels ``y`` (class indices or one-hot rows).

    >>> import numpy as np, svertka as keras
    >>> m = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(2)])
    >>> m.set_weights([np.eye(2, dtype="float32"), np.zeros(2, "float32")])
    >>> confusion_matrix(m, np.array([[1., 0], [0, 1], [0, 1]]), [0, 0, 1]).matrix.tolist()
    [[1, 1], [0, 1]]
    """
    where = "viz.confusion_matrix"
    out = np.asarray(model.predict(np.asarray(x), batch_size=batch_size))
    actual = _labels(y, len(out), where)
    classes = out.shape[-1]
    if len(actual) and (actual.min() < 0 or actual.max() >= classes):
        raise ValueError(f"{where}: argument 'y' must hold classes in [0, {classes}), received "
                         f"labels from {actual.min()} to {actual.max()}")
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (actual, out.argmax(axis=-1)), 1)
    return Confusion(matrix, _names(model, classes, class_names))


def _log_probs(out: np.ndarray) -> np.ndarray:
    """Log-probabilities from probabilities (rows on the simplex) or logits (anything else)."""
    out = out.astype(np.float64)
    if out.min() >= 0 and np.allclose(out.sum(axis=-1), 1, atol=1e-3):
        return np.log(np.clip(out, 1e-12, None))
    shifted = out - out.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@dataclass
class TopLosses:
    """The ``k`` images with the largest cross-entropy, largest first: their ``indices`` in
    ``x``, ``losses``, ``predicted`` and ``actual`` classes, and ``probability`` of the actual
    class; ``images`` are those images."""

    indices: np.ndarray
    losses: np.ndarray
    predicted: np.ndarray
    actual: np.ndarray
    probability: np.ndarray
    images: np.ndarray
    class_names: list

    def plot(self, path=None):
        """The images, each titled predicted / actual / loss / probability of the actual."""
        n = len(self.indices)
        fig = _figure(figsize=(8, 2.2 * max(1, -(-n // 4))), layout="constrained")
        grey = self.images.shape[-1] == 1
        for i, ax in enumerate(_grid_axes(fig, n, cols=min(n, 4))):
            ax.imshow(_model.to_display(self.images[i]), cmap="gray" if grey else None)
            ax.set_title(f"{self.class_names[self.predicted[i]]}/"
                         f"{self.class_names[self.actual[i]]} "
                         f"{self.losses[i]:.2f}/{self.probability[i]:.2f}", fontsize=8)
        fig.suptitle("predicted/actual loss/probability of actual", fontsize=9)
        return _save(fig, path)


def top_losses(model, x, y, k: int = 9, batch_size: int = 128, class_names=None) -> TopLosses:
    """The ``k`` images of ``x`` the model gets most wrong: the largest cross-entropy against
    labels ``y`` (fastai's ``plot_top_losses``); probabilities or logits are both understood.

    >>> import numpy as np, svertka as keras
    >>> m = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(2)])
    >>> m.set_weights([np.eye(2, dtype="float32"), np.zeros(2, "float32")])
    >>> top_losses(m, np.array([[3., 0], [0, 1], [0, 2]]), [0, 0, 1], k=1).indices.tolist()
    [1]
    """
    where = "viz.top_losses"
    x = np.asarray(x)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{where}: argument 'k' must be an int >= 1, received {k!r}")
    out = np.asarray(model.predict(x, batch_size=batch_size))
    actual = _labels(y, len(out), where)
    logp = _log_probs(out)
    losses = -logp[np.arange(len(out)), actual]
    order = np.argsort(-losses, kind="stable")[:k]
    return TopLosses(order, losses[order], out.argmax(axis=-1)[order], actual[order],
                     np.exp(-losses[order]), x[order],
                     _names(model, out.shape[-1], class_names))


@dataclass
class ReceptiveField:
    """The input window that position ``position`` of ``layer`` sees: rows ``top`` to
    ``bottom`` and columns ``left`` to ``right``, end exclusive, as computed (``box``, may
    reach into the padding) and clipped to the image (``clipped``); ``size`` and ``jump`` per
    axis."""

    layer: str
    position: tuple
    size: tuple
    jump: tuple
    box: tuple
    clipped: tuple
    image: np.ndarray | None = None
    input_shape: tuple = ()

    def plot(self, path=None):
        """The field as a rectangle on the image (on an empty frame when there is none)."""
        from matplotlib.patches import Rectangle

        fig = _figure(figsize=(4, 4), layout="constrained")
        ax = fig.subplots()
        h, w = self.input_shape[:2]
        if self.image is not None:
            grey = self.image.shape[-1] == 1
            ax.imshow(_model.to_display(self.image), cmap="gray" if grey else None)
        else:
            ax.imshow(np.zeros((h, w)), cmap="gray", vmin=0, vmax=1)
        top, left, bottom, right = self.box
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top,
                               fill=False, edgecolor="red", lw=2))
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(h - 0.5, -0.5)
        ax.set_title(f"{self.layer} at {self.position}: {self.size[0]}x{self.size[1]} pixels",
                     fontsize=9)
        return _save(fig, path)


def receptive_field(model, layer, position=(0, 0), image=None) -> ReceptiveField:
    """The pixels of the input that decide ``layer``'s output at ``position`` (row, column),
    for drawing on ``image`` (optional, (H, W, C)).

    >>> import svertka as keras
    >>> m = keras.Sequential([keras.layers.Input((9, 9, 1)), keras.layers.Conv2D(1, 3, name="a"),
    ...                       keras.layers.Conv2D(1, 3, strides=2, name="b")])
    >>> r = receptive_field(m, "b", (1, 2))
    >>> r.size, r.box
    ((5, 5), (2, 4, 7, 9))
    """
    where = "viz.receptive_field"
    la = _model.layer_of(model, layer, where)
    node = _model.node_of(model, la)
    geo = field_geometry(model)[id(node)]
    if geo is None:
        raise ValueError(f"{where}: argument 'layer' must be a layer whose output is an image; "
                         f"{la.name!r} (output {node.shape}) sees the whole input")
    position = tuple(int(p) for p in np.broadcast_to(position, (2,)))
    out_h, out_w = node.shape[1:3]
    if not (0 <= position[0] < out_h and 0 <= position[1] < out_w):
        raise ValueError(f"{where}: argument 'position' must be a (row, column) inside the "
                         f"{out_h}x{out_w} output of {la.name!r}, received {position}")
    size, jump, start = geo
    first = tuple(start[a] + position[a] * jump[a] for a in range(2))
    box = (first[0], first[1], first[0] + size[0], first[1] + size[1])
    h, w = model.input_shape[1:3]
    clipped = (max(box[0], 0), max(box[1], 0), min(box[2], h), min(box[3], w))
    img = None if image is None else _model.one_image(model, image, where)[0]
    return ReceptiveField(la.name, position, size, jump, box, clipped, img,
                          tuple(model.input_shape[1:]))
