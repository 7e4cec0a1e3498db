"""What each view of the page shows, computed from a model and one held input: plain
functions from arrays and arguments to JSON-ready dicts, with no web framework in them (the
tests call them directly; ``svertka.serve.app`` only routes requests to them).

- ``model_info``: the layer table (type, output shape, parameters, receptive field);
- ``predict``: the top-k classes;
- ``features``: one layer's output, every channel (the notes' "how a deep network sees");
- ``cell``: how one output cell was computed, from the layer's real input: a convolution's
  window, kernel, products, their sum, the bias and the activation, or a pooling window and
  the value it keeps (``svertka.serve.cells``);
- ``filters``: a convolution's kernels as pictures (``svertka.viz.filters``);
- ``attribution``: Grad-CAM or saliency for a class (``svertka.viz``) over the input.

``where`` in each names the endpoint in error messages; a bad argument is a ValueError.
An image input ``x`` is one sample, (H, W, C), in the units the model takes.
"""

from __future__ import annotations

import numpy as np

from svertka.serve import cells
from svertka.serve.inputs import display, png_url, scale_for
from svertka.viz import _model

FILTER_PIXELS = 48  # a kernel is drawn about this many pixels across


def node_named(model, name, where: str):
    """The graph node of the layer called ``name`` (its first use, for a shared layer)."""
    for node in model._nodes:
        if node.layer.name == name:
            return node
    names = [n.layer.name for n in model._nodes]
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    raise ValueError(f"{where}: argument 'layer' must name a layer of model {model.name!r} "
                     f"({shown}), received {name!r}")


def outputs(model, x: np.ndarray, nodes) -> list[np.ndarray]:
    """What each of ``nodes`` holds for the one input ``x``, without the batch axis (the
    model's input node holds ``x`` itself)."""
    from svertka.models.model import Model

    inner = [n for n in nodes if not any(n is t for t in model.inputs)]
    values = {}
    if inner:
        sub = Model(inputs=model.input, outputs=inner if len(inner) > 1 else inner[0])
        for node, y in zip(inner, _model.run(sub, x[None])):
            values[id(node)] = y[0]
    return [values.get(id(n), x) for n in nodes]


def activation_name(layer) -> str | None:
    """The layer's activation by name (None without one)."""
    a = getattr(layer, "activation", None)
    if a is None or isinstance(a, str):
        return a
    return getattr(a, "__name__", type(a).__name__)


def layer_rows(model) -> list[dict]:
    """One row per layer, in graph order, as ``GET /api/model`` lists them."""
    from svertka.models.summary import field_geometry

    geometry = field_geometry(model)
    rows = []
    for node in model._nodes:
        la, spatial = node.layer, len(node.shape) == 4
        g = geometry.get(id(node))
        rows.append({
            "name": la.name,
            "type": type(la).__name__,
            "output_shape": [int(s) for s in node.shape[1:]],
            "params": int(la.count_params()),
            "receptive_field": None if g is None else {"size": list(g[0]), "jump": list(g[1])},
            "spatial": spatial,
            "cell": cells.kind(la) if spatial else "other",
            "activation": activation_name(la),
        })
    return rows


def model_info(model, name: str, labels: list, kind: str, trainable: bool) -> dict:
    """``GET /api/model``: the model's name, input, classes, kind and layer table."""
    return {"name": name, "input_shape": [int(s) for s in model.input_shape[1:]],
            "classes": list(labels), "kind": kind, "trainable_here": bool(trainable),
            "layers": layer_rows(model)}


def probabilities(out: np.ndarray) -> np.ndarray:
    """Class probabilities from a model's output row: as they are when they already sum to
    one (a softmax output), else the softmax of the scores.

    >>> probabilities(np.array([0.0, np.log(3.0)])).round(3).tolist()
    [0.25, 0.75]
    """
    out = np.asarray(out, dtype=np.float64).reshape(-1)
    if out.min() >= 0 and abs(out.sum() - 1) < 1e-3:
        return out
    e = np.exp(out - out.max())
    return e / e.sum()


def predict(model, x: np.ndarray, labels: list, top: int = 5,
            where: str = "POST /api/predict") -> list[dict]:
    """The ``top`` most probable classes for ``x``, most probable first."""
    p = probabilities(np.asarray(model.predict(x[None]))[0])
    cells.check_index(where, "top", top, len(p) + 1, low=1)
    order = np.argsort(-p, kind="stable")[:top]
    return [{"index": int(k), "label": str(labels[k]), "probability": float(p[k])}
            for k in order]


def input_view(x: np.ndarray, value_range) -> dict:
    """The input as the network receives it: its shape, a picture (grey or colour, scaled up
    to at least 140 pixels, nearest) and channel 0's values, rounded to 4 decimals."""
    picture = png_url(display(x, value_range), scale_for(x.shape))
    return {"shape": [int(s) for s in x.shape], "png": picture,
            "values": np.round(x[..., 0].astype(np.float64), 4).tolist()}


def features(model, x: np.ndarray, layer: str, where: str = "GET /api/features") -> dict:
    """``layer``'s output for ``x``: every channel's map (h x w) for an image-shaped output,
    else the values; rounded to 4 decimals, as the page shows them."""
    node = node_named(model, layer, where)
    (y,) = outputs(model, x, [node])
    y = np.asarray(y, dtype=np.float64)
    result = {"layer": layer, "min": float(y.min()), "max": float(y.max())}
    if y.ndim == 3:
        result["shape"] = list(y.shape)
        result["maps"] = np.round(y.transpose(2, 0, 1), 4).tolist()  # (C, h, w)
    else:
        result["shape"] = [int(y.size)]
        result["values"] = np.round(y.reshape(-1), 4).tolist()
    return result


