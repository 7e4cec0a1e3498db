"""NetVLAD (Arandjelović, Gronat, Torii, Pajdla, Sivic 2016): a CNN that turns an image into
one descriptor for finding other photos of the same place (SPEC §9).

A backbone cut at its last convolution gives a map of local descriptors (one D-vector per
position); the ``NetVLAD`` layer softly assigns each to K learned centroids and sums the
residuals per centroid (``svertka.layers.NetVLAD``), giving a K*D descriptor of unit length;
an optional dense layer then projects it to ``whitening`` dimensions (PCA whitening, fitted by
``pca_whitening``) and normalises it again. Trained with a triplet loss
(``svertka.ops.triplet_margin_loss``): a query must lie closer to an image of its place than
to any other.

>>> model = netvlad(base="vgg16", clusters=64, input_shape=(224, 224, 3))
>>> model.output_shape
(None, 32768)
"""

from __future__ import annotations

import numpy as np

from svertka import ops
from svertka.layers import Dense, Input, Lambda, NetVLAD
from svertka.models import Model


def _backbone(base, inputs):
    """The local descriptors of ``base`` (a name or a headless Model) for ``inputs``."""
    from svertka.zoo import call_on

    if isinstance(base, Model):
        return call_on(base, inputs)
    if base in ("vgg16", "vgg19"):
        from svertka.zoo.vgg import vgg_features

        features = vgg_features(inputs, int(base[3:]))
        return features.parents[0]  # cut at the last convolution (conv5_3, ReLU), before its pool
    if base == "alexnet":
        from svertka.zoo.alexnet import alexnet

        headless = alexnet(inputs.shape[1:], include_top=False)
        conv5 = headless.outputs[0].parents[0]  # before the last pooling
        return _backbone(Model(headless.inputs[0], conv5), inputs)
    raise ValueError(f"netvlad: argument 'base' must be 'vgg16', 'vgg19', 'alexnet' or a "
                     f"headless Model, "
                     f"received {base!r}")


def netvlad(base="vgg16", clusters: int = 64, input_shape=(224, 224, 3),
            whitening: int | None = None, name: str = "netvlad", **kwargs) -> Model:
    """A ``base`` backbone with NetVLAD pooling of ``clusters`` centroids; ``whitening``: the
    size of the optional PCA-whitening projection. ``kwargs`` go to the ``NetVLAD`` layer."""
    inputs = Input(input_shape)
    x = NetVLAD(clusters, name="netvlad", **kwargs)(_backbone(base, inputs))
    if whitening is not None:
        x = Dense(whitening, name="whitening")(x)
        x = Lambda(ops.l2_normalize, name="whitening_l2")(x)
    return Model(inputs, x, name=name)


def pca_whitening(vectors, dim: int, epsilon: float = 1e-9):
    """``(kernel, bias)`` of a dense layer that projects ``vectors`` (M, F) on their first
    ``dim`` principal axes and scales each to unit variance, as the paper's PCA whitening:
    set them with ``model.get_layer("whitening").set_weights([kernel, bias])``."""
    x = np.asarray(vectors, np.float64)
    if x.ndim != 2 or not 1 <= dim <= min(x.shape):
        raise ValueError(f"pca_whitening: argument 'vectors' must be (M, F) with M, F >= dim "
                         f"= {dim}, received shape {x.shape}")
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    scale = s[:dim] / np.sqrt(max(len(x) - 1, 1))
    kernel = vt[:dim].T / (scale + epsilon)
    return kernel.astype(np.float32), (-mean @ kernel).astype(np.float32)
