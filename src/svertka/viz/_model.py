"""What the pictures of svertka.viz need from a model: a layer by name or index, the model cut
at a layer, one image as a batch, the range of pixels it takes, and its class scores."""

from __future__ import annotations

import numpy as np


def layer_of(model, layer, where: str):
    """The layer named ``layer``, or ``model.layers[layer]`` for an int, or ``layer`` itself."""
    layers = model.layers
    if isinstance(layer, str):
        return model.get_layer(layer)
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if not -len(layers) <= layer < len(layers):
            raise ValueError(f"{where}: argument 'layer' must be a layer name or an index in "
                             f"[{-len(layers)}, {len(layers)}), received {layer}")
        return layers[int(layer)]
    if any(layer is la for la in layers):
        return layer
    raise TypeError(f"{where}: argument 'layer' must be a layer name, an index or a layer of "
                    f"the model, received {layer!r}")


def node_of(model, layer):
    """The graph node (SymbolicTensor) that ``layer`` outputs in ``model``."""
    for node in model._nodes:
        if node.layer is layer:
            return node
    raise ValueError(f"{model.name}: layer {layer.name!r} is not in the model's graph")


def cut(model, *layers):
    """A model from ``model``'s input to the outputs of ``layers`` (sharing their weights)."""
    from svertka.models.model import Model

    outputs = [node_of(model, la) for la in layers]
    return Model(inputs=model.input, outputs=outputs if len(outputs) > 1 else outputs[0])


def run(model, x) -> list[np.ndarray]:
    """Every output of ``model`` for the batch ``x``, as NumPy arrays, without gradients."""
    from svertka.autograd import no_grad

    with no_grad():
        outs = model(x, training=False)
    return [np.asarray(t.numpy()) for t in (outs if isinstance(outs, list) else [outs])]


def conv_layers(model) -> list:
    """Layers with a 4-D kernel (convolutions), in graph order."""
    return [la for la in model.layers if getattr(getattr(la, "kernel", None), "ndim", 0) == 4]


def spatial_layers(model) -> list:
    """Layers whose output is an image (N, H, W, C), in graph order."""
    return [n.layer for n in model._nodes if len(n.shape) == 4]


def one_image(model, image, where: str) -> np.ndarray:
    """``image`` as a float32 batch of one, (1, H, W, C), checked against the model's input."""
    x = np.asarray(image, dtype=np.float32)
    shape = tuple(model.input_shape[1:])
    if x.ndim == len(shape) - 1 and shape[-1] == 1:
        x = x[..., None]
    if x.ndim == len(shape):
        x = x[None]
    if x.shape[1:] != shape or len(x) != 1:
        raise ValueError(f"{where}: argument 'image' must be one image of shape {shape} (or a "
                         f"batch of one), received shape {np.shape(image)}")
    return x


def first_rescaling(model):
    """The ``Rescaling`` layer reading the model's input directly, or None."""
    from svertka.layers import Rescaling

    first = [n for n in model._nodes if n.parents and n.parents[0] is model.inputs[0]]
    if len(first) == 1 and isinstance(first[0].layer, Rescaling):
        return first[0].layer
    return None


def pixel_range(model) -> tuple[float, float]:
    """The input values that mean black and white: 0-255 when the model rescales its input
    itself (a ``Rescaling`` first, as ``svertka train`` saves), else 0-1."""
    rescale = first_rescaling(model)
    if rescale is None or rescale.scale == 0:
        return 0.0, 1.0
    low, high = -rescale.offset / rescale.scale, (1 - rescale.offset) / rescale.scale
    return (min(low, high), max(low, high))


def to_display(image: np.ndarray, value_range=None) -> np.ndarray:
    """An image scaled to [0, 1] for imshow: by ``value_range`` or its own min and max;
    one channel as (H, W)."""
    x = np.asarray(image, dtype=np.float64)
    low, high = value_range if value_range is not None else (x.min(), x.max())
    x = np.clip((x - low) / (high - low), 0, 1) if high > low else np.zeros_like(x)
    return x[..., 0] if x.ndim == 3 and x.shape[-1] == 1 else x


def score_model(model):
    """``(features, head)``: the class scores are ``head(features(x))``, the logits where the
    model ends in a softmax Dense (Grad-CAM and saliency differentiate the score before the
    softmax, as Selvaraju et al. and Simonyan et al. do), else the model's output."""
    from svertka.layers import Dense

    node = model.outputs[0]
    layer = node.layer
    if isinstance(layer, Dense) and layer.activation == "softmax" and node.parents:
        def head(t):
            return t @ layer.kernel + layer.bias if layer.use_bias else t @ layer.kernel
        return node.parents[0], head
    return node, lambda t: t
