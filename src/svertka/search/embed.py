"""Image descriptors from any layer of a trained network (SPEC §10: "the outputs of the last
layers are good descriptions of images: search for similar images").

``embed(model, x, layer=-2)`` cuts ``model`` after ``layer`` (an index into ``model.layers``
or a name; -2 is the layer before the classifier: LeNet-5's F6, a ResNet's global pooling),
runs the images through it and returns one L2-normalised float32 row per image, so that a
dot product is a cosine similarity. A 4-D feature map (N, H, W, C) is reduced by ``pool``:
``"avg"`` (the default: global average pooling, a C-long descriptor that does not depend on
where in the image a pattern sits, as the usual retrieval descriptors), ``"max"``, or
``"flatten"`` (H*W*C long, keeps the layout). ``describe`` names the model, layer and weights
that made a set of descriptors, so that an index can refuse queries embedded by another.
"""

from __future__ import annotations

import hashlib

import numpy as np

POOLS = ("avg", "max", "flatten")


def layer_name(model, layer) -> str:
    """The name of ``layer`` (an int index into ``model.layers``, negative from the end, or a
    name) in ``model``."""
    return model.layers[model._layer_index("embed", "layer", layer)].name


def feature_model(model, layer=-2):
    """``model`` cut after ``layer``: a model sharing its layers and weights."""
    from svertka.models import Model

    if len(model.inputs) != 1:
        raise ValueError(f"embed: the model must have one input, received {len(model.inputs)}")
    name = layer_name(model, layer)
    return Model(inputs=model.input, outputs=model.get_layer(name).output,
                 name=f"{model.name}_{name}")


def l2_normalize(v: np.ndarray, where: str = "l2_normalize") -> np.ndarray:
    """Rows of ``v`` (N, D) scaled to unit length, float32; an all-zero row stays zero (its
    cosine with anything is then 0).

    >>> l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    v = np.asarray(v)
    if v.ndim != 2 or not np.issubdtype(v.dtype, np.number) or np.iscomplexobj(v):
        raise ValueError(f"{where}: vectors must be a real 2-D array (N, D), received "
                         f"{v.dtype} of shape {v.shape}")
    v = v.astype(np.float32)
    if not np.isfinite(v).all():
        raise ValueError(f"{where}: vectors must be finite, received NaN or infinity in "
                         f"{int((~np.isfinite(v)).any(axis=1).sum())} rows")
    norm = np.sqrt(np.einsum("nd,nd->n", v.astype(np.float64), v.astype(np.float64)))
    return (v / np.where(norm > 0, norm, 1.0)[:, None].astype(np.float32)).astype(np.float32)


def prepare_images(model, x, where: str = "embed") -> np.ndarray:
    """Images as ``model`` takes them: grey/RGB converted and resized to its input, integer
    pixels scaled to [0, 1] unless the model rescales them itself (a ``Rescaling`` first, as
    the models ``svertka train`` saves); float images are taken as already scaled."""
    from svertka.transfer import adapt_images, takes_raw_pixels

    scale = 1.0 if takes_raw_pixels(model) else 1 / 255
    return adapt_images(x, model.input_shape[1:], where, scale=scale)


def embed(model, x, layer=-2, batch_size: int = 256, pool: str = "avg") -> np.ndarray:
    """L2-normalised float32 descriptors (N, D) of images ``x`` at ``layer`` of ``model``.

    ``x``: (N, H, W) or (N, H, W, C) images, made fit for the model by
    :func:`prepare_images`. ``pool`` reduces a 4-D feature map (see the module's docstring).

    >>> from svertka import zoo
    >>> x = np.random.default_rng(0).integers(0, 256, (3, 28, 28), np.uint8)
    >>> v = embed(zoo.lenet5((28, 28, 1)), x)
    >>> v.shape, v.dtype, bool(np.allclose((v ** 2).sum(1), 1, atol=1e-5))
    ((3, 84), dtype('float32'), True)
    """
    if pool not in POOLS:
        raise ValueError(f"embed: argument 'pool' must be one of {POOLS}, received {pool!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"embed: argument 'batch_size' must be a positive int, received "
                         f"{batch_size!r}")
    cut = feature_model(model, layer)
    images = prepare_images(model, x)
    parts = [_reduce(cut.predict(images[i:i + batch_size], batch_size=batch_size), pool)
             for i in range(0, len(images), batch_size)]
    if not parts:
        return np.zeros((0, _reduce(np.zeros((0, *cut.output_shape[1:])), pool).shape[1]),
                        np.float32)
    return l2_normalize(np.concatenate(parts), "embed")


def _reduce(f: np.ndarray, pool: str) -> np.ndarray:
    """Features (N, ...) as rows (N, D): a 4-D map (N, H, W, C) pooled over H, W."""
    f = np.asarray(f)
    if f.ndim == 4 and pool == "avg":
        return f.mean(axis=(1, 2))
    if f.ndim == 4 and pool == "max":
        return f.max(axis=(1, 2))
    return f.reshape(len(f), -1)  # (N, D), or a map flattened: (N, H*W*C)


def describe(model, layer=-2, pool: str = "avg", source: str | None = None) -> dict:
    """What made a set of descriptors: the model's ``source`` (a file or zoo name, as given),
    its name, input shape, the layer, the pooling, and a SHA-256 of the weights up to that
    layer. Two descriptors are comparable when the fingerprints are equal.

    >>> from svertka import zoo
    >>> a, b = describe(zoo.lenet5((28, 28, 1))), describe(zoo.lenet5((28, 28, 1)))
    >>> a["layer"], a["input_shape"], a["fingerprint"] == b["fingerprint"]
    ('F6', [28, 28, 1], False)
    """
    cut = feature_model(model, layer)
    digest = hashlib.sha256()
    for w in cut.get_weights():
        w = np.ascontiguousarray(w)
        digest.update(f"{w.dtype.str}{w.shape}".encode())
        digest.update(w.tobytes())
    name = layer_name(model, layer)
    digest.update(f"|{name}|{pool}|{tuple(model.input_shape[1:])}".encode())
    return {"source": source, "model": model.name, "layer": name, "pool": pool,
            "input_shape": [int(d) for d in model.input_shape[1:]],
            "fingerprint": digest.hexdigest()}


def precision_at_k(labels_of_neighbours: np.ndarray, query_labels: np.ndarray) -> np.ndarray:
    """Precision@k by label for k = 1..K: the share of each query's first k neighbours with the
    query's label, averaged over queries; ``labels_of_neighbours`` is (Q, K).

    >>> precision_at_k(np.array([[1, 1, 0], [2, 0, 2]]), np.array([1, 2])).tolist()
    [1.0, 0.75, 0.6666666666666666]
    """
    hit = np.asarray(labels_of_neighbours) == np.asarray(query_labels).reshape(-1, 1)
    return (np.cumsum(hit, axis=1) / np.arange(1, hit.shape[1] + 1)).mean(axis=0)
