"""``NetVLAD``: the trainable VLAD pooling of Arandjelović et al., "NetVLAD: CNN architecture
for weakly supervised place recognition" (CVPR 2016).

It turns a map of local descriptors (N, H, W, D), the last convolutional features of a CNN,
into one L2-normalised image descriptor (N, K*D) for retrieval by nearest neighbour
(``svertka.ops.netvlad`` has the maths). Weights: ``kernel`` (D, K) and ``bias`` (K,), the
1x1 convolution of the soft assignment, and ``centroids`` (K, D).

Initialisation as the paper's code (relja/netvlad, ``addLayers.m``, its ``vladv2``): k-means
on a sample of descriptors gives the centroids c_k, and ``kernel[:, k] = 2 alpha c_k``,
``bias[k] = -alpha |c_k|^2``, so that the scores equal ``-alpha |x - c_k|^2`` up to a term
the softmax ignores. alpha is ``-log(0.01) / mean(d2 - d1)`` over the sample, d1 and d2 the
squared distances of a descriptor to its nearest and second-nearest centroid: on average the
second-nearest centroid then gets 1/100 of the nearest one's weight, a sharp assignment that
still passes gradients to the neighbours (``init_from_descriptors``).

>>> import numpy as np
>>> layer = NetVLAD(clusters=4)
>>> y = layer(np.random.default_rng(0).standard_normal((2, 5, 5, 8)).astype(np.float32))
>>> y.shape, layer.count_params()
((2, 32), 68)
"""

from __future__ import annotations

import math

import numpy as np

from svertka import checks, ops
from svertka.cluster import kmeans, squared_distances
from svertka.layers import _args
from svertka.layers.base import Layer