def cell(model, x: np.ndarray, layer: str, channel: int, row: int, col: int,
         where: str = "GET /api/cell") -> dict:
    """How ``layer``'s output at (``row``, ``col``) of ``channel`` was computed for ``x``:
    the layer's input is run for ``x``, and the convolution or pooling of ``svertka.serve.
    cells`` is worked out there; ``value`` is the layer's own output at that cell. Other
    image-shaped layers (``cell`` "other": batch norm, Add, ...) give the value and the
    receptive field only."""
    from svertka.viz import receptive_field

    node = node_named(model, layer, where)
    la = node.layer
    if len(node.shape) != 4:
        raise ValueError(f"{where}: argument 'layer' must be a layer whose output is an image "
                         f"(H x W x C), whose cells have a receptive field; received "
                         f"{layer!r} ({type(la).__name__}, output {_shape(node.shape[1:])})")
    kind = cells.kind(la)
    _, oh, ow, oc = node.shape
    size = f" for layer {layer!r} (output {_shape(node.shape[1:])})"
    cells.check_index(where, "channel", channel, oc, size)
    cells.check_index(where, "y", row, oh, size)
    cells.check_index(where, "x", col, ow, size)
    inp, out = outputs(model, x, [node.parents[0], node])
    top, left, bottom, right = receptive_field(model, la, (row, col)).clipped
    result = {"layer": layer, "type": type(la).__name__, "cell": kind, "channel": channel,
              "y": row, "x": col, "value": float(out[row, col, channel]),
              "receptive_field": {"top": top, "left": left, "bottom": bottom, "right": right}}
    if kind == "conv":
        result["conv"] = cells.conv(la, inp, channel, row, col)
    elif kind == "pool":
        result["pool"] = cells.pool(la, inp, channel, row, col)
    return result  # "other" (batch norm, Add, ...): the value and its receptive field


def _shape(shape) -> str:
    return "x".join(str(int(s)) for s in shape)


def filters(model, layer: str, where: str = "GET /api/filters") -> dict:
    """The kernels of convolution ``layer`` as one picture per output channel
    (``svertka.viz.filters``'s arrays): colour for a first layer over RGB, each input
    channel's kernel side by side (red positive, blue negative) when there are few, each
    tap's norm over the input channels (grey) when there are many."""
    from svertka import viz

    node = node_named(model, layer, where)
    try:
        f = viz.filters(model, node.layer)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    kh, kw = f.kernel.shape[:2]
    scale = max(1, FILTER_PIXELS // max(kh, kw))
    if f.mode == "rgb":
        pictures = [np.round(img * 255).astype(np.uint8) for img in f.images]
    elif f.mode == "channels":
        lim = float(np.abs(f.images).max()) or 1.0
        pictures = [_side_by_side([_diverging(k / lim) for k in per_input], scale)
                    for per_input in f.images]
        scale = 1
    else:
        top = float(f.images.max()) or 1.0
        pictures = [np.round(img / top * 255).astype(np.uint8) for img in f.images]
    return {"layer": layer, "shape": list(f.kernel.shape), "mode": f.mode,
            "images": [png_url(p, scale) for p in pictures]}


def _diverging(t: np.ndarray) -> np.ndarray:
    """(h, w) values in [-1, 1] as uint8 RGB: white at 0, red towards 1, blue towards -1."""
    pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
    rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1)
    return np.round(rgb * 255).astype(np.uint8)


def _side_by_side(pictures: list, scale: int, gap: int = 2) -> np.ndarray:
    """RGB pictures, each scaled up ``scale`` times (nearest), in a row with grey gaps."""
    tiles = [p.repeat(scale, axis=0).repeat(scale, axis=1) for p in pictures]
    h = tiles[0].shape[0]
    spacer = np.full((h, gap, 3), 160, np.uint8)
    row = [t for tile in tiles for t in (tile, spacer)][:-1]
    return np.concatenate(row, axis=1)


def heat_colours(heat: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1] as RGB floats on the "jet" scale: blue, cyan, yellow, red."""
    t = np.clip(heat, 0, 1)[..., None] * 4
    return np.clip(1.5 - np.abs(t - np.array([3.0, 2.0, 1.0])), 0, 1)


def attribution(model, x: np.ndarray, method: str, class_index, labels: list, value_range,
                where: str = "GET /api/attribution") -> dict:
    """Grad-CAM or saliency (``svertka.viz``) of class ``class_index`` (None: the predicted
    one) for ``x``: the heat map (H x W, 0..1) and the input with it laid over, at the size
    of the input's picture."""
    from svertka import viz

    methods = {"gradcam": viz.grad_cam, "saliency": viz.saliency}
    if method not in methods:
        raise ValueError(f"{where}: argument 'method' must be one of {sorted(methods)}, "
                         f"received {method!r}")
    if class_index is not None:
        cells.check_index(where, "class", class_index, len(labels))
    try:
        result = methods[method](model, x, class_index=class_index)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    finally:  # the backward pass left gradients on the weights; a training step adds to them
        for w in model.weights:
            w.grad = None
    base = display(x, value_range).astype(np.float64) / 255
    base = np.repeat(base[..., None], 3, axis=-1) if base.ndim == 2 else base
    overlay = 0.5 * base + 0.5 * heat_colours(result.heatmap)
    c = result.class_index
    return {"method": method, "class": c, "label": str(labels[c]),
            "overlay": png_url(np.round(overlay * 255).astype(np.uint8), scale_for(x.shape)),
            "heatmap": np.round(result.heatmap, 3).tolist()}
