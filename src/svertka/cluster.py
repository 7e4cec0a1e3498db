"""k-means in plain NumPy: k-means++ seeding (Arthur and Vassilvitskii, 2007), then Lloyd's
iterations. Small and exact rather than fast: it initialises NetVLAD's centroids from a
sample of local descriptors (tens of thousands of points, tens of clusters), which is what
the paper's code does with its own k-means.

Shapes: x (M, D) points, c (K, D) centroids, labels (M,) the index of each point's nearest
centroid.

>>> import numpy as np
>>> x = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 10.0], [10.0, 11.0]])
>>> c, labels = kmeans(x, 2, seed=0)
>>> sorted(c.round(2).tolist())
[[0.0, 0.5], [10.0, 10.5]]
>>> bool(labels[0] == labels[1] != labels[2] == labels[3])
True
"""

from __future__ import annotations

import numpy as np

from svertka import checks


def squared_distances(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(M, K) squared Euclidean distances, as ``|x|^2 - 2 x.c + |c|^2`` (one GEMM), clipped
    at 0 where rounding makes them slightly negative."""
    d = (x * x).sum(axis=1)[:, None] - 2 * x @ c.T + (c * c).sum(axis=1)[None, :]
    return np.maximum(d, 0, out=d)


def kmeans_plusplus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k seeds: the first uniformly, each next one with probability proportional to its
    squared distance to the nearest seed so far. Far-apart clusters each get a seed."""
    c = np.empty((k, x.shape[1]), x.dtype)
    c[0] = x[rng.integers(len(x))]
    nearest = squared_distances(x, c[:1])[:, 0]
    for j in range(1, k):
        total = nearest.sum()
        i = rng.choice(len(x), p=nearest / total) if total > 0 else rng.integers(len(x))
        c[j] = x[i]
        nearest = np.minimum(nearest, squared_distances(x, c[j:j + 1])[:, 0])
    return c


def kmeans(x, k: int, iterations: int = 100, seed: int = 0,
           tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the rows of ``x`` (M, D) into ``k`` groups; returns (centroids (K, D), labels).

    k-means++ seeds, then Lloyd's iterations (assign each point to its nearest centroid,
    move each centroid to the mean of its points) until no centroid moves by more than
    ``tol`` (relative to the data's spread) or ``iterations`` is reached. A cluster left
    empty is given the point farthest from its centroid, so exactly ``k`` clusters come back.
    Computes in float64; the same ``seed`` gives the same result.
    """
    op = "kmeans"
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or not np.isfinite(x).all():
        raise ValueError(f"{op}: argument 'x' must be a non-empty finite array of points "
                         f"(M, D), received shape {x.shape}")
    k = checks.positive_int(op, "k", k)
    if k > len(x):
        raise ValueError(f"{op}: argument 'k' must be at most the number of points "
                         f"({len(x)}), received {k}")
    iterations = checks.positive_int(op, "iterations", iterations)
    seed = checks.non_negative_int(op, "seed", seed)
    tol = checks.finite_float(op, "tol", tol, 0.0)
    rng = np.random.default_rng(seed)
    c = kmeans_plusplus(x, k, rng)
    scale = max(float(x.var(axis=0).sum()), np.finfo(np.float64).tiny)
    for _ in range(iterations):
        d = squared_distances(x, c)
        labels = d.argmin(axis=1)
        members = np.zeros((k, len(x)))
        members[labels, np.arange(len(x))] = 1.0  # (K, M) one-hot: the sums are one GEMM
        counts = members.sum(axis=1)
        new = members @ x / np.maximum(counts, 1)[:, None]
        far = np.argsort(d[np.arange(len(x)), labels])[::-1]  # farthest points first
        for j, i in zip(np.flatnonzero(counts == 0), far):
            new[j] = x[i]
        shift = float(((new - c) ** 2).sum(axis=1).max())
        c = new
        if shift <= tol * scale:
            break
    return c, squared_distances(x, c).argmin(axis=1)


__all__ = ["kmeans", "kmeans_plusplus", "squared_distances"]