class NetVLAD(Layer):
    """VLAD pooling of local descriptors (N, H, W, D) or (N, L, D) into (N, clusters * D).

    ``clusters`` is K, the number of visual words (the paper uses 64). With
    ``normalize_input`` (the default, as the paper's implementation) each descriptor is
    L2-normalised before the assignment. Parameters: ``2 K D + K``. Call
    ``init_from_descriptors`` with a sample of descriptors to start from k-means, as the
    paper does; the initialisers are used otherwise.

    >>> import numpy as np
    >>> layer = NetVLAD(clusters=2)
    >>> alpha = layer.init_from_descriptors(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0],
    ...                                               [0.1, 0.9]]))
    >>> y = layer(np.array([[[[1.0, 0.0]]]], np.float32))
    >>> y.shape, round(float((y.numpy() ** 2).sum()), 5)
    ((1, 4), 1.0)
    """

    def __init__(self, clusters: int = 64, normalize_input: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 centroids_initializer="glorot_uniform", **kwargs):
        op = type(self).__name__
        self.clusters = checks.positive_int(op, "clusters", clusters)
        self.normalize_input = checks.flag(op, "normalize_input", normalize_input)
        self.kernel_initializer = _args.initializer(op, "kernel_initializer", kernel_initializer)
        self.bias_initializer = _args.initializer(op, "bias_initializer", bias_initializer)
        self.centroids_initializer = _args.initializer(op, "centroids_initializer",
                                                       centroids_initializer)
        super().__init__(**kwargs)

    def _descriptor_size(self, input_shape) -> int:
        shape = _args.single_shape(type(self).__name__, input_shape)
        if len(shape) not in (3, 4) or shape[-1] is None:
            raise ValueError(f"{type(self).__name__}: expected local descriptors (N, H, W, D) "
                             f"or (N, L, D) with a known D, received input shape {shape}")
        return shape[-1]

    def build(self, input_shape) -> None:
        d, k = self._descriptor_size(input_shape), self.clusters
        self.kernel = self.add_weight("kernel", (d, k), self.kernel_initializer)
        self.bias = self.add_weight("bias", (k,), self.bias_initializer)
        self.centroids = self.add_weight("centroids", (k, d), self.centroids_initializer)

    def check_input_shape(self, input_shape) -> None:
        d = self._descriptor_size(input_shape)
        if d != self.kernel.shape[0]:
            raise ValueError(f"{type(self).__name__}: the layer was built for descriptors of "
                             f"size {self.kernel.shape[0]}, received input shape {input_shape}")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.clusters * self._descriptor_size(input_shape))

    def macs(self, input_shape, output_shape) -> int:
        """Multiply-accumulates per image: every descriptor is scored against the K
        centroids (D*K) and added, weighted, into the K residual sums (K*D)."""
        positions = math.prod(d or 1 for d in input_shape[1:-1])
        return positions * 2 * int(self.kernel.size)

    def call(self, inputs, training: bool = False):
        x = ops.l2_normalize(inputs, axis=-1) if self.normalize_input else inputs
        return ops.netvlad(x, self.kernel, self.bias, self.centroids)

    def init_from_descriptors(self, descriptors, alpha: float | None = None, seed: int = 0,
                              iterations: int = 100) -> float:
        """Set the weights from k-means on ``descriptors`` (M, D) (or feature maps (..., D));
        returns the alpha used.

        The descriptors are L2-normalised first when ``normalize_input`` is set (they are
        then what the layer assigns). ``svertka.cluster.kmeans`` (k-means++, Lloyd) gives the
        centroids; ``kernel = 2 alpha c^T``, ``bias = -alpha |c|^2``. Without ``alpha``, it is
        the paper's ``-log(0.01) / mean(d2 - d1)`` (see the module's notes). An unbuilt
        layer is built for inputs (None, None, None, D).
        """
        op = f"{self.name}.init_from_descriptors"
        x = np.asarray(descriptors, dtype=np.float64)
        if x.ndim < 2 or x.shape[-1] == 0:
            raise ValueError(f"{op}: argument 'descriptors' must be an array (M, D), received "
                             f"shape {x.shape}")
        x = x.reshape(-1, x.shape[-1])  # (..., D) -> (M, D)
        if self.built:
            self.check_input_shape((None, None, x.shape[1]))
        else:
            self._ensure_built((None, None, None, x.shape[1]))
        if len(x) < self.clusters:
            raise ValueError(f"{op}: k-means into {self.clusters} clusters needs at least as "
                             f"many descriptors, received {len(x)}")
        if self.normalize_input:
            x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        c, _ = kmeans(x, self.clusters, iterations=iterations, seed=seed)
        if alpha is None:
            alpha = self._sharp_alpha(op, x, c)
        alpha = checks.finite_float(op, "alpha", alpha, 0.0, low_open=True)
        self.set_weights([(2.0 * alpha * c).T, -alpha * (c * c).sum(axis=1), c])
        return alpha

    def _sharp_alpha(self, op: str, x, c) -> float:
        """``-log(0.01) / mean(d2 - d1)``: the second-nearest centroid weighs 1/100 of the
        nearest on average (relja/netvlad's choice)."""
        if self.clusters == 1:
            return 1.0  # one cluster takes every descriptor whatever alpha is
        d = np.sort(squared_distances(x, c), axis=1)  # (M, K), nearest first
        gap = float((d[:, 1] - d[:, 0]).mean())
        if not gap > 0:
            raise ValueError(f"{op}: the descriptors are all equidistant from their two "
                             f"nearest centroids, so no alpha sharpens the assignment; pass "
                             f"alpha")
        return -math.log(0.01) / gap

    def get_config(self) -> dict:
        op = type(self).__name__
        return {
            **super().get_config(),
            "clusters": self.clusters,
            "normalize_input": self.normalize_input,
            "kernel_initializer": _args.initializer_config(op, "kernel_initializer",
                                                           self.kernel_initializer),
            "bias_initializer": _args.initializer_config(op, "bias_initializer",
                                                         self.bias_initializer),
            "centroids_initializer": _args.initializer_config(op, "centroids_initializer",
                                                              self.centroids_initializer),
        }
